"""API of ID documents picked up from a locker terminal (under /api/v1/)."""

from django.urls import URLPattern

api_urlpatterns: list[URLPattern] = []
