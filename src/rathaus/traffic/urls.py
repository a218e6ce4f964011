"""Pages of adaptive traffic signal control and its SUMO evaluation."""

from django.urls import URLPattern

app_name = "traffic"

urlpatterns: list[URLPattern] = []
