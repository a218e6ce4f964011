from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from rathaus.buergerbuero.selectors import offices_active
from rathaus.core.tenancy import request_municipality


@require_http_methods(["GET", "HEAD"])
def start(request: HttpRequest) -> HttpResponse:
    """Full-screen start page of a touch kiosk in the town hall: a waiting ticket or the
    check-in of an appointment at each citizen office, and the service assistant."""
    offices = list(offices_active(municipality=request_municipality(request)))
    return render(request, "kiosk/start.html", {"offices": offices})
