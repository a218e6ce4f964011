"""Every write of the traffic module: network import, plans, detector data, priority
requests and simulation runs."""

from __future__ import annotations

import math
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NoReturn

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from rathaus.audit.services import audit_record
from rathaus.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from rathaus.core.holidays import public_holiday
from rathaus.core.models import Municipality
from rathaus.traffic.control import model as cm
from rathaus.traffic.control.sumonet import MAX_NET_BYTES, FixedPlan, NetInfo, net_read
from rathaus.traffic.control.timetable import (
    DAY,
    DAY_TYPES,
    Calendar,
    TimedPlan,
    clock,
    covered,
    day_types,
    overlap,
)
from rathaus.traffic.control.webster import WebsterPhase, webster
from rathaus.traffic.models import (
    DataGap,
    Detector,
    DetectorReading,
    Intergreen,
    Intersection,
    Phase,
    PriorityRequest,
    SignalGroup,
    SignalPlan,
    SimulationRun,
)

#: Readings further in the future than this are rejected (clock skew tolerance).
FUTURE_TOLERANCE = timedelta(seconds=60)
#: Readings older than this are stale and rejected.
STALE_AFTER = timedelta(days=7)
MAX_BATCH = 500
MAX_SIM_SECONDS = 3600
#: Cycle limits an intersection may be given (seconds).
MIN_CYCLE, MAX_CYCLE = 20, 300
#: Reporting intervals a detector may be given (seconds).
MIN_INTERVAL, MAX_INTERVAL = 1, 3600
#: How far from today a simulated day may lie (the state's holidays are known for it).
MAX_SIM_DAYS_AWAY = 3652


def _model_error(error: cm.ModelError) -> ValidationFailed:
    return ValidationFailed(str(error), code="unsafe_definition")


# -- intersections ----------------------------------------------------------------------


def intersection_model(*, intersection: Intersection) -> cm.Intersection:
    """The controller library's checked model of ``intersection`` (raises ModelError)."""
    groups = [
        cm.SignalGroup(
            index=g.index,
            name=g.name,
            kind=cm.GroupKind(g.kind),
            yellow=g.yellow,
            min_green=g.min_green,
            lanes=tuple(g.lanes),
            out_lanes=tuple(g.out_lanes),
        )
        for g in intersection.groups.order_by("index")
    ]
    index_of = {g.pk: g.index for g in intersection.groups.all()}
    phases = [
        cm.Phase(
            name=p.name,
            greens=frozenset(int(i) for i in p.greens),
            min_green=p.min_green,
            max_green=p.max_green,
            letters={int(k): v for k, v in (p.letters or {}).items()},
        )
        for p in intersection.phases.order_by("order")
    ]
    intergreen = {
        (index_of[ig.clearing_id], index_of[ig.entering_id]): ig.seconds
        for ig in intersection.intergreens.all()
    }
    return cm.intersection_build(
        id=intersection.sumo_id, groups=groups, phases=phases, intergreen=intergreen
    )


def network_import(
    *,
    municipality: Municipality,
    content: bytes,
    network: str,
    actor: Any = None,
) -> list[Intersection]:
    """Import (or re-import) every traffic light of a SUMO network file.

    An intersection with the same SUMO id is updated (its name as given in the back
    office stays): its signal groups in place (the
    priority requests received for them stay), its phases and intergreens replaced; its
    detectors stay with their readings and gaps, those on lanes it no longer has only if
    they reported, and each new lane gets a queue-area detector; its plans stay.
    Nothing is written if any traffic light fails the safety checks.
    """
    if len(content) > MAX_NET_BYTES:
        raise ValidationFailed(_("The network file is too large."), code="too_large")
    with tempfile.NamedTemporaryFile(suffix=".net.xml") as handle:
        handle.write(content)
        handle.flush()
        try:
            info = net_read(Path(handle.name))
        except cm.ModelError as error:
            raise _model_error(error) from error
    imported: list[Intersection] = []
    with transaction.atomic():
        for tid, model in info.intersections.items():
            x, y = info.positions.get(tid, (0.0, 0.0))
            where = {"network": network[:200], "x": x, "y": y}
            # a name given in the back office stays
            intersection, _created = Intersection.objects.select_for_update().update_or_create(
                municipality=municipality,
                sumo_id=tid,
                defaults=where,
                create_defaults={"name": tid[:200], **where},
            )
            # the signal groups are updated in place, so that the priority requests
            # received for them stay; groups the network no longer has go
            intersection.intergreens.all().delete()
            intersection.phases.all().delete()
            intersection.groups.filter(index__gte=len(model.groups)).delete()
            groups = [
                SignalGroup.objects.update_or_create(
                    intersection=intersection,
                    index=g.index,
                    defaults={
                        "municipality": municipality,
                        "name": f"K{g.index + 1}",
                        "kind": g.kind.value,
                        "yellow": g.yellow,
                        "program_yellow": info.program_yellow.get(tid, {}).get(g.index),
                        "min_green": g.min_green,
                        "lanes": list(g.lanes),
                        "out_lanes": list(g.out_lanes),
                    },
                )[0]
                for g in model.groups
            ]
            longest: dict[int, float] = {}
            for phase, seconds in info.plans[tid].greens:
                longest[phase] = max(longest.get(phase, 0.0), seconds)
            Phase.objects.bulk_create(
                Phase(
                    municipality=municipality,
                    intersection=intersection,
                    order=i,
                    name=_("Phase %(number)s") % {"number": i + 1},
                    greens=sorted(p.greens),
                    letters={str(k): v for k, v in p.letters.items()},
                    min_green=p.min_green,
                    max_green=p.max_green,
                    program_green=longest.get(i),
                )
                for i, p in enumerate(model.phases)
            )
            sources = info.intergreen_sources.get(tid, {})
            Intergreen.objects.bulk_create(
                Intergreen(
                    municipality=municipality,
                    intersection=intersection,
                    clearing=groups[a],
                    entering=groups[b],
                    seconds=seconds,
                    source=sources.get((a, b), Intergreen.Source.DEFAULT),
                )
                for (a, b), seconds in model.intergreen.items()
            )
            # detectors stay with their readings and gaps (an engineer may have placed and
            # named them); one on a lane the network no longer has goes only if it never
            # reported; each lane without a detector gets a queue area
            lanes = sorted({lane for g in model.groups for lane in g.lanes})
            for gone in intersection.detectors.exclude(lane__in=lanes):
                if not (gone.readings.exists() or gone.gaps.exists()):
                    gone.delete()
            covered = set(intersection.detectors.values_list("lane", flat=True))
            names = set(intersection.detectors.values_list("name", flat=True))
            Detector.objects.bulk_create(
                Detector(
                    municipality=municipality,
                    intersection=intersection,
                    name=lane[:100],
                    lane=lane,
                    position=0.0,
                    kind=Detector.Kind.AREA,
                )
                for lane in lanes
                if lane not in covered and lane[:100] not in names
            )
            imported.append(intersection)
        audit_record(
            municipality=municipality,
            action="traffic.network.imported",
            actor=actor,
            data={"network": network[:200], "intersections": len(imported)},
        )
    return imported


def phase_update(
    *,
    phase: Phase,
    greens: Iterable[int],
    min_green: float,
    max_green: float,
    actor: Any = None,
) -> Phase:
    """Change a phase's greens and limits; refused if any two greens conflict."""
    with transaction.atomic():
        locked = Intersection.objects.select_for_update().get(pk=phase.intersection_id)
        phase = Phase.objects.select_for_update().get(pk=phase.pk)
        phase.greens = sorted({int(g) for g in greens})
        phase.min_green = float(min_green)
        phase.max_green = float(max_green)
        phase.save()
        _checked(locked)
        audit_record(
            municipality=locked.municipality,
            action="traffic.phase.updated",
            actor=actor,
            target=phase,
            data={"greens": phase.greens, "min_green": min_green, "max_green": max_green},
        )
    return phase


def intergreen_set(
    *, intersection: Intersection, clearing: int, entering: int, seconds: float, actor: Any = None
) -> Intergreen:
    """Set the intergreen time of a conflicting pair (both directions must exist)."""
    with transaction.atomic():
        locked = Intersection.objects.select_for_update().get(pk=intersection.pk)
        groups = {g.index: g for g in locked.groups.all()}
        if clearing not in groups or entering not in groups or clearing == entering:
            raise ValidationFailed(_("Unknown signal group."), code="unknown_group")
        row, _created = Intergreen.objects.update_or_create(
            clearing=groups[clearing],
            entering=groups[entering],
            defaults={
                "municipality": locked.municipality,
                "intersection": locked,
                "seconds": float(seconds),
                "source": Intergreen.Source.MANUAL,
            },
        )
        if not Intergreen.objects.filter(
            clearing=groups[entering], entering=groups[clearing]
        ).exists():
            # the counterpart a new conflict needs, derived, not set: it is to be reviewed
            Intergreen.objects.create(
                municipality=locked.municipality,
                intersection=locked,
                clearing=groups[entering],
                entering=groups[clearing],
                seconds=max(float(seconds), groups[entering].yellow),
                source=Intergreen.Source.DEFAULT,
            )
        _checked(locked)
        audit_record(
            municipality=locked.municipality,
            action="traffic.intergreen.set",
            actor=actor,
            target=row,
            data={"clearing": clearing, "entering": entering, "seconds": float(seconds)},
        )
    return row


def _checked(locked: Intersection) -> None:
    """Roll the change back and refuse it if the intersection's model no longer holds
    (conflicting greens, an intergreen shorter than a yellow, ...)."""
    try:
        intersection_model(intersection=locked)
    except cm.ModelError as error:
        transaction.set_rollback(True)
        raise _model_error(error) from error


def _change(
    row: Any,
    values: dict[str, Any],
    *,
    action: str,
    actor: Any,
    check: Intersection | None = None,
) -> None:
    """Set ``values`` on ``row`` (locked by the caller) and save them; with ``check``,
    refuse the change if that intersection's model no longer holds; audited with what
    was there before."""
    before = {name: getattr(row, name) for name in values}
    for name, value in values.items():
        setattr(row, name, value)
    row.save(update_fields=[*values, "updated_at"])
    if check is not None:
        _checked(check)
    audit_record(
        municipality=row.municipality,
        action=action,
        actor=actor,
        target=row,
        data={"before": before, **values},
    )


def intersection_update(
    *, intersection: Intersection, name: str, cycle_min: int, cycle_max: int, actor: Any = None
) -> Intersection:
    """Rename the intersection and set the cycle limits Webster's method keeps to."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed(
            _("A name of 1 to 200 characters."), fields={"name": [_("Invalid name.")]}
        )
    if not (MIN_CYCLE <= cycle_min <= cycle_max <= MAX_CYCLE):
        message = _(
            "The cycle limits must lie between %(low)s and %(high)s s, the minimum not above "
            "the maximum."
        ) % {"low": MIN_CYCLE, "high": MAX_CYCLE}
        raise ValidationFailed(message, code="invalid_cycle", fields={"cycle_max": [message]})
    with transaction.atomic():
        locked = Intersection.objects.select_for_update().get(pk=intersection.pk)
        _change(
            locked,
            {"name": name, "cycle_min": cycle_min, "cycle_max": cycle_max},
            action="traffic.intersection.updated",
            actor=actor,
        )
    return locked


def signal_group_update(
    *,
    group: SignalGroup,
    kind: str,
    yellow: float,
    min_green: float,
    actor: Any = None,
) -> SignalGroup:
    """Set a signal group's kind, yellow and minimum green (for pedestrians their minimum
    time); refused if an intergreen from it becomes shorter than its yellow or the
    intersection's model fails otherwise."""
    if kind not in SignalGroup.Kind.values:
        raise ValidationFailed(_("Unknown kind."), fields={"kind": [_("Unknown kind.")]})
    for field_name, value, high in (("yellow", yellow, 10.0), ("min_green", min_green, 120.0)):
        if not (math.isfinite(value) and 0.0 <= value <= high):
            message = _("Between 0 and %(high)s s.") % {"high": high}
            raise ValidationFailed(message, fields={field_name: [message]})
    with transaction.atomic():
        locked = Intersection.objects.select_for_update().get(pk=group.intersection_id)
        group = SignalGroup.objects.select_for_update().get(pk=group.pk)
        _change(
            group,
            {"kind": kind, "yellow": float(yellow), "min_green": float(min_green)},
            action="traffic.group.updated",
            actor=actor,
            check=locked,
        )
    return group


def _detector_checked(
    *, intersection: Intersection, name: str, lane: str, position: float, kind: str, interval: int
) -> dict[str, Any]:
    """The detector's fields checked, as the model's fields (the name stripped); lanes
    the intersection does not control are refused."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed(
            _("A name of 1 to 100 characters."), fields={"name": [_("Invalid name.")]}
        )
    lanes = {lane for g in intersection.groups.all() for lane in (g.lanes or [])}
    if lane not in lanes:
        raise ValidationFailed(
            _("The intersection has no lane %(lane)s.") % {"lane": lane[:200]},
            code="unknown_lane",
            fields={"lane": [_("Unknown lane.")]},
        )
    if not (math.isfinite(position) and 0 <= position <= 1000):
        message = _("The position must lie between 0 and 1000 m.")
        raise ValidationFailed(message, code="invalid", fields={"position": [message]})
    if kind not in Detector.Kind.values:
        raise ValidationFailed(
            _("Unknown detector kind."), code="invalid", fields={"kind": [_("Unknown kind.")]}
        )
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        message = _("The reporting interval must lie between %(low)s and %(high)s s.") % {
            "low": MIN_INTERVAL,
            "high": MAX_INTERVAL,
        }
        raise ValidationFailed(message, code="invalid", fields={"interval_seconds": [message]})
    return {
        "name": name,
        "lane": lane,
        "position": position,
        "kind": kind,
        "interval_seconds": interval,
    }


def detector_create(
    *,
    intersection: Intersection,
    name: str,
    lane: str,
    position: float,
    kind: str,
    interval_seconds: int = 60,
    actor: Any = None,
) -> Detector:
    """Add a detector on a lane of the intersection (lanes it does not control are refused)."""
    values = _detector_checked(
        intersection=intersection,
        name=name,
        lane=lane,
        position=position,
        kind=kind,
        interval=interval_seconds,
    )
    try:
        with transaction.atomic():
            detector = Detector.objects.create(
                municipality=intersection.municipality, intersection=intersection, **values
            )
            audit_record(
                municipality=intersection.municipality,
                action="traffic.detector.created",
                actor=actor,
                target=detector,
                data=values,
            )
            return detector
    except IntegrityError as error:
        raise _duplicate_detector() from error


def _duplicate_detector() -> Conflict:
    message = _("A detector with this name exists.")
    return Conflict(message, code="duplicate", fields={"name": [message]})


def detector_update(
    *,
    detector: Detector,
    name: str,
    lane: str,
    position: float,
    kind: str,
    interval_seconds: int,
    actor: Any = None,
) -> Detector:
    """Change a detector: where it lies, what it is, how often it reports. Its readings
    stay; a later data gap is judged by the new interval."""
    values = _detector_checked(
        intersection=detector.intersection,
        name=name,
        lane=lane,
        position=position,
        kind=kind,
        interval=interval_seconds,
    )
    try:
        with transaction.atomic():
            locked = Detector.objects.select_for_update().get(pk=detector.pk)
            _change(locked, values, action="traffic.detector.updated", actor=actor)
            return locked
    except IntegrityError as error:
        raise _duplicate_detector() from error


def detector_delete(*, detector: Detector, actor: Any = None) -> None:
    """Remove a detector that never reported; one with readings keeps its history (it
    can be moved or renamed instead)."""
    with transaction.atomic():
        locked = Detector.objects.select_for_update().get(pk=detector.pk)
        if locked.readings.exists() or locked.gaps.exists():
            raise Conflict(
                _(
                    "%(detector)s has reported data, which stays: change the detector "
                    "instead of removing it."
                )
                % {"detector": locked.name},
                code="has_readings",
            )
        audit_record(
            municipality=locked.municipality,
            action="traffic.detector.deleted",
            actor=actor,
            target=locked,
            data={"name": locked.name, "lane": locked.lane},
        )
        locked.delete()


# -- plans ------------------------------------------------------------------------------


def plan_compute(
    *,
    intersection: Intersection,
    name: str,
    starts_at: time,
    ends_at: time,
    flows: Mapping[int, float],
    saturation: float = 1800.0,
    offset: float = 0.0,
    days: Iterable[str] = DAY_TYPES,
    actor: Any = None,
) -> SignalPlan:
    """A new draft version of plan ``name`` by Webster's method from counted flows
    (phase order -> vehicles per hour on its critical movement); ``offset``: when its
    cycle begins after the common reference time (for a green wave with neighbours);
    ``days``: the day types on which its window holds (weekdays ``"mo"`` to ``"su"``,
    ``"ph"`` for public holidays), every day by default."""
    try:
        chosen = day_types(days)
    except cm.ModelError:
        message = _("Choose the days on which the plan holds.")
        raise ValidationFailed(message, code="invalid_days", fields={"days": [message]}) from None
    try:
        model = intersection_model(intersection=intersection)
    except cm.ModelError as error:
        raise _model_error(error) from error
    phases = list(intersection.phases.order_by("order"))
    missing = [p.order for p in phases if p.order not in flows]
    if missing:
        raise ValidationFailed(_("A flow is needed for every phase."), code="missing_flow")
    webster_phases = []
    for i, p in enumerate(phases):
        nxt = model.phases[(i + 1) % len(phases)]
        inter = [
            s
            for (a, b), s in model.intergreen.items()
            if a in model.phases[i].greens and b in nxt.greens
        ]
        webster_phases.append(
            WebsterPhase(
                flow=float(flows[p.order]),
                saturation=saturation,
                intergreen=max(inter, default=max((g.yellow for g in model.groups), default=3.0)),
                min_green=model.phase_min_green(i),
            )
        )
    try:
        result = webster(
            webster_phases, cycle_min=intersection.cycle_min, cycle_max=intersection.cycle_max
        )
    except cm.ModelError as error:
        raise ValidationFailed(str(error), code="invalid_flows") from error
    if not (math.isfinite(offset) and 0 <= offset < result.cycle):
        message = _("The offset must lie within the cycle (0 to %(cycle)s s).") % {
            "cycle": result.cycle
        }
        raise ValidationFailed(message, code="invalid_offset", fields={"offset": [message]})
    with transaction.atomic():
        Intersection.objects.select_for_update().get(pk=intersection.pk)
        latest = (
            SignalPlan.objects.filter(intersection=intersection, name=name).aggregate(
                Max("version")
            )["version__max"]
            or 0
        )
        plan = SignalPlan.objects.create(
            municipality=intersection.municipality,
            intersection=intersection,
            name=name,
            version=latest + 1,
            starts_at=starts_at,
            ends_at=ends_at,
            days=[d for d in DAY_TYPES if d in chosen],
            cycle=result.cycle,
            offset=offset,
            # each green with the intergreen after it, as the method counted it, so that
            # the plan can be run on its cycle clock with its greens where it has them
            greens=[
                {"phase": p.order, "green": g, "intergreen": w.intergreen}
                for p, g, w in zip(phases, result.greens, webster_phases, strict=True)
            ],
            flows={str(k): float(v) for k, v in flows.items()},
            created_by=actor,
        )
        audit_record(
            municipality=intersection.municipality,
            action="traffic.plan.computed",
            actor=actor,
            target=plan,
            data={"cycle": result.cycle, "oversaturated": result.oversaturated},
        )
    return plan


def plan_approve(*, plan: SignalPlan, actor: Any) -> SignalPlan:
    """Approve a draft: it becomes the active version of its name, the previous active
    version retires. The author may not approve their own plan (four-eyes principle)."""
    with transaction.atomic():
        # approvals of one intersection queue up, so exactly one version ends up active
        Intersection.objects.select_for_update().get(pk=plan.intersection_id)
        plan = SignalPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != SignalPlan.Status.DRAFT:
            raise Conflict(_("Only a draft can be approved."), code="not_draft")
        if plan.created_by_id is not None and plan.created_by_id == getattr(actor, "pk", None):
            raise PermissionDenied(
                _("A plan must be approved by someone other than its author."), code="four_eyes"
            )
        # one plan in force at a time: the other plans of the timetable must leave the
        # window free (the plan's own earlier version retires)
        for other in SignalPlan.objects.filter(
            intersection_id=plan.intersection_id, status=SignalPlan.Status.ACTIVE
        ).exclude(name=plan.name):
            if overlap(plan.window(), other.window()):
                raise Conflict(
                    _(
                        "%(other)s is in force at the same time (%(days)s, %(window)s); "
                        "retire it or give this plan other hours or days."
                    )
                    % {"other": str(other), "days": other.day_names, "window": other.hours},
                    code="overlapping_plan",
                )
        SignalPlan.objects.select_for_update().filter(
            intersection_id=plan.intersection_id, name=plan.name, status=SignalPlan.Status.ACTIVE
        ).update(status=SignalPlan.Status.RETIRED)
        plan.status = SignalPlan.Status.ACTIVE
        plan.approved_by = actor
        plan.approved_at = timezone.now()
        plan.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
        audit_record(
            municipality=plan.municipality,
            action="traffic.plan.approved",
            actor=actor,
            target=plan,
            data={"version": plan.version},
        )
    return plan


def plan_retire(*, plan: SignalPlan, actor: Any) -> SignalPlan:
    """Take an active plan out of the timetable: in its window the intersection runs its
    base program again (or a plan approved for that window later)."""
    with transaction.atomic():
        Intersection.objects.select_for_update().get(pk=plan.intersection_id)
        plan = SignalPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != SignalPlan.Status.ACTIVE:
            raise Conflict(_("Only an active plan can be retired."), code="not_active")
        plan.status = SignalPlan.Status.RETIRED
        plan.save(update_fields=["status", "updated_at"])
        audit_record(
            municipality=plan.municipality,
            action="traffic.plan.retired",
            actor=actor,
            target=plan,
            data={"version": plan.version},
        )
    return plan


# -- detector data ----------------------------------------------------------------------


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    gaps: list[dict[str, Any]] = field(default_factory=list)


def readings_ingest(
    *,
    municipality: Municipality,
    readings: list[Mapping[str, Any]],
    source: str = "http",
    now: datetime | None = None,
) -> IngestResult:
    """Store detector readings (``detector`` id, ``measured_at``, ``count``, ``occupancy``).

    The batch is checked first and stored only if every reading is valid: known detector
    of this municipality, count not negative and not more than one vehicle per second of
    the interval, occupancy between 0 and 1, no future and no stale timestamps.
    Duplicates (same detector and time) are skipped and counted. A silence longer than
    twice the detector's interval is recorded as a gap. The latest values show in the
    intersection's live state.
    """
    now = now or timezone.now()
    if not readings:
        raise ValidationFailed(_("No readings."), code="empty")
    if len(readings) > MAX_BATCH:
        raise ValidationFailed(_("Too many readings in one batch."), code="too_large")
    ids = {r.get("detector") for r in readings}
    detectors = {
        d.pk: d
        for d in Detector.objects.filter(
            municipality=municipality, pk__in=[i for i in ids if isinstance(i, int)]
        )
    }
    errors: dict[str, list[str]] = {}
    for i, r in enumerate(readings):
        problems = []
        detector = detectors.get(r.get("detector"))  # type: ignore[arg-type]
        if detector is None:
            problems.append(_("Unknown detector."))
        count = r.get("count")
        occupancy = r.get("occupancy")
        measured = r.get("measured_at")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            problems.append(_("The count must be a whole number, not negative."))
        elif detector is not None and count > max(detector.interval_seconds, 1):
            problems.append(_("The count is implausibly high for the interval."))
        if (
            not isinstance(occupancy, int | float)
            or isinstance(occupancy, bool)
            or not 0.0 <= float(occupancy) <= 1.0
        ):
            problems.append(_("The occupancy must lie between 0 and 1."))
        if not isinstance(measured, datetime) or measured.tzinfo is None:
            problems.append(_("The time must be an ISO 8601 time with a time zone."))
        elif measured > now + FUTURE_TOLERANCE:
            problems.append(_("The time lies in the future."))
        elif measured < now - STALE_AFTER:
            problems.append(_("The reading is stale."))
        if problems:
            errors[f"readings.{i}"] = problems
    if errors:
        raise ValidationFailed(_("Some readings are invalid; none was stored."), fields=errors)
    result = IngestResult()
    latest: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    with transaction.atomic():
        locked = {
            d.pk: d
            for d in Detector.objects.select_for_update()
            .filter(pk__in=list(detectors))
            .order_by("pk")
        }
        for r in sorted(readings, key=lambda x: x["measured_at"]):
            detector = locked[r["detector"]]
            measured = r["measured_at"]
            if DetectorReading.objects.filter(detector=detector, measured_at=measured).exists():
                result.duplicates += 1
                continue
            previous = (
                DetectorReading.objects.filter(detector=detector, measured_at__lt=measured)
                .order_by("-measured_at")
                .values_list("measured_at", flat=True)
                .first()
            )
            limit = timedelta(seconds=2 * detector.interval_seconds)
            if previous is not None and measured - previous > limit:
                DataGap.objects.create(
                    municipality=municipality,
                    detector=detector,
                    starts_at=previous,
                    ends_at=measured,
                )
                result.gaps.append(
                    {
                        "detector": detector.pk,
                        "starts_at": previous.isoformat(),
                        "ends_at": measured.isoformat(),
                    }
                )
            DetectorReading.objects.create(
                municipality=municipality,
                detector=detector,
                measured_at=measured,
                count=r["count"],
                occupancy=float(r["occupancy"]),
                source=source,
            )
            if detector.last_seen is None or measured > detector.last_seen:
                detector.last_seen = measured
                detector.save(update_fields=["last_seen", "updated_at"])
                latest[detector.intersection_id][detector.name] = {
                    "count": r["count"],
                    "occupancy": float(r["occupancy"]),
                    "at": measured.isoformat(),
                }
            result.accepted += 1
        # live input shows on the traffic view next to (or instead of) the digital twin
        for intersection in Intersection.objects.select_for_update().filter(pk__in=list(latest)):
            state = dict(intersection.live_state or {})
            shown: dict[str, Any] = dict(state.get("detectors") or {})
            shown.update(latest[intersection.pk])
            state["detectors"] = shown
            intersection.live_state = state
            intersection.live_at = now
            intersection.save(update_fields=["live_state", "live_at", "updated_at"])
    return result


# -- priority ---------------------------------------------------------------------------


def priority_request_receive(
    *,
    municipality: Municipality,
    intersection_id: int,
    kind: str,
    vehicle: str,
    group: int,
    source: str = "http",
) -> PriorityRequest:
    """Record a bus or emergency priority request for a signal group of an intersection."""
    intersection = Intersection.objects.filter(
        municipality=municipality, pk=intersection_id
    ).first()
    if intersection is None:
        raise NotFound(_("Unknown intersection."), code="unknown_intersection")
    if kind not in PriorityRequest.Kind.values:
        raise ValidationFailed(_("Unknown priority kind."), fields={"kind": [_("Unknown kind.")]})
    signal_group = intersection.groups.filter(index=group).first()
    if signal_group is None:
        raise ValidationFailed(
            _("Unknown signal group."), fields={"group": [_("Unknown signal group.")]}
        )
    if not any(group in (p.greens or []) for p in intersection.phases.all()):
        raise ValidationFailed(
            _("This signal group is never green."), fields={"group": [_("Never green.")]}
        )
    if not vehicle or len(vehicle) > 64:
        raise ValidationFailed(_("Invalid vehicle."), fields={"vehicle": [_("Invalid vehicle.")]})
    return PriorityRequest.objects.create(
        municipality=municipality,
        intersection=intersection,
        kind=kind,
        vehicle=vehicle,
        group=signal_group,
        source=source,
        received_at=timezone.now(),
    )


# -- simulation runs --------------------------------------------------------------------


def simulation_run_start(
    *,
    municipality: Municipality,
    scenario: str,
    controllers: list[str],
    seconds: int,
    plans: Iterable[int] = (),
    day: date | None = None,
    configured: bool = False,
    actor: Any = None,
) -> SimulationRun:
    """Queue a simulation run (executed by the background task ``traffic_simulation_run``).

    ``plans``: ids of the municipality's signal plans (drafts included, to try them before
    approval) that the fixed-time controller runs instead of the network's own programs,
    each in its window of the day (the scenario's clock is the time of day) on its day
    types; ``day`` is the date the clock runs on (today by default), whose weekday or
    public holiday decides which plans hold. Each intersection must be a traffic light of
    the scenario's network with the same signal groups, and its plans must cover the
    simulated time without overlapping.

    ``configured``: the own controllers run the scenario's traffic lights that are
    intersections of the back office with their configuration there (phases,
    intergreens, minimum greens as reviewed) instead of the network file's; SUMO's
    programs know only the network."""
    from rathaus.traffic import selectors
    from rathaus.traffic.sim.harness import ALL_CONTROLLERS, OWN_CONTROLLERS
    from rathaus.traffic.sim.scenario import ScenarioError, scenario_load

    if scenario not in selectors.scenario_names():
        raise ValidationFailed(
            _("Unknown scenario."), fields={"scenario": [_("Unknown scenario.")]}
        )
    if not controllers or any(c not in ALL_CONTROLLERS for c in controllers):
        raise ValidationFailed(
            _("Unknown controller."), fields={"controllers": [_("Unknown controller.")]}
        )
    if not 60 <= seconds <= MAX_SIM_SECONDS:
        raise ValidationFailed(
            _("Between 60 and 3600 simulated seconds."), fields={"seconds": [_("Out of range.")]}
        )
    plan_ids = list(dict.fromkeys(plans))
    snapshot: list[dict[str, Any]] = []
    configurations: dict[str, dict[str, Any]] = {}
    simulated_on = None
    # SUMO's programs know only the network: a configuration is for the own controllers
    configured = configured and any(c in OWN_CONTROLLERS for c in controllers)
    if plan_ids and "fixed" not in controllers:
        _refuse_plans(_("Signal plans run with the fixed-time controller: choose it too."))
    if plan_ids or configured:
        try:
            loaded = scenario_load(selectors.scenario_folder(scenario))
            info = net_read(loaded.net)
        except (cm.ModelError, ScenarioError) as error:
            raise ValidationFailed(str(error), code="invalid_scenario") from error
    if plan_ids:
        today = timezone.localdate()
        simulated_on = day or today
        if abs((simulated_on - today).days) > MAX_SIM_DAYS_AWAY:
            message = _("The simulated day must lie within ten years of today.")
            raise ValidationFailed(message, code="invalid_day", fields={"day": [message]})
        end = min(loaded.end, loaded.begin + seconds)
        snapshot = _plans_snapshot(
            municipality=municipality,
            plan_ids=plan_ids,
            info=info,
            begin=loaded.begin,
            end=end,
            calendar=plan_calendar(municipality=municipality, first=simulated_on, end=end),
        )
    if configured:
        configurations = _configurations_snapshot(
            municipality=municipality,
            info=info,
            fixed_plans={p["intersection"] for p in snapshot} if "fixed" in controllers else None,
        )
    with transaction.atomic():
        run = SimulationRun.objects.create(
            municipality=municipality,
            scenario=scenario,
            controllers=list(dict.fromkeys(controllers)),
            seconds=seconds,
            plans=snapshot,
            simulated_on=simulated_on,
            configurations=configurations,
            created_by=actor,
        )
        audit_record(
            municipality=municipality,
            action="traffic.simulation.started",
            actor=actor,
            target=run,
            data={
                "scenario": scenario,
                "controllers": run.controllers,
                "plans": [p["plan"] for p in snapshot],
                "simulated_on": simulated_on.isoformat() if simulated_on else None,
                "configured": sorted(configurations),
            },
        )

        def enqueue() -> None:
            from rathaus.traffic.tasks import traffic_simulation_run

            traffic_simulation_run.enqueue(run.pk)

        transaction.on_commit(enqueue)
    return run


def _refuse_plans(message: str) -> NoReturn:
    raise ValidationFailed(message, code="invalid_plans", fields={"plans": [message]})


def _refuse_configuration(message: str) -> NoReturn:
    raise ValidationFailed(message, code="invalid_configuration", fields={"configured": [message]})


def _configurations_snapshot(
    *, municipality: Municipality, info: NetInfo, fixed_plans: set[str] | None
) -> dict[str, dict[str, Any]]:
    """The back office's configuration of each traffic light of the scenario that is an
    intersection of the municipality (by its SUMO id, unique per municipality), checked
    against the network: the same signal groups on the same lanes, a model that holds,
    and, for the fixed-time controller (``fixed_plans``: the traffic lights it runs a
    chosen plan on, ``None`` when it does not run), the network's phases where it runs
    the network's program."""
    from rathaus.traffic.sim.harness import configured, same_phases

    found: dict[str, dict[str, Any]] = {}
    for row in Intersection.objects.filter(
        municipality=municipality, sumo_id__in=list(info.intersections)
    ).order_by("sumo_id"):
        tid = row.sumo_id
        try:
            model = configured(info.intersections[tid], intersection_model(intersection=row))
        except ValueError as error:  # ModelError included
            _refuse_configuration(f"{row.name}: {error}")
        if (
            fixed_plans is not None
            and tid not in fixed_plans
            and not same_phases(info.intersections[tid], model)
        ):
            _refuse_configuration(
                _(
                    "%(name)s has other phases than the network's program, which the "
                    "fixed-time controller would run: choose one of its plans."
                )
                % {"name": row.name}
            )
        found[tid] = {"label": row.name, "model": cm.intersection_as_data(model)}
    return found


def run_configurations(run: SimulationRun) -> dict[str, cm.Intersection]:
    """The back office's configurations the run's own controllers run with."""
    return {
        tid: cm.intersection_from_data(entry["model"])
        for tid, entry in (run.configurations or {}).items()
    }


def plan_calendar(*, municipality: Municipality, first: date, end: float) -> Calendar:
    """The calendar of a clock that starts at midnight of ``first`` and runs until ``end``
    seconds later: its dates and the public holidays of the municipality's state among
    them."""
    dates = [first + timedelta(days=k) for k in range(math.floor(max(end, 0.0) / DAY) + 1)]
    return Calendar(
        first, frozenset(d for d in dates if public_holiday(municipality.state, d) is not None)
    )


def _plans_snapshot(
    *,
    municipality: Municipality,
    plan_ids: list[int],
    info: NetInfo,
    begin: float,
    end: float,
    calendar: Calendar,
) -> list[dict[str, Any]]:
    """Each plan as the fixed-time controller runs it, with its intersection's
    configuration (phases, intergreens and minimum greens as reviewed and edited in the
    back office), which must release the same lanes as the scenario network's traffic
    light of the same SUMO id: the plan's phases by their index in that configuration,
    each green's start second (after the green before and the intergreen the plan
    counted, or the configuration's where that is longer), its cycle, its offset and its
    window of the day.

    The simulated time runs from ``begin`` to ``end`` (seconds after midnight, as the
    scenario's clock) on the dates of ``calendar``. Each plan must be in force in some of
    it, and the plans of one intersection must cover all of it, one at a time: the base
    program the network has for the other times belongs to the network's phases, not to
    the configuration."""
    from rathaus.traffic.sim.harness import configured

    found = {
        p.pk: p
        for p in SignalPlan.objects.filter(
            municipality=municipality, pk__in=plan_ids
        ).select_related("intersection")
    }
    if len(found) != len(plan_ids):
        # another municipality's plan is as unknown as one that does not exist
        _refuse_plans(_("Unknown signal plan."))
    snapshot: list[dict[str, Any]] = []
    simulated = _("%(hours)s on %(date)s") % {
        "hours": f"{clock(begin % DAY)}\N{EN DASH}{clock(end % DAY or DAY)}",
        "date": (
            f"{date_format(calendar.date(begin), 'l')}, "
            f"{date_format(calendar.date(begin), 'SHORT_DATE_FORMAT')}"
        ),
    }
    timetables: dict[str, tuple[str, list[tuple[str, TimedPlan]]]] = {}
    for pk in plan_ids:
        plan = found[pk]
        label = f"{plan.intersection.name}: {plan.name} v{plan.version}"
        tid = plan.intersection.sumo_id
        timed = plan.window()
        if not covered([timed], begin, end, calendar):
            _refuse_plans(
                _(
                    "%(plan)s (%(days)s, %(window)s) is not in force in the simulated time "
                    "(%(time)s)."
                )
                % {"plan": label, "days": plan.day_names, "window": plan.hours, "time": simulated}
            )
        chosen = timetables.setdefault(tid, (plan.intersection.name, []))[1]
        for other_label, other in chosen:
            if overlap(timed, other):
                _refuse_plans(
                    _("%(plan)s and %(other)s are in force at the same time.")
                    % {"plan": label, "other": other_label}
                )
        chosen.append((label, timed))
        network = info.intersections.get(tid)
        if network is None:
            _refuse_plans(
                _("%(plan)s: the intersection is not a traffic light of this scenario.")
                % {"plan": label}
            )
        try:
            model = configured(network, intersection_model(intersection=plan.intersection))
        except ValueError as error:  # ModelError included
            _refuse_plans(f"{label}: {error}")
        orders = list(plan.intersection.phases.order_by("order").values_list("order", flat=True))
        entries: list[tuple[int, float]] = []
        for item in plan.greens:
            if item["phase"] not in orders:
                _refuse_plans(
                    _("%(plan)s: phase %(phase)s no longer exists.")
                    % {"plan": label, "phase": item["phase"]}
                )
            entries.append((orders.index(item["phase"]), float(item["green"])))
        if not entries:
            _refuse_plans(_("%(plan)s: the plan has no greens.") % {"plan": label})
        # each green after the one before and the intergreen the plan counted (the
        # configuration's where it needs longer, or where an older plan did not record it)
        starts, second = [], 0.0
        for k, ((phase, green), item) in enumerate(zip(entries, plan.greens, strict=True)):
            starts.append(second)
            needed = model.switch_time(phase, entries[(k + 1) % len(entries)][0])
            second += green + max(needed, float(item.get("intergreen") or 0.0))
        cycle = max(plan.cycle, second)
        try:
            FixedPlan(tuple(entries), plan.offset, tuple(starts), cycle)
        except cm.ModelError as error:
            _refuse_plans(f"{label}: {error}")
        snapshot.append(
            {
                "plan": plan.pk,
                "intersection": tid,
                "label": label,
                "greens": [list(e) for e in entries],
                "starts": starts,
                "cycle": cycle,
                "offset": plan.offset,
                "window": list(plan.window_seconds),
                "days": sorted(timed.days, key=DAY_TYPES.index),
                # as shown on the run's page, in no language in particular
                "hours": timed.window(),
                "model": cm.intersection_as_data(model),
            }
        )
    for name, chosen in timetables.values():
        plans = [timed for _, timed in chosen]
        second = math.floor(begin)
        while second < end:
            if not any(p.covers(second, calendar) for p in plans):
                _refuse_plans(
                    _(
                        "%(intersection)s: no chosen plan is in force at %(moment)s; choose "
                        "plans that cover the simulated time (%(time)s)."
                    )
                    % {
                        "intersection": name,
                        "moment": clock(second % DAY),
                        "time": simulated,
                    }
                )
            second += 1
    return snapshot


def run_plans(
    run: SimulationRun,
) -> tuple[dict[str, FixedPlan | tuple[TimedPlan, ...]], dict[str, cm.Intersection]]:
    """The plans of ``run``'s snapshot as the fixed-time controller takes them (by time
    of day; a run recorded before plans had windows runs its one plan throughout), and
    the intersections' configurations they run with."""
    plans: dict[str, FixedPlan | tuple[TimedPlan, ...]] = {}
    for p in run.plans or []:
        fixed = FixedPlan(
            tuple((int(i), float(g)) for i, g in p["greens"]),
            float(p["offset"]),
            tuple(float(t) for t in p["starts"]),
            float(p["cycle"]),
        )
        tid = p["intersection"]
        if "window" not in p:
            plans[tid] = fixed
            continue
        starts, ends = (float(t) for t in p["window"])
        # a run recorded before plans had day types ran them every day
        days = frozenset(p.get("days") or DAY_TYPES)
        timed = TimedPlan(starts, ends, fixed, str(p.get("label", "")), days)
        earlier = plans.get(tid, ())
        plans[tid] = (*earlier, timed) if isinstance(earlier, tuple) else (timed,)
    models = {
        p["intersection"]: cm.intersection_from_data(p["model"])
        for p in run.plans or []
        if "model" in p
    }
    return plans, models


def run_calendar(run: SimulationRun) -> Calendar | None:
    """The dates the run's clock runs on (``None`` for a run without a simulated day:
    without plans, or recorded before plans had day types)."""
    if run.simulated_on is None:
        return None
    return plan_calendar(
        municipality=run.municipality, first=run.simulated_on, end=float(DAY + run.seconds)
    )


def _models_for(
    controller: str,
    configs: dict[str, cm.Intersection],
    plan_models: dict[str, cm.Intersection],
) -> dict[str, cm.Intersection] | None:
    """The intersections ``controller`` runs in place of the network file's: the back
    office's configurations for the own controllers (SUMO's programs know only the
    network), and for the fixed-time controller also those its plans run on."""
    from rathaus.traffic.sim.harness import OWN_CONTROLLERS

    if controller not in OWN_CONTROLLERS:
        return None
    models = {**configs, **(plan_models if controller == "fixed" else {})}
    return models or None


def simulation_run_execute(*, run_id: int) -> SimulationRun:
    """Run a queued simulation: each controller in turn, saving progress, feeding the
    digital twin (current states of intersections with the same SUMO ids), storing the
    results and their chart."""
    from django.conf import settings

    from rathaus.traffic import selectors
    from rathaus.traffic.sim.chart import results_chart
    from rathaus.traffic.sim.evaluate import simulate_isolated
    from rathaus.traffic.sim.harness import OWN_CONTROLLERS
    from rathaus.traffic.sim.scenario import scenario_load

    with transaction.atomic():
        run = SimulationRun.objects.select_for_update().get(pk=run_id)
        if run.status != SimulationRun.Status.QUEUED:
            return run
        run.status = SimulationRun.Status.RUNNING
        run.save(update_fields=["status", "updated_at"])
    twins = {
        i.sumo_id: i.pk for i in Intersection.objects.filter(municipality_id=run.municipality_id)
    }
    results: list[dict[str, Any]] = []
    count = len(run.controllers)
    try:
        scenario = scenario_load(selectors.scenario_folder(run.scenario))
        plans, plan_models = run_plans(run)
        calendar = run_calendar(run)
        configs = run_configurations(run)
        cache = Path(settings.VAR_DIR) / "traffic"
        for k, controller in enumerate(run.controllers):
            last = {"share": 0.0}

            def progress(share: float, k: int = k, last: dict[str, float] = last) -> None:
                if share - last["share"] >= 0.05 or share >= 1.0:
                    last["share"] = share
                    SimulationRun.objects.filter(pk=run.pk).update(
                        progress=round((k + share) / count, 3)
                    )

            def twin(
                now: float,
                states: dict[str, str],
                readings: Mapping[str, Any],
                controller: str = controller,
            ) -> None:
                if not twins:
                    return
                stamp = timezone.now()
                for tid, state in states.items():
                    pk = twins.get(tid)
                    if pk is None:
                        continue
                    Intersection.objects.filter(pk=pk).update(
                        live_state={
                            "source": "twin",
                            "run": run.pk,
                            "controller": controller,
                            "time": now,
                            "state": state,
                            "queues": {lane: r.queue for lane, r in readings.items() if r.queue},
                        },
                        live_at=stamp,
                    )

            # a process of its own per run: libsumo's static state would otherwise make
            # a run's figures depend on what this worker simulated before
            result = simulate_isolated(
                scenario,
                controller,
                cache_dir=cache,
                seconds=run.seconds,
                progress=progress,
                on_step=twin,
                step_every=10.0,
                plans=plans if controller == "fixed" else None,
                models=_models_for(controller, configs, plan_models),
                calendar=calendar if controller == "fixed" else None,
            )
            row = result.as_dict()
            if plans and controller == "fixed":
                row["plans"] = [p["label"] for p in run.plans]
            if configs and controller in OWN_CONTROLLERS:
                row["configured"] = [e["label"] for e in run.configurations.values()]
            results.append(row)
        chart = results_chart(results, title=_("Mean delay per vehicle (s)"))
    except Exception as error:
        SimulationRun.objects.filter(pk=run.pk).update(
            status=SimulationRun.Status.FAILED,
            error=str(error)[:2000],
            finished_at=timezone.now(),
        )
        run.refresh_from_db()
        return run
    SimulationRun.objects.filter(pk=run.pk).update(
        status=SimulationRun.Status.DONE,
        progress=1.0,
        results=results,
        chart_svg=chart,
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return run
