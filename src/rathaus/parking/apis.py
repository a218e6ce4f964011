"""API of parking management, guidance and open parking data (under /api/v1/)."""

from django.urls import URLPattern

api_urlpatterns: list[URLPattern] = []
