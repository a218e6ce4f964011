"""API of the inbox for incoming XRechnung e-invoices (under /api/v1/)."""

from django.urls import URLPattern

api_urlpatterns: list[URLPattern] = []
