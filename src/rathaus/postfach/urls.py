from django.urls import URLPattern

app_name = "postfach"

urlpatterns: list[URLPattern] = []
