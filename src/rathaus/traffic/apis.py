"""API of adaptive traffic signal control and its SUMO evaluation (under /api/v1/)."""

from django.urls import URLPattern

api_urlpatterns: list[URLPattern] = []
