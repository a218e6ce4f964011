"""API of the OCPP central system for municipal charging stations (under /api/v1/)."""

from django.urls import URLPattern

api_urlpatterns: list[URLPattern] = []
