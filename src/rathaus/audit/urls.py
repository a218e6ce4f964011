from django.urls import path

from rathaus.audit import views

app_name = "audit"

# Read-only by design: there is no URL to add, change or delete an entry.
urlpatterns = [
    path("verwaltung/protokoll/", views.event_list, name="event_list"),
    path("verwaltung/protokoll/export.csv", views.export_csv, name="export_csv"),
    path("verwaltung/protokoll/export.json", views.export_json, name="export_json"),
    path("verwaltung/protokoll/<int:event_id>/", views.event_detail, name="event_detail"),
]
