from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from rathaus.accounts.decorators import staff_required


@staff_required()
@require_http_methods(["GET", "HEAD"])
def dashboard(request: HttpRequest) -> HttpResponse:
    """The staff start page ("Verwaltung")."""
    return render(request, "backoffice/dashboard.html")
