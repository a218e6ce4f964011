"""Pages of the workflow engine: the task inbox, process models, monitoring (ADR 0014)."""

from django.urls import path

from rathaus.workflow import views

app_name = "workflow"

urlpatterns = [
    path("verwaltung/aufgaben/", views.inbox, name="inbox"),
    path("verwaltung/aufgaben/<int:task_id>/", views.task_detail, name="task_detail"),
    path("verwaltung/aufgaben/<int:task_id>/uebernehmen/", views.task_claim, name="task_claim"),
    path(
        "verwaltung/aufgaben/<int:task_id>/zuruecklegen/",
        views.task_unclaim,
        name="task_unclaim",
    ),
    path("verwaltung/aufgaben/<int:task_id>/erledigen/", views.task_complete, name="task_complete"),
    path(
        "verwaltung/aufgaben/<int:task_id>/weitergeben/",
        views.task_delegate,
        name="task_delegate",
    ),
    path("verwaltung/aufgaben/<int:task_id>/kommentare/", views.task_comment, name="task_comment"),
    path("verwaltung/prozesse/", views.process_list, name="process_list"),
    path("verwaltung/prozesse/hochladen/", views.process_upload, name="process_upload"),
    path(
        "verwaltung/prozesse/versionen/<int:version_id>/",
        views.version_detail,
        name="version_detail",
    ),
    path(
        "verwaltung/prozesse/versionen/<int:version_id>/standard/",
        views.version_make_default,
        name="version_make_default",
    ),
    path(
        "verwaltung/prozesse/versionen/<int:version_id>/bearbeiten/<str:file_name>",
        views.version_edit,
        name="version_edit",
    ),
    path("verwaltung/prozesse/ueberwachung/", views.monitoring, name="monitoring"),
    path(
        "verwaltung/prozesse/ueberwachung/kennzahlen.csv",
        views.monitoring_csv,
        name="monitoring_csv",
    ),
    path("verwaltung/prozesse/vorgaenge/", views.instance_list, name="instance_list"),
    path(
        "verwaltung/prozesse/vorgaenge/<int:instance_id>/",
        views.instance_detail,
        name="instance_detail",
    ),
    path(
        "verwaltung/prozesse/vorgaenge/<int:instance_id>/abbrechen/",
        views.instance_cancel,
        name="instance_cancel",
    ),
    path(
        "verwaltung/prozesse/stoerungen/<int:incident_id>/wiederholen/",
        views.incident_retry,
        name="incident_retry",
    ),
]
