from django.urls import path

from rathaus.catalog import views

app_name = "catalog"

# The fixed paths come first: a service slug never takes "suche", "lebenslagen" or
# "kategorien" (models.RESERVED_SLUGS).
urlpatterns = [
    path("leistungen/", views.index, name="index"),
    path("leistungen/suche/", views.search, name="search"),
    path("leistungen/lebenslagen/<slug:slug>/", views.life_situation, name="life_situation"),
    path("leistungen/kategorien/<slug:slug>/", views.category, name="category"),
    path("leistungen/<slug:slug>/", views.service, name="service"),
    path("standorte/<int:location_id>/", views.location, name="location"),
]
