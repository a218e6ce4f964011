"""Pages of the OCPP central system for municipal charging stations."""

from django.urls import path

from rathaus.charging import views

app_name = "charging"

urlpatterns = [
    path("laden/", views.public_list, name="public_list"),
    path("laden/verfuegbarkeit/", views.public_fragment, name="public_fragment"),
    path("verwaltung/laden/", views.dashboard, name="dashboard"),
    path("verwaltung/laden/stationen/neu/", views.station_register, name="station_register"),
    path(
        "verwaltung/laden/stationen/<int:station_id>/", views.station_detail, name="station_detail"
    ),
    path("verwaltung/laden/standorte/<int:site_id>/", views.site_detail, name="site_detail"),
    path("verwaltung/laden/ladevorgaenge/", views.export, name="export"),
]
