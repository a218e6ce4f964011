from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods


@require_http_methods(["GET", "HEAD"])
def start(request: HttpRequest) -> HttpResponse:
    """Full-screen start page of a touch kiosk in the town hall."""
    return render(request, "kiosk/start.html")
