"""Pages of parking management, guidance and open parking data."""

from django.urls import path

from rathaus.parking import views

app_name = "parking"

urlpatterns = [
    path("parken/", views.map_page, name="map"),
    path("parken/liste/", views.list_fragment, name="list"),
    path("parken/reservierungen/", views.reservations, name="reservations"),
    path(
        "parken/reservierungen/<int:reservation_id>/stornieren/",
        views.reservation_cancel,
        name="reservation_cancel",
    ),
    path("parken/<int:site_id>/", views.site_page, name="site"),
    path("parken/<int:site_id>/reservieren/", views.reserve, name="reserve"),
    path("verwaltung/parken/", views.staff_overview, name="staff"),
    path("verwaltung/parken/anzeigen/", views.guidance, name="guidance"),
    path("verwaltung/parken/anzeigen/neu/", views.sign_edit, name="sign_new"),
    path("verwaltung/parken/anzeigen/<int:sign_id>/", views.sign_edit, name="sign"),
    path(
        "verwaltung/parken/anzeigen/<int:sign_id>/loeschen/",
        views.sign_delete,
        name="sign_delete",
    ),
    path("verwaltung/parken/veranstaltungen/neu/", views.event_mode_edit, name="event_mode_new"),
    path(
        "verwaltung/parken/veranstaltungen/<int:mode_id>/",
        views.event_mode_edit,
        name="event_mode",
    ),
    path(
        "verwaltung/parken/veranstaltungen/<int:mode_id>/loeschen/",
        views.event_mode_delete,
        name="event_mode_delete",
    ),
    path("verwaltung/parken/datex/neu/", views.datex_source_edit, name="datex_source_new"),
    path(
        "verwaltung/parken/datex/<int:source_id>/",
        views.datex_source_edit,
        name="datex_source",
    ),
    path(
        "verwaltung/parken/datex/<int:source_id>/loeschen/",
        views.datex_source_delete,
        name="datex_source_delete",
    ),
]
