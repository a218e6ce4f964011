"""Pages of the service assistant and wayfinding for kiosk, robot, web and phone."""

from django.urls import path

from rathaus.assistant import views

app_name = "assistant"

urlpatterns = [
    path("kiosk/assistent/", views.kiosk, name="kiosk"),
    path("kiosk/assistent/weg/", views.kiosk_route, name="kiosk_route"),
    path("kiosk/assistent/nummer/", views.kiosk_ticket, name="kiosk_ticket"),
    path("assistent/", views.ask, name="ask"),
    path("assistent/weg/", views.route, name="route"),
    path("assistent/rueckmeldung/", views.feedback, name="feedback"),
    path("verwaltung/assistent/", views.staff_statistics, name="staff_statistics"),
    path("verwaltung/assistent/lexikon/", views.staff_lexicon, name="staff_lexicon"),
    path(
        "verwaltung/assistent/lexikon/<int:entry_id>/",
        views.staff_lexicon_edit,
        name="staff_lexicon_edit",
    ),
    path("verwaltung/assistent/gebaeude/", views.staff_buildings, name="staff_buildings"),
    path(
        "verwaltung/assistent/gebaeude/<int:building_id>/",
        views.staff_building,
        name="staff_building",
    ),
    path(
        "verwaltung/assistent/gebaeude/<int:building_id>/orte/<int:node_id>/",
        views.staff_node,
        name="staff_node",
    ),
    path(
        "verwaltung/assistent/gebaeude/<int:building_id>/verbindungen/<int:edge_id>/loeschen/",
        views.staff_edge_delete,
        name="staff_edge_delete",
    ),
    path("verwaltung/assistent/geraete/", views.staff_devices, name="staff_devices"),
    path(
        "verwaltung/assistent/geraete/<int:device_id>/sperren/",
        views.staff_device_deactivate,
        name="staff_device_deactivate",
    ),
]
