"""API of the moderated public dialogue between citizens and the mayor (under /api/v1/)."""

from django.urls import URLPattern

api_urlpatterns: list[URLPattern] = []
