"""Pages of appointments, walk-in tickets, counters, call display, waiting times."""

from django.urls import URLPattern

app_name = "buergerbuero"

urlpatterns: list[URLPattern] = []
