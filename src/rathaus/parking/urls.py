"""Pages of parking management, guidance and open parking data."""

from django.urls import URLPattern

app_name = "parking"

urlpatterns: list[URLPattern] = []
