"""Pages of the inbox for incoming XRechnung e-invoices."""

from django.urls import URLPattern

app_name = "einvoice"

urlpatterns: list[URLPattern] = []
