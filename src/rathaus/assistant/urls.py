"""Pages of the service assistant and wayfinding for kiosk, robot, web and phone."""

from django.urls import URLPattern

app_name = "assistant"

urlpatterns: list[URLPattern] = []
