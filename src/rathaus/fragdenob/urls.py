"""Pages of the moderated public dialogue between citizens and the mayor."""

from django.urls import URLPattern

app_name = "fragdenob"

urlpatterns: list[URLPattern] = []
