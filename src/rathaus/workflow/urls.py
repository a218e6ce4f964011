"""Pages of the workflow engine (the inbox, modeller and monitoring UI come later)."""

from django.urls import URLPattern

app_name = "workflow"

urlpatterns: list[URLPattern] = []
