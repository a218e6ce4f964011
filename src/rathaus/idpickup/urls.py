"""Pages of ID documents picked up from a locker terminal."""

from django.urls import URLPattern

app_name = "idpickup"

urlpatterns: list[URLPattern] = []
