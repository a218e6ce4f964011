from django.urls import URLPattern

app_name = "oidc"

urlpatterns: list[URLPattern] = []
