"""Pages of the OCPP central system for municipal charging stations."""

from django.urls import URLPattern

app_name = "charging"

urlpatterns: list[URLPattern] = []
