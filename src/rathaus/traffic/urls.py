"""Pages of adaptive traffic signal control and its SUMO evaluation."""

from django.urls import URLPattern, path

from rathaus.traffic import views

app_name = "traffic"

urlpatterns: list[URLPattern] = [
    path("verwaltung/verkehr/", views.index, name="index"),
    path("verwaltung/verkehr/import/", views.network_import, name="import"),
    path("verwaltung/verkehr/live/<str:part>/", views.live, name="live"),
    path(
        "verwaltung/verkehr/knoten/<int:intersection_id>/",
        views.intersection_detail,
        name="intersection",
    ),
    path(
        "verwaltung/verkehr/knoten/<int:intersection_id>/plaene/",
        views.plan_compute,
        name="plan_compute",
    ),
    path(
        "verwaltung/verkehr/plaene/<int:plan_id>/freigabe/", views.plan_approve, name="plan_approve"
    ),
    path(
        "verwaltung/verkehr/plaene/<int:plan_id>/ausserkraft/",
        views.plan_retire,
        name="plan_retire",
    ),
    path(
        "verwaltung/verkehr/knoten/<int:intersection_id>/phasen/",
        views.phase_update,
        name="phase_update",
    ),
    path(
        "verwaltung/verkehr/knoten/<int:intersection_id>/zwischenzeiten/",
        views.intergreen_update,
        name="intergreen_update",
    ),
    path(
        "verwaltung/verkehr/knoten/<int:intersection_id>/stammdaten/",
        views.intersection_update,
        name="intersection_update",
    ),
    path(
        "verwaltung/verkehr/knoten/<int:intersection_id>/signalgruppen/",
        views.group_update,
        name="group_update",
    ),
    path(
        "verwaltung/verkehr/knoten/<int:intersection_id>/detektoren/",
        views.detector_save,
        name="detector_save",
    ),
    path(
        "verwaltung/verkehr/detektoren/<int:detector_id>/entfernen/",
        views.detector_delete,
        name="detector_delete",
    ),
    path("verwaltung/verkehr/simulationen/", views.run_start, name="run_start"),
    path("verwaltung/verkehr/simulationen/<int:run_id>/", views.run_detail, name="run"),
    path("verwaltung/verkehr/vergleich/", views.run_compare, name="compare"),
]
