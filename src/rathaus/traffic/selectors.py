"""Reads of the traffic module."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import ExtractHour, ExtractMinute, TruncDate
from django.utils import timezone

from rathaus.core.holidays import public_holiday
from rathaus.core.models import Municipality
from rathaus.traffic.control import timetable
from rathaus.traffic.control.timetable import clock, uncovered
from rathaus.traffic.models import (
    DAY_TYPE_CHOICES,
    DataGap,
    Detector,
    DetectorReading,
    Intergreen,
    Intersection,
    PriorityRequest,
    SignalPlan,
    SimulationRun,
)


def scenarios_root() -> Path:
    return Path(settings.RATHAUS_SHARED_DIR) / "data" / "traffic" / "resco"


def scenario_names() -> list[str]:
    """Scenario folders (with one ``.sumocfg``) in the shared data directory."""
    root = scenarios_root()
    if not root.is_dir():
        return []
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and len(list(p.glob("*.sumocfg"))) == 1
    )


def scenario_folder(name: str) -> Path:
    if name not in scenario_names():
        raise FileNotFoundError(name)
    return scenarios_root() / name


def intersection_list(*, municipality: Municipality) -> QuerySet[Intersection]:
    return Intersection.objects.filter(municipality=municipality).annotate(
        group_count=Count("groups", distinct=True), phase_count=Count("phases", distinct=True)
    )


def import_review(*, intersection: Intersection) -> dict[str, int]:
    """What an engineer should review after importing the intersection from a signal
    program: intergreen times the program did not give (defaults), those raised to the
    clearing group's yellow, yellows raised to the layer's floor (ADR 0033), and phases
    whose maximum green is shorter than the longest green the program shows for them
    (the layer cuts such a green, so the program cannot run as it was drawn)."""
    counts = dict(
        intersection.intergreens.filter(
            source__in=[Intergreen.Source.DEFAULT, Intergreen.Source.RAISED]
        )
        .values_list("source")
        .annotate(n=Count("pk"))
        .values_list("source", "n")
    )
    return {
        "defaulted": counts.get(Intergreen.Source.DEFAULT, 0),
        "raised": counts.get(Intergreen.Source.RAISED, 0),
        "yellows": intersection.groups.filter(program_yellow__isnull=False).count(),
        "long_greens": intersection.phases.filter(program_green__gt=F("max_green")).count(),
    }


#: How far back the intersection page lists a detector's data gaps.
GAPS_SHOWN_FOR = timedelta(days=7)


def _silent(last_seen: datetime | None, interval_seconds: int, now: datetime) -> bool:
    """Whether a detector that has reported has been silent for longer than twice its
    interval (the silence that counts as a gap once it ends)."""
    return last_seen is not None and now - last_seen > timedelta(seconds=2 * interval_seconds)


def silent_detectors(*, municipality: Municipality, now: datetime | None = None) -> dict[int, int]:
    """How many detectors of each intersection are silent now, by intersection id."""
    now = now or timezone.now()
    counts: dict[int, int] = defaultdict(int)
    for intersection_id, last_seen, interval in Detector.objects.filter(
        municipality=municipality, last_seen__isnull=False
    ).values_list("intersection_id", "last_seen", "interval_seconds"):
        if _silent(last_seen, interval, now):
            counts[intersection_id] += 1
    return dict(counts)


def detector_status(*, intersection: Intersection, now: datetime | None = None) -> dict[str, Any]:
    """Each detector with whether it reports: ``silent`` when its last reading is older
    than twice its interval (the silence that counts as a gap once it ends), ``never``
    before its first reading; and the data gaps of the last seven days, newest first
    (recorded at ingestion, never filled in)."""
    now = now or timezone.now()
    rows = []
    for detector in intersection.detectors.order_by("name"):
        if detector.last_seen is None:
            state = "never"
        elif _silent(detector.last_seen, detector.interval_seconds, now):
            state = "silent"
        else:
            state = "reporting"
        rows.append({"detector": detector, "state": state})
    gaps = [
        {"gap": gap, "minutes": round((gap.ends_at - gap.starts_at).total_seconds() / 60)}
        for gap in DataGap.objects.filter(
            detector__intersection=intersection, ends_at__gte=now - GAPS_SHOWN_FOR
        )
        .select_related("detector")
        .order_by("-ends_at")[:50]
    ]
    return {
        "detectors": rows,
        "silent": sum(1 for r in rows if r["state"] == "silent"),
        "gaps": gaps,
    }


#: Preference among a lane's detectors for counting its flow: the stop-line loop counts
#: what crosses, a queue area what enters it, an advance loop what approaches.
COUNTING_ORDER = ("stopline", "area", "advance")


def counted_flows(
    *,
    intersection: Intersection,
    starts: time,
    ends: time,
    days: Iterable[str],
    weeks: int = 4,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The flows counted by the intersection's detectors in a plan's window (local time;
    an end before the start runs over midnight, equal means the whole day) on its day
    types over the last ``weeks`` weeks, for Webster's method: per phase the busiest
    lane's vehicles per hour among the lanes its green groups release (``None`` where no
    lane of it has counts). A lane's flow is its counts over the time its readings cover
    (gaps are left out, never filled in), from its stop-line loop where it has one, else
    its queue area, else its advance loop. A moment's day type is that of its own date
    (ADR 0036)."""
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    chosen_days = set(days)
    first, last = starts.hour * 60 + starts.minute, ends.hour * 60 + ends.minute
    minute = ExtractHour("measured_at", tzinfo=zone) * 60 + ExtractMinute(
        "measured_at", tzinfo=zone
    )
    if first < last:
        in_window = Q(minute__gte=first, minute__lt=last)
    elif first > last:
        in_window = Q(minute__gte=first) | Q(minute__lt=last)
    else:
        in_window = Q()
    detectors = {d.pk: d for d in intersection.detectors.all()}
    rows = (
        DetectorReading.objects.filter(
            detector__in=list(detectors), measured_at__gte=now - timedelta(weeks=weeks)
        )
        .annotate(minute=minute, day=TruncDate("measured_at", tzinfo=zone))
        .filter(in_window)
        .values("detector", "day")
        .annotate(vehicles=Sum("count"), readings=Count("pk"))
    )
    state = intersection.municipality.state
    totals: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in rows:
        day = row["day"]
        kind = "ph" if public_holiday(state, day) else timetable.WEEKDAYS[day.weekday()]
        if kind not in chosen_days:
            continue
        detector = detectors[row["detector"]]
        totals[detector.pk][0] += row["vehicles"]
        totals[detector.pk][1] += row["readings"] * detector.interval_seconds
    lanes: dict[str, dict[str, Any]] = {}
    for kind in reversed(COUNTING_ORDER):  # the preferred kind written last
        per_lane: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for pk, (vehicles, seconds) in totals.items():
            detector = detectors[pk]
            if detector.kind == kind and seconds > 0:
                per_lane[detector.lane].append((vehicles, seconds))
        for lane, parts in per_lane.items():
            vehicles = sum(v for v, _ in parts)
            seconds = sum(s for _, s in parts)
            lanes[lane] = {
                "flow": round(vehicles / seconds * 3600.0, 1),
                "hours": round(seconds / len(parts) / 3600.0, 2),
                "kind": kind,
            }
    groups = {g.index: g for g in intersection.groups.all()}
    flows: dict[int, float | None] = {}
    for phase in intersection.phases.order_by("order"):
        seen = [
            lanes[lane]["flow"]
            for index in phase.greens
            for lane in (groups[index].lanes if index in groups else [])
            if lane in lanes
        ]
        flows[phase.order] = max(seen) if seen else None
    return {
        "flows": flows,
        "lanes": lanes,
        "hours": max((lane["hours"] for lane in lanes.values()), default=0.0),
    }


def plan_list(*, intersection: Intersection) -> QuerySet[SignalPlan]:
    return intersection.plans.select_related("created_by", "approved_by").order_by(
        "name", "-version"
    )


def plan_timetable(*, intersection: Intersection, at: datetime | None = None) -> dict[str, Any]:
    """The intersection's day (Tagesablauf) at ``at`` (now, in local time): its active
    plans by the time they begin, those of the day's type (its weekday, or public holiday
    of the municipality's state) with the one in force, the times of that day without a
    plan, when the controller runs its base program, and the week program: per day type
    its plans and hours without a plan."""
    active = list(
        intersection.plans.filter(status=SignalPlan.Status.ACTIVE)
        .select_related("approved_by")
        .order_by("starts_at", "name")
    )
    timed = [p.window() for p in active]
    moment = timezone.localtime(at)
    second = moment.hour * 3600 + moment.minute * 60 + moment.second
    holiday = public_holiday(intersection.municipality.state, moment.date())
    today = timetable.HOLIDAY if holiday else timetable.WEEKDAYS[moment.weekday()]
    calendar = timetable.Calendar(moment.date(), frozenset([moment.date()] if holiday else []))
    current = next(
        (p for p, t in zip(active, timed, strict=True) if t.covers(second, calendar)), None
    )
    return {
        "plans": active,
        "today": [p for p in active if today in p.days],
        "day_type": today,
        "day_name": dict(DAY_TYPE_CHOICES)[today],
        "holiday": holiday,
        "in_force": current,
        "at": moment,
        "without_plan": [(clock(a), clock(b)) for a, b in uncovered(timed, today)],
        "week": [
            {
                "day_type": key,
                "name": name,
                "plans": [p for p in active if key in p.days],
                "without_plan": [(clock(a), clock(b)) for a, b in uncovered(timed, key)],
            }
            for key, name in DAY_TYPE_CHOICES
        ],
    }


def plans_to_simulate(*, municipality: Municipality) -> QuerySet[SignalPlan]:
    """The municipality's drafts and active plans, which a simulation run may try."""
    return (
        SignalPlan.objects.filter(municipality=municipality)
        .exclude(status=SignalPlan.Status.RETIRED)
        .select_related("intersection")
        .order_by("intersection__name", "name", "-version")
    )


def priority_recent(*, municipality: Municipality, limit: int = 20) -> list[PriorityRequest]:
    return list(
        PriorityRequest.objects.filter(municipality=municipality)
        .select_related("intersection", "group")
        .order_by("-received_at")[:limit]
    )


def run_list(*, municipality: Municipality) -> QuerySet[SimulationRun]:
    return SimulationRun.objects.filter(municipality=municipality).order_by("-created_at")
