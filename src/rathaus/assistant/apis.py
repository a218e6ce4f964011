"""API of the service assistant and wayfinding for kiosk, robot, web and phone (under /api/v1/)."""

from django.urls import URLPattern

api_urlpatterns: list[URLPattern] = []
