"""Public pages of the service catalogue (portal): browse, search, service, office."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods

from rathaus.catalog import access, selectors
from rathaus.catalog.forms import SearchForm
from rathaus.catalog.models import Taxonomy
from rathaus.core.tenancy import request_municipality

SEARCH_RESULTS = 30


@require_http_methods(["GET", "HEAD"])
def index(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    return render(
        request,
        "catalog/index.html",
        {
            "form": SearchForm(),
            "life_situations": selectors.life_situation_list(municipality=municipality),
            "categories": selectors.category_list(municipality=municipality),
        },
    )


@require_http_methods(["GET", "HEAD"])
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    hits = []
    query = ""
    status = 200
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        if query:
            hits = selectors.service_search(
                municipality=request_municipality(request),
                query=query,
                language=get_language() or "de",
                limit=SEARCH_RESULTS,
            )
    else:
        status = 400
    return render(
        request,
        "catalog/search.html",
        {"form": form, "hits": hits, "query": query},
        status=status,
    )


@require_http_methods(["GET", "HEAD"])
def service(request: HttpRequest, slug: str) -> HttpResponse:
    found = access.service_for_public(municipality=request_municipality(request), slug=slug)
    return render(
        request,
        "catalog/service.html",
        {
            "service": found,
            "leika_keys": list(found.leika_keys.all()),
            "categories": list(found.categories.all()),
            "life_situations": list(found.life_situations.all()),
            "offers": selectors.offers_of(service=found),
        },
    )


def _group_page(request: HttpRequest, group: Taxonomy, kind: str) -> HttpResponse:
    return render(
        request,
        "catalog/group.html",
        {"group": group, "kind": kind, "services": selectors.services_of(group=group)},
    )


@require_http_methods(["GET", "HEAD"])
def life_situation(request: HttpRequest, slug: str) -> HttpResponse:
    group = access.life_situation_for_public(municipality=request_municipality(request), slug=slug)
    return _group_page(request, group, "life_situation")


@require_http_methods(["GET", "HEAD"])
def category(request: HttpRequest, slug: str) -> HttpResponse:
    group = access.category_for_public(municipality=request_municipality(request), slug=slug)
    return _group_page(request, group, "category")


@require_http_methods(["GET", "HEAD"])
def location(request: HttpRequest, location_id: int) -> HttpResponse:
    office = access.location_for_public(
        municipality=request_municipality(request), location_id=location_id
    )
    return render(
        request,
        "catalog/location.html",
        {"location": office, "services": selectors.services_at(location=office)},
    )
