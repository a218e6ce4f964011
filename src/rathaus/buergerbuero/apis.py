"""API of appointments, walk-in tickets, counters, call display, waiting times (under /api/v1/)."""

from django.urls import URLPattern

api_urlpatterns: list[URLPattern] = []
