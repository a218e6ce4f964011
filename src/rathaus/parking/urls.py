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
]
