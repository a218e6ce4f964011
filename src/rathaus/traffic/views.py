"""Pages of the traffic engineers: overview with map and live state, intersections with
their plans, network import, simulation runs and their comparison."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from rathaus.core.errors import ApplicationError
from rathaus.core.forms import form_show_error
from rathaus.core.tenancy import request_municipality
from rathaus.organisation.decorators import staff_member_required
from rathaus.organisation.permissions import user_can_anywhere
from rathaus.traffic import access, selectors, services
from rathaus.traffic.forms import (
    CONTROLLER_LABELS,
    CountForm,
    DetectorForm,
    GroupForm,
    ImportForm,
    IntergreenForm,
    IntersectionForm,
    PhaseForm,
    PlanForm,
    RunForm,
)
from rathaus.traffic.models import (
    APPROVE_PERMISSION,
    MANAGE_PERMISSION,
    SIMULATE_PERMISSION,
    VIEW_PERMISSION,
    SimulationRun,
)
from rathaus.traffic.sim.chart import results_chart

MAP_WIDTH = 640
MAP_HEIGHT = 360
MAX_COMPARE = 6


def _map(intersections: list[Any]) -> list[dict[str, Any]]:
    """Schematic positions (network coordinates scaled into the SVG box, y up)."""
    if not intersections:
        return []
    xs = [i.x for i in intersections]
    ys = [i.y for i in intersections]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    pad = 30
    scale = min(MAP_WIDTH - 2 * pad, MAP_HEIGHT - 2 * pad) / span
    points = []
    for i in intersections:
        state = (i.live_state or {}).get("state", "")
        points.append(
            {
                "intersection": i,
                "cx": round(pad + (i.x - min(xs)) * scale, 1),
                "cy": round(MAP_HEIGHT - pad - (i.y - min(ys)) * scale, 1),
                "greens": sum(1 for ch in state if ch in "Gg"),
                "state": state,
            }
        )
    return points


def _run_form(municipality: Any, data: Any = None) -> RunForm:
    return RunForm(
        data,
        scenarios=selectors.scenario_names(),
        plans=selectors.plans_to_simulate(municipality=municipality),
        initial={
            "controllers": ["adaptive", "sumo_actuated"],
            "seconds": 600,
            "day": timezone.localdate(),
        },
    )


@staff_member_required(VIEW_PERMISSION)
@never_cache
@require_http_methods(["GET", "HEAD"])
def index(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    return render(
        request,
        "traffic/index.html",
        {
            **_states(municipality),
            **_priority(municipality),
            "runs": selectors.run_list(municipality=municipality)[:20],
            "run_form": _run_form(municipality),
            "can_simulate": user_can_anywhere(user=request.user, permission=SIMULATE_PERMISSION),
            "can_manage": user_can_anywhere(user=request.user, permission=MANAGE_PERMISSION),
        },
    )


def _seen(*parts: object) -> str:
    """A short fingerprint of what a polled part of the page shows."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _states(municipality: Any) -> dict[str, Any]:
    intersections = list(selectors.intersection_list(municipality=municipality))
    silent = selectors.silent_detectors(municipality=municipality)
    for intersection in intersections:
        intersection.silent = silent.get(intersection.pk, 0)  # type: ignore[attr-defined]
    return {
        "points": _map(intersections),
        "intersections": intersections,
        "map_width": MAP_WIDTH,
        "map_height": MAP_HEIGHT,
        "states_seen": _seen(
            [
                (
                    i.pk,
                    i.name,
                    getattr(i, "group_count", 0),
                    i.live_state,
                    i.live_at,
                    silent.get(i.pk, 0),
                )
                for i in intersections
            ]
        ),
    }


def _priority(municipality: Any) -> dict[str, Any]:
    priority = selectors.priority_recent(municipality=municipality)
    return {"priority": priority, "priority_seen": _seen([p.pk for p in priority])}


#: The polled parts of the overview: template, context and its fingerprint's key.
LIVE_PARTS = {
    "knoten": ("traffic/_live_states.html", _states, "states_seen"),
    "vorrang": ("traffic/_live_priority.html", _priority, "priority_seen"),
}


@staff_member_required(VIEW_PERMISSION)
@never_cache
@require_http_methods(["GET", "HEAD"])
def live(request: HttpRequest, part: str) -> HttpResponse:
    """A polled part of the overview (the intersections' states from the digital twin or
    live input, the priority requests as they arrive). ``204`` when it shows what the
    page already has (``gesehen``), so htmx swaps, and a screen reader announces, only
    what changed."""
    if part not in LIVE_PARTS:
        raise Http404
    template, context, key = LIVE_PARTS[part]
    shown = context(request_municipality(request))
    if request.GET.get("gesehen") == shown[key]:
        return HttpResponse(status=204)
    return render(request, template, shown)


@staff_member_required(MANAGE_PERMISSION)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def network_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["network"]
            try:
                imported = services.network_import(
                    municipality=request_municipality(request),
                    content=upload.read(),
                    network=upload.name,
                    actor=request.user,
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(
                    request,
                    _("%(count)s intersections were imported.") % {"count": len(imported)},
                )
                return redirect("traffic:index")
    return render(request, "traffic/import.html", {"form": form}, status=status)


def _intersection_page(
    request: HttpRequest,
    intersection: Any,
    plan_form: PlanForm | None = None,
    status: int = 200,
    phase_form: PhaseForm | None = None,
    intergreen_form: IntergreenForm | None = None,
    node_form: IntersectionForm | None = None,
    group_form: GroupForm | None = None,
    detector_form: DetectorForm | None = None,
    count_form: CountForm | None = None,
    counted: dict[str, Any] | None = None,
) -> HttpResponse:
    groups = list(intersection.groups.order_by("index"))
    health = selectors.detector_status(intersection=intersection)
    detectors = [row["detector"] for row in health["detectors"]]
    names = {g.index: g.name for g in groups}
    phases = list(intersection.phases.order_by("order"))
    plan_form = plan_form or PlanForm(phases=phases)
    phase_form = phase_form or PhaseForm(
        phases=phases, groups=groups, prefix="phase", initial=_phase_initial(phases)
    )
    intergreen_form = intergreen_form or IntergreenForm(groups=groups, prefix="ig")
    node_form = node_form or IntersectionForm(
        prefix="node",
        initial={
            "name": intersection.name,
            "cycle_min": intersection.cycle_min,
            "cycle_max": intersection.cycle_max,
        },
    )
    first = groups[0] if groups else None
    group_form = group_form or GroupForm(
        groups=groups,
        prefix="group",
        initial={
            "group": first.index,
            "kind": first.kind,
            "yellow": first.yellow,
            "min_green": first.min_green,
        }
        if first
        else {},
    )
    detector_form = detector_form or DetectorForm(
        detectors=detectors, lanes=_lanes(groups), prefix="det"
    )
    matrix = {(ig.clearing_id, ig.entering_id): ig for ig in intersection.intergreens.all()}
    rows = [{"group": a, "cells": [matrix.get((a.pk, b.pk)) for b in groups]} for a in groups]
    return render(
        request,
        "traffic/intersection.html",
        {
            "intersection": intersection,
            "groups": groups,
            "phases": [
                {"phase": p, "greens": [names.get(i, str(i)) for i in p.greens]} for p in phases
            ],
            "intergreen_rows": rows,
            "review": selectors.import_review(intersection=intersection),
            "detectors": detectors,
            "detector_status": health,
            "plans": selectors.plan_list(intersection=intersection),
            "timetable": selectors.plan_timetable(intersection=intersection),
            "plan_form": plan_form,
            "phase_form": phase_form,
            "intergreen_form": intergreen_form,
            "node_form": node_form,
            "group_form": group_form,
            "detector_form": detector_form,
            "count_form": count_form or CountForm(prefix="count"),
            "counted": counted,
            "uncounted": [
                p.name for p in phases if counted and counted["flows"].get(p.order) is None
            ],
            "can_manage": user_can_anywhere(user=request.user, permission=MANAGE_PERMISSION),
            "can_approve": user_can_anywhere(user=request.user, permission=APPROVE_PERMISSION),
        },
        status=status,
    )


@staff_member_required(VIEW_PERMISSION)
@never_cache
@require_http_methods(["GET", "HEAD"])
def intersection_detail(request: HttpRequest, intersection_id: int) -> HttpResponse:
    intersection = access.intersection_for_user(
        user=request.user,
        municipality=request_municipality(request),
        intersection_id=intersection_id,
        permission=VIEW_PERMISSION,
    )
    if "count-starts_at" not in request.GET:
        return _intersection_page(request, intersection)
    # a new plan's flows taken from what the detectors counted in its window
    count_form = CountForm(request.GET, prefix="count")
    if not count_form.is_valid():
        return _intersection_page(request, intersection, count_form=count_form, status=400)
    data = count_form.cleaned_data
    counted = selectors.counted_flows(
        intersection=intersection,
        starts=data["starts_at"],
        ends=data["ends_at"],
        days=data["days"],
        weeks=data["weeks"],
    )
    phases = list(intersection.phases.order_by("order"))
    initial = {
        "starts_at": data["starts_at"],
        "ends_at": data["ends_at"],
        "days": data["days"],
        **{f"flow_{order}": flow for order, flow in counted["flows"].items() if flow is not None},
    }
    return _intersection_page(
        request,
        intersection,
        PlanForm(phases=phases, initial=initial),
        count_form=count_form,
        counted=counted,
    )


@staff_member_required(MANAGE_PERMISSION)
@require_http_methods(["POST"])
def plan_compute(request: HttpRequest, intersection_id: int) -> HttpResponse:
    intersection = access.intersection_for_user(
        user=request.user,
        municipality=request_municipality(request),
        intersection_id=intersection_id,
        permission=MANAGE_PERMISSION,
    )
    phases = list(intersection.phases.order_by("order"))
    form = PlanForm(request.POST, phases=phases)
    if not form.is_valid():
        return _intersection_page(request, intersection, form, status=400)
    try:
        plan = services.plan_compute(
            intersection=intersection,
            name=form.cleaned_data["name"],
            starts_at=form.cleaned_data["starts_at"],
            ends_at=form.cleaned_data["ends_at"],
            days=form.cleaned_data["days"],
            flows=form.flows(),
            saturation=form.cleaned_data["saturation"],
            offset=form.cleaned_data["offset"] or 0.0,
            actor=request.user,
        )
    except ApplicationError as error:
        status = form_show_error(form, error)
        return _intersection_page(request, intersection, form, status=status)
    messages.success(
        request,
        _("Draft %(plan)s was computed; it needs approval before it goes live.")
        % {"plan": str(plan)},
    )
    return redirect("traffic:intersection", intersection.pk)


def _phase_initial(phases: list[Any]) -> dict[str, Any]:
    if not phases:
        return {}
    first = phases[0]
    return {
        "phase": first.order,
        "greens": first.greens,
        "min_green": first.min_green,
        "max_green": first.max_green,
    }


def _manageable(request: HttpRequest, intersection_id: int) -> Any:
    return access.intersection_for_user(
        user=request.user,
        municipality=request_municipality(request),
        intersection_id=intersection_id,
        permission=MANAGE_PERMISSION,
    )


def _lanes(groups: list[Any]) -> list[str]:
    """The lanes the intersection's signal groups control, where detectors may lie."""
    return sorted({lane for g in groups for lane in (g.lanes or [])})


def _edit(
    request: HttpRequest,
    intersection: Any,
    form: Any,
    key: str,
    save: Callable[[dict[str, Any]], object],
    done: str,
) -> HttpResponse:
    """A back-office edit of the intersection page: ``save`` the valid ``form`` (a
    service call) and go back to the page, or show the page again with the form (under
    ``key``) and its errors."""
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except ApplicationError as error:
            status = form_show_error(form, error)
        else:
            messages.success(request, done)
            return redirect("traffic:intersection", intersection.pk)
    else:
        status = 400
    return _intersection_page(request, intersection, status=status, **{key: form})


@staff_member_required(MANAGE_PERMISSION)
@require_http_methods(["POST"])
def phase_update(request: HttpRequest, intersection_id: int) -> HttpResponse:
    intersection = _manageable(request, intersection_id)
    phases = {p.order: p for p in intersection.phases.order_by("order")}
    groups = list(intersection.groups.order_by("index"))
    form = PhaseForm(request.POST, phases=list(phases.values()), groups=groups, prefix="phase")
    return _edit(
        request,
        intersection,
        form,
        "phase_form",
        lambda data: services.phase_update(
            phase=phases[data["phase"]],
            greens=data["greens"],
            min_green=data["min_green"],
            max_green=data["max_green"],
            actor=request.user,
        ),
        _("The phase was saved."),
    )


@staff_member_required(MANAGE_PERMISSION)
@require_http_methods(["POST"])
def intergreen_update(request: HttpRequest, intersection_id: int) -> HttpResponse:
    intersection = _manageable(request, intersection_id)
    groups = list(intersection.groups.order_by("index"))
    form = IntergreenForm(request.POST, groups=groups, prefix="ig")
    return _edit(
        request,
        intersection,
        form,
        "intergreen_form",
        lambda data: services.intergreen_set(
            intersection=intersection,
            clearing=data["clearing"],
            entering=data["entering"],
            seconds=data["seconds"],
            actor=request.user,
        ),
        _("The intergreen time was saved."),
    )


@staff_member_required(MANAGE_PERMISSION)
@require_http_methods(["POST"])
def intersection_update(request: HttpRequest, intersection_id: int) -> HttpResponse:
    intersection = _manageable(request, intersection_id)
    form = IntersectionForm(request.POST, prefix="node")
    return _edit(
        request,
        intersection,
        form,
        "node_form",
        lambda data: services.intersection_update(
            intersection=intersection,
            name=data["name"],
            cycle_min=data["cycle_min"],
            cycle_max=data["cycle_max"],
            actor=request.user,
        ),
        _("The intersection was saved."),
    )


@staff_member_required(MANAGE_PERMISSION)
@require_http_methods(["POST"])
def group_update(request: HttpRequest, intersection_id: int) -> HttpResponse:
    intersection = _manageable(request, intersection_id)
    groups = {g.index: g for g in intersection.groups.order_by("index")}
    form = GroupForm(request.POST, groups=list(groups.values()), prefix="group")
    return _edit(
        request,
        intersection,
        form,
        "group_form",
        lambda data: services.signal_group_update(
            group=groups[data["group"]],
            kind=data["kind"],
            yellow=data["yellow"],
            min_green=data["min_green"],
            actor=request.user,
        ),
        _("The signal group was saved."),
    )


@staff_member_required(MANAGE_PERMISSION)
@require_http_methods(["POST"])
def detector_save(request: HttpRequest, intersection_id: int) -> HttpResponse:
    """Add a detector, or change the one chosen in the form."""
    intersection = _manageable(request, intersection_id)
    detectors = {d.pk: d for d in intersection.detectors.order_by("name")}
    lanes = _lanes(list(intersection.groups.all()))
    form = DetectorForm(request.POST, detectors=detectors.values(), lanes=lanes, prefix="det")

    def save(data: dict[str, Any]) -> object:
        fields = {
            "name": data["name"],
            "lane": data["lane"],
            "position": data["position"],
            "kind": data["kind"],
            "interval_seconds": data["interval_seconds"],
            "actor": request.user,
        }
        if data["detector"] is None:
            return services.detector_create(intersection=intersection, **fields)
        return services.detector_update(detector=detectors[data["detector"]], **fields)

    return _edit(request, intersection, form, "detector_form", save, _("The detector was saved."))


@staff_member_required(MANAGE_PERMISSION)
@require_http_methods(["POST"])
def detector_delete(request: HttpRequest, detector_id: int) -> HttpResponse:
    detector = access.detector_for_user(
        user=request.user,
        municipality=request_municipality(request),
        detector_id=detector_id,
        permission=MANAGE_PERMISSION,
    )
    try:
        services.detector_delete(detector=detector, actor=request.user)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The detector was removed."))
    return redirect("traffic:intersection", detector.intersection_id)


def _plan_step(request: HttpRequest, plan_id: int, step: Any, done: str) -> HttpResponse:
    """Approve or retire a plan (``step``, a service), back to its intersection."""
    plan = access.plan_for_user(
        user=request.user,
        municipality=request_municipality(request),
        plan_id=plan_id,
        permission=APPROVE_PERMISSION,
    )
    try:
        step(plan=plan, actor=request.user)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, done)
    return redirect("traffic:intersection", plan.intersection_id)


@staff_member_required(APPROVE_PERMISSION)
@require_http_methods(["POST"])
def plan_approve(request: HttpRequest, plan_id: int) -> HttpResponse:
    return _plan_step(
        request, plan_id, services.plan_approve, _("The plan is approved and active.")
    )


@staff_member_required(APPROVE_PERMISSION)
@require_http_methods(["POST"])
def plan_retire(request: HttpRequest, plan_id: int) -> HttpResponse:
    return _plan_step(
        request, plan_id, services.plan_retire, _("The plan is retired; its hours run without it.")
    )


@staff_member_required(SIMULATE_PERMISSION)
@require_http_methods(["POST"])
def run_start(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    form = _run_form(municipality, request.POST)
    if form.is_valid():
        try:
            run = services.simulation_run_start(
                municipality=municipality,
                scenario=form.cleaned_data["scenario"],
                controllers=form.cleaned_data["controllers"],
                seconds=form.cleaned_data["seconds"],
                plans=form.cleaned_data["plans"],
                day=form.cleaned_data["day"],
                configured=form.cleaned_data["configured"],
                actor=request.user,
            )
        except ApplicationError as error:
            status = form_show_error(form, error)
        else:
            return redirect("traffic:run", run.pk)
    else:
        status = 400
    intersections = list(selectors.intersection_list(municipality=municipality))
    return render(
        request,
        "traffic/index.html",
        {
            "points": _map(intersections),
            "intersections": intersections,
            "map_width": MAP_WIDTH,
            "map_height": MAP_HEIGHT,
            "priority": selectors.priority_recent(municipality=municipality),
            "runs": selectors.run_list(municipality=municipality)[:20],
            "run_form": form,
            "can_simulate": True,
            "can_manage": user_can_anywhere(user=request.user, permission=MANAGE_PERMISSION),
        },
        status=status,
    )


def _labels(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**row, "label": CONTROLLER_LABELS.get(row["controller"], row["controller"])}
        for row in results
    ]


@staff_member_required(VIEW_PERMISSION)
@never_cache
@require_http_methods(["GET", "HEAD"])
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = access.run_for_user(
        user=request.user,
        municipality=request_municipality(request),
        run_id=run_id,
        permission=VIEW_PERMISSION,
    )
    context = {
        "run": run,
        "results": _labels(run.results or []),
        "finished": run.status in (SimulationRun.Status.DONE, SimulationRun.Status.FAILED),
        "percent": round(run.progress * 100),
    }
    if request.headers.get("HX-Request"):
        return render(request, "traffic/_run_status.html", context)
    return render(request, "traffic/run.html", context)


@staff_member_required(VIEW_PERMISSION)
@never_cache
@require_http_methods(["GET", "HEAD"])
def run_compare(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    raw = request.GET.getlist("lauf")
    if len(raw) > MAX_COMPARE or not all(r.isdigit() and len(r) < 12 for r in raw):
        raise Http404
    runs = [
        access.run_for_user(
            user=request.user, municipality=municipality, run_id=int(r), permission=VIEW_PERMISSION
        )
        for r in dict.fromkeys(raw)
    ]
    rows: list[dict[str, Any]] = []
    for run in runs:
        for row in run.results or []:
            rows.append({**row, "scenario": f"{row['scenario']} #{run.pk}"})
    charts = []
    if rows:
        for metric, title in (
            ("mean_delay", _("Mean delay per vehicle (s)")),
            ("mean_waiting_time", _("Mean waiting time (s)")),
            ("mean_queue", _("Mean queue (vehicles)")),
            ("co2_kg", _("CO2 (kg)")),
        ):
            charts.append(results_chart(rows, metric=metric, title=title))
    return render(
        request,
        "traffic/compare.html",
        {
            "runs": runs,
            "charts": charts,
            "available": selectors.run_list(municipality=municipality).filter(
                status=SimulationRun.Status.DONE
            )[:50],
            "selected": {run.pk for run in runs},
        },
    )
