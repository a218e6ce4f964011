"""Pages of the service assistant: kiosk, portal, and the back office."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rathaus.accounts.decorators import staff_required
from rathaus.assistant import access, selectors, services
from rathaus.assistant.forms import (
    AskForm,
    BuildingImportForm,
    DeviceForm,
    EdgeForm,
    LexiconEntryForm,
    NodeForm,
)
from rathaus.assistant.models import MANAGE_ASSISTANT, VIEW_STATISTICS, Edge, Node, QuestionStat
from rathaus.assistant.wayfinding import NoRoute, route_svg
from rathaus.catalog.models import Location
from rathaus.core.errors import ApplicationError
from rathaus.core.forms import form_show_error
from rathaus.core.tenancy import request_municipality

# The big buttons of the kiosk: the concerns most visitors of a Bürgerbüro come with.
COMMON_CONCERNS = [
    ("Personalausweis", "ID card"),
    ("Reisepass", "Passport"),
    ("Wohnsitz anmelden", "Register your address"),
    ("Führungszeugnis", "Certificate of good conduct"),
    ("Meldebescheinigung", "Certificate of registration"),
    ("Ausweis verloren", "Lost ID card"),
]


def _language() -> str:
    return "en" if (get_language() or "de").startswith("en") else "de"


def _location(request: HttpRequest) -> Location | None:
    municipality = request_municipality(request)
    if request.GET.get("ort") or request.POST.get("ort"):
        return access.location_public(
            municipality=municipality, location_id=request.GET.get("ort") or request.POST.get("ort")
        )
    building = selectors.default_building(municipality=municipality)
    return building.location if building else None


def _ask(request: HttpRequest, *, channel: str, template: str) -> HttpResponse:
    municipality = request_municipality(request)
    location = _location(request)
    language = _language()
    form = AskForm(request.GET or None)
    context: dict[str, Any] = {
        "form": form,
        "location": location,
        "concerns": [en if language == "en" else de for de, en in COMMON_CONCERNS],
        "channel": channel,
    }
    status = 200
    if request.GET.get("q") is not None:
        if form.is_valid():
            try:
                answer = selectors.assistant_answer(
                    municipality=municipality,
                    question=form.cleaned_data["q"],
                    language=language,
                    location=location,
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                chosen = request.GET.get("wahl", "")
                if chosen:
                    picked = [r for r in answer.results if str(r.service.pk) == chosen]
                    if picked:
                        answer.results = picked + [r for r in answer.results if r not in picked]
                        answer.clarify = []
                else:
                    services.question_record(
                        municipality=municipality, answer=answer, channel=channel
                    )
                context["answer"] = answer
                context["step_free"] = selectors.needs_step_free(answer.question)
        else:
            status = 400
    return render(request, template, context, status=status)


@require_http_methods(["GET", "HEAD"])
def kiosk(request: HttpRequest) -> HttpResponse:
    """The touch kiosk: big buttons, free text, answers with route and ticket."""
    return _ask(request, channel=QuestionStat.Channel.KIOSK, template="assistant/kiosk.html")


@require_http_methods(["GET", "HEAD"])
def ask(request: HttpRequest) -> HttpResponse:
    """The assistant on the portal."""
    return _ask(request, channel=QuestionStat.Channel.WEB, template="assistant/ask.html")


def _route(request: HttpRequest, template: str) -> HttpResponse:
    location = _location(request)
    if location is None:
        raise Http404
    language = _language()
    barrier_free = request.GET.get("barrierefrei") == "1"
    context: dict[str, Any] = {"location": location, "barrier_free": barrier_free}
    status = 200
    try:
        graph, route = selectors.route_for(
            location=location,
            target=str(request.GET.get("ziel", ""))[:80],
            start=str(request.GET.get("von", ""))[:80],
            barrier_free=barrier_free,
            language=language,
        )
    except NoRoute as error:
        context["problem"] = error.message
        status = 200
    except ApplicationError as error:
        context["problem"] = error.message
        status = error.status
    else:
        context["route"] = route
        context["plans"] = [
            {
                "level": level,
                "name": _floor_name(graph, level, language),
                "svg": route_svg(graph, route, level=level, title_id=f"plan-{index}"),
                "steps": [s for s in route.steps if s.level == level],
            }
            for index, level in enumerate(route.floors)
        ]
    context["query"] = {
        "ort": location.pk,
        "ziel": request.GET.get("ziel", ""),
        "q": request.GET.get("q", ""),
    }
    return render(request, template, context, status=status)


def _floor_name(graph: Any, level: int, language: str) -> str:
    floor = graph.floors.get(level)
    if floor is None:
        return str(level)
    return str((language == "en" and floor.name_en) or floor.name_de)


@require_http_methods(["GET", "HEAD"])
def kiosk_route(request: HttpRequest) -> HttpResponse:
    return _route(request, "assistant/kiosk_route.html")


@require_http_methods(["GET", "HEAD"])
def route(request: HttpRequest) -> HttpResponse:
    return _route(request, "assistant/route.html")


@require_http_methods(["POST"])
def kiosk_ticket(request: HttpRequest) -> HttpResponse:
    """Draw a queue ticket for the chosen service at the kiosk's location."""
    municipality = request_municipality(request)
    location = _location(request)
    if location is None:
        raise Http404
    service = access.service_public(
        municipality=municipality, service_id=request.POST.get("leistung")
    )
    context: dict[str, Any] = {"location": location, "service": service}
    try:
        context["ticket"] = services.assistant_ticket_draw(
            municipality=municipality, location=location, service=service, language=_language()
        )
        status = 201
    except ApplicationError as error:
        context["problem"] = error.message
        status = error.status
    return render(request, "assistant/kiosk_ticket.html", context, status=status)


@require_http_methods(["POST"])
def feedback(request: HttpRequest) -> HttpResponse:
    """Was the answer helpful? Counted anonymously with the question."""
    municipality = request_municipality(request)
    channel = request.POST.get("kanal", "")
    if channel not in QuestionStat.Channel.values:
        raise Http404
    try:
        services.feedback_record(
            municipality=municipality,
            question=str(request.POST.get("q", ""))[:1000],
            language=_language(),
            channel=channel,
            helpful=request.POST.get("hilfreich") == "1",
        )
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Thank you for your feedback."))
    target = "assistant:kiosk" if channel == QuestionStat.Channel.KIOSK else "assistant:ask"
    return redirect(reverse(target) + "?" + urlencode({"q": request.POST.get("q", "")[:1000]}))


# --- back office ---------------------------------------------------------------------


@staff_required(VIEW_STATISTICS)
@require_http_methods(["GET", "HEAD"])
def staff_statistics(request: HttpRequest) -> HttpResponse:
    """Frequent questions, questions without a good answer, helpfulness."""
    municipality = request_municipality(request)
    return render(
        request,
        "assistant/staff_statistics.html",
        {"stats": selectors.statistics(municipality=municipality)},
    )


@staff_required(MANAGE_ASSISTANT)
@require_http_methods(["GET", "HEAD", "POST"])
def staff_lexicon(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    form = LexiconEntryForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.lexicon_entry_save(
                    municipality=municipality, actor=request.user, **form.cleaned_data
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The entry was saved."))
                return redirect("assistant:staff_lexicon")
        else:
            status = 400
    entries = selectors.lexicon_entry_list(municipality=municipality)
    return render(
        request, "assistant/staff_lexicon.html", {"form": form, "entries": entries}, status=status
    )


@staff_required(MANAGE_ASSISTANT)
@require_http_methods(["GET", "HEAD", "POST"])
def staff_lexicon_edit(request: HttpRequest, entry_id: int) -> HttpResponse:
    municipality = request_municipality(request)
    entry = access.lexicon_entry_for_staff(municipality=municipality, entry_id=entry_id)
    if request.method == "POST" and request.POST.get("loeschen") == "1":
        services.lexicon_entry_delete(entry=entry, actor=request.user)
        messages.success(request, _("The entry was deleted."))
        return redirect("assistant:staff_lexicon")
    form = LexiconEntryForm(request.POST or None, instance=entry)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.lexicon_entry_save(
                    municipality=municipality,
                    actor=request.user,
                    entry=entry,
                    **form.cleaned_data,
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The entry was saved."))
                return redirect("assistant:staff_lexicon")
        else:
            status = 400
    return render(
        request, "assistant/staff_lexicon_edit.html", {"form": form, "entry": entry}, status=status
    )


def _locations(request: HttpRequest) -> Any:
    return Location.objects.filter(municipality=request_municipality(request)).order_by(
        "name_de", "pk"
    )


@staff_required(MANAGE_ASSISTANT)
@require_http_methods(["GET", "HEAD", "POST"])
def staff_buildings(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    form = BuildingImportForm(
        request.POST or None, request.FILES or None, locations=_locations(request)
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                floors = services.building_floors_read(
                    form.cleaned_data["file"].read(services.MAX_IMPORT_BYTES + 1)
                )
                building = services.building_import(
                    location=form.cleaned_data["location"], floors=floors, actor=request.user
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The building plan was imported."))
                return redirect("assistant:staff_building", building_id=building.pk)
        else:
            status = 400
    return render(
        request,
        "assistant/staff_buildings.html",
        {"form": form, "buildings": selectors.building_list(municipality=municipality)},
        status=status,
    )


@staff_required(MANAGE_ASSISTANT)
@require_http_methods(["GET", "HEAD", "POST"])
def staff_building(request: HttpRequest, building_id: int) -> HttpResponse:
    municipality = request_municipality(request)
    building = access.building_for_staff(municipality=municipality, building_id=building_id)
    nodes = (
        Node.objects.filter(floor__building=building)
        .select_related("floor")
        .order_by("floor__level", "key")
    )
    form = EdgeForm(request.POST or None, nodes=nodes)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.edge_create(building=building, actor=request.user, **form.cleaned_data)
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The connection was added."))
                return redirect("assistant:staff_building", building_id=building.pk)
        else:
            status = 400
    edges = Edge.objects.filter(building=building).select_related("start__floor", "end__floor")
    return render(
        request,
        "assistant/staff_building.html",
        {"building": building, "nodes": nodes, "edges": edges, "form": form},
        status=status,
    )


@staff_required(MANAGE_ASSISTANT)
@require_http_methods(["GET", "HEAD", "POST"])
def staff_node(request: HttpRequest, building_id: int, node_id: int) -> HttpResponse:
    municipality = request_municipality(request)
    building = access.building_for_staff(municipality=municipality, building_id=building_id)
    node = access.node_for_staff(building=building, node_id=node_id)
    form = NodeForm(request.POST or None, instance=node)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.node_update(node=node, actor=request.user, **form.cleaned_data)
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The place was saved."))
                return redirect("assistant:staff_building", building_id=building.pk)
        else:
            status = 400
    return render(
        request,
        "assistant/staff_node.html",
        {"building": building, "node": node, "form": form},
        status=status,
    )


@staff_required(MANAGE_ASSISTANT)
@require_http_methods(["POST"])
def staff_edge_delete(request: HttpRequest, building_id: int, edge_id: int) -> HttpResponse:
    municipality = request_municipality(request)
    building = access.building_for_staff(municipality=municipality, building_id=building_id)
    edge = access.edge_for_staff(building=building, edge_id=edge_id)
    services.edge_delete(edge=edge, actor=request.user)
    messages.success(request, _("The connection was removed."))
    return redirect("assistant:staff_building", building_id=building.pk)


@staff_required(MANAGE_ASSISTANT)
@require_http_methods(["GET", "HEAD", "POST"])
def staff_devices(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    form = DeviceForm(request.POST or None, locations=_locations(request))
    status = 200
    context: dict[str, Any] = {}
    if request.method == "POST":
        if form.is_valid():
            try:
                device, secret = services.device_create(
                    municipality=municipality, actor=request.user, **form.cleaned_data
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                context["created"] = {"device": device, "secret": secret}
                form = DeviceForm(locations=_locations(request))
                status = 201
        else:
            status = 400
    context.update({"form": form, "devices": selectors.device_list(municipality=municipality)})
    return render(request, "assistant/staff_devices.html", context, status=status)


@staff_required(MANAGE_ASSISTANT)
@require_http_methods(["POST"])
def staff_device_deactivate(request: HttpRequest, device_id: int) -> HttpResponse:
    municipality = request_municipality(request)
    device = access.device_for_staff(municipality=municipality, device_id=device_id)
    services.device_deactivate(device=device, actor=request.user)
    messages.success(request, _("The device can no longer sign in."))
    return redirect("assistant:staff_devices")
