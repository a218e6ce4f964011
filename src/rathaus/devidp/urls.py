from django.urls import URLPattern

app_name = "devidp"

urlpatterns: list[URLPattern] = []
