from django.urls import path

from rathaus.backoffice import views

app_name = "backoffice"

urlpatterns = [
    path("verwaltung/", views.dashboard, name="dashboard"),
    path("verwaltung/gemeinde/", views.municipality_edit, name="municipality"),
]
