"""Signalised intersections, their signal groups, phases, intergreen times, detectors,
signal plans (versioned, approved before going live), detector data, priority requests
and simulation runs."""

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import gettext_lazy as _

from rathaus.core.holidays import public_holiday
from rathaus.core.models import TenantModel
from rathaus.traffic.control import timetable
from rathaus.traffic.control.timetable import TimedPlan

MANAGE_PERMISSION = "traffic.manage_signals"
APPROVE_PERMISSION = "traffic.approve_plans"
SIMULATE_PERMISSION = "traffic.run_simulations"
VIEW_PERMISSION = "traffic.view_traffic"

#: The day types (Tagesarten) a plan can hold on, as the form offers them.
DAY_TYPE_CHOICES = [
    *((key, WEEKDAYS[i]) for i, key in enumerate(timetable.WEEKDAYS)),
    (timetable.HOLIDAY, _("Public holidays")),
]


def all_day_types() -> list[str]:
    """Every day type: the default of a plan (and of plans made before day types)."""
    return list(timetable.DAY_TYPES)


def days_label(days: Iterable[str]) -> str:
    """Day types as shown: "every day", "Mon-Fri", "Sat, Sun, public holidays"."""
    chosen = set(days)
    if chosen >= timetable.EVERY_DAY:
        return str(_("every day"))
    parts: list[str] = []
    run: list[int] = []
    for i in [*range(7), 7]:
        if i < 7 and timetable.WEEKDAYS[i] in chosen:
            run.append(i)
            continue
        if len(run) >= 3:
            parts.append(f"{WEEKDAYS_ABBR[run[0]]}\N{EN DASH}{WEEKDAYS_ABBR[run[-1]]}")
        else:
            parts += [str(WEEKDAYS_ABBR[k]) for k in run]
        run = []
    if timetable.HOLIDAY in chosen:
        parts.append(str(_("public holidays")))
    return ", ".join(parts)


class Intersection(TenantModel):
    """A signalised intersection (one traffic light controller)."""

    name = models.CharField(_("name"), max_length=200)
    #: Traffic light id in the SUMO network it was imported from (digital twin key).
    sumo_id = models.CharField(_("SUMO id"), max_length=200)
    network = models.CharField(_("network"), max_length=200, blank=True)
    x = models.FloatField(_("x"), default=0.0)
    y = models.FloatField(_("y"), default=0.0)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    cycle_min = models.PositiveIntegerField(_("minimum cycle (s)"), default=30)
    cycle_max = models.PositiveIntegerField(_("maximum cycle (s)"), default=120)
    #: Last state from the digital twin or live input: phase, state string, detectors.
    live_state = models.JSONField(default=dict, blank=True)
    live_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("intersection")
        verbose_name_plural = _("intersections")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "municipality", "sumo_id", name="traffic_intersection_unique_sumo_id"
            )
        ]
        permissions = [
            ("view_traffic", "View traffic signals"),
            ("manage_signals", "Manage traffic signals"),
            ("approve_plans", "Approve signal plans"),
            ("run_simulations", "Run traffic simulations"),
        ]

    def __str__(self) -> str:
        return self.name


class SignalGroup(TenantModel):
    class Kind(models.TextChoices):
        VEHICLE = "vehicle", _("Vehicles")
        PEDESTRIAN = "pedestrian", _("Pedestrians")
        BICYCLE = "bicycle", _("Bicycles")
        TRAM = "tram", _("Tram")

    intersection = models.ForeignKey(Intersection, on_delete=models.CASCADE, related_name="groups")
    index = models.PositiveIntegerField(_("index"))
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.VEHICLE)
    yellow = models.FloatField(_("yellow (s)"), default=3.0)
    #: The yellow the imported program showed where it was shorter than the floor the
    #: safety layer keeps (``yellow``); empty otherwise.
    program_yellow = models.FloatField(_("yellow in the program (s)"), null=True, blank=True)
    min_green = models.FloatField(_("minimum green (s)"), default=5.0)
    lanes = models.JSONField(_("lanes"), default=list, blank=True)
    out_lanes = models.JSONField(_("exit lanes"), default=list, blank=True)

    class Meta:
        verbose_name = _("signal group")
        verbose_name_plural = _("signal groups")
        ordering = ["intersection", "index"]
        constraints = [
            models.UniqueConstraint("intersection", "index", name="traffic_group_unique_index")
        ]

    def __str__(self) -> str:
        return self.name


class Phase(TenantModel):
    intersection = models.ForeignKey(Intersection, on_delete=models.CASCADE, related_name="phases")
    order = models.PositiveIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=100)
    #: Indices of the signal groups green in this phase; letters G/g per index.
    greens = models.JSONField(_("green signal groups"), default=list)
    letters = models.JSONField(default=dict, blank=True)
    min_green = models.FloatField(_("minimum green (s)"), default=5.0)
    max_green = models.FloatField(_("maximum green (s)"), default=60.0)
    #: The longest green the imported signal program shows for this phase (for the
    #: review after the import: a program green above the maximum green is cut).
    program_green = models.FloatField(_("longest green in the program (s)"), null=True, blank=True)

    @property
    def program_green_cut(self) -> bool:
        """Whether the program shows a longer green than the maximum green allows."""
        return self.program_green is not None and self.program_green > self.max_green

    class Meta:
        verbose_name = _("phase")
        verbose_name_plural = _("phases")
        ordering = ["intersection", "order"]
        constraints = [
            models.UniqueConstraint("intersection", "order", name="traffic_phase_unique_order")
        ]

    def __str__(self) -> str:
        return self.name


class Intergreen(TenantModel):
    """Minimum time from the end of ``clearing``'s green to the start of ``entering``'s."""

    class Source(models.TextChoices):
        """Where the time comes from, for the review after an import (ADR 0033)."""

        PROGRAM = "program", _("from the signal program")
        RAISED = "raised", _("raised to the yellow")
        DEFAULT = "default", _("default, to be reviewed")
        MANUAL = "manual", _("set by hand")

    intersection = models.ForeignKey(
        Intersection, on_delete=models.CASCADE, related_name="intergreens"
    )
    clearing = models.ForeignKey(SignalGroup, on_delete=models.CASCADE, related_name="+")
    entering = models.ForeignKey(SignalGroup, on_delete=models.CASCADE, related_name="+")
    seconds = models.FloatField(_("intergreen (s)"))
    #: Empty for times recorded before the source was kept.
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, blank=True)

    class Meta:
        verbose_name = _("intergreen time")
        verbose_name_plural = _("intergreen times")
        constraints = [
            models.UniqueConstraint("clearing", "entering", name="traffic_intergreen_unique_pair")
        ]


class Detector(TenantModel):
    class Kind(models.TextChoices):
        STOPLINE = "stopline", _("Stop-line loop")
        AREA = "area", _("Queue area")
        ADVANCE = "advance", _("Advance loop")

    intersection = models.ForeignKey(
        Intersection, on_delete=models.CASCADE, related_name="detectors"
    )
    name = models.CharField(_("name"), max_length=100)
    lane = models.CharField(_("traffic lane"), max_length=200)
    position = models.FloatField(_("distance to stop line (m)"), default=0.0)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.AREA)
    #: Expected reporting interval; longer silence is a data gap.
    interval_seconds = models.PositiveIntegerField(_("reporting interval (s)"), default=60)
    last_seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("detector")
        verbose_name_plural = _("detectors")
        ordering = ["intersection", "name"]
        constraints = [
            models.UniqueConstraint("intersection", "name", name="traffic_detector_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class SignalPlan(TenantModel):
    """A fixed-time plan for a time-of-day window, versioned per (intersection, name)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")

    intersection = models.ForeignKey(Intersection, on_delete=models.CASCADE, related_name="plans")
    name = models.CharField(_("name"), max_length=100)
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    starts_at = models.TimeField(_("valid from"))
    ends_at = models.TimeField(_("valid until"))
    #: The day types on which the window holds (Tagesarten): "mo" ... "su" and "ph" for
    #: public holidays of the municipality's state, which are a day type of their own.
    days = models.JSONField(_("days"), default=all_day_types)
    cycle = models.FloatField(_("cycle (s)"))
    #: When the cycle begins, in seconds after the common reference time (Versatzzeit):
    #: neighbouring plans with matching offsets form a green wave.
    offset = models.FloatField(_("offset (s)"), default=0.0)
    #: [{"phase": order, "green": seconds}] in running order.
    greens = models.JSONField(_("green times"), default=list)
    #: Counted flows per phase (vehicles per hour) the plan was computed from.
    flows = models.JSONField(_("flows"), default=dict, blank=True)
    method = models.CharField(_("method"), max_length=40, default="webster")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("signal plan")
        verbose_name_plural = _("signal plans")
        ordering = ["intersection", "name", "-version"]
        constraints = [
            models.UniqueConstraint(
                "intersection", "name", "version", name="traffic_plan_unique_version"
            ),
            models.UniqueConstraint(
                "intersection",
                "name",
                condition=models.Q(status="active"),
                name="traffic_plan_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def window_seconds(self) -> tuple[float, float]:
        """The window in which the plan is in force, in seconds after midnight (local
        time). An end not after the start runs over midnight; equal means the whole day
        (see :mod:`rathaus.traffic.control.timetable`)."""
        return tuple(  # type: ignore[return-value]
            float(t.hour * 3600 + t.minute * 60 + t.second) for t in (self.starts_at, self.ends_at)
        )

    def window(self) -> TimedPlan:
        """The plan's window for the timetable's checks (not the plan as it runs)."""
        return timetable.window(*self.window_seconds, label=str(self), days=self.days)

    @property
    def whole_day(self) -> bool:
        return self.starts_at == self.ends_at

    @property
    def hours(self) -> str:
        """The window as shown: ``06:00-22:00``, ``22:00-06:00`` or "the whole day"."""
        if self.whole_day:
            return str(_("the whole day"))
        return f"{self.starts_at:%H:%M}\N{EN DASH}{self.ends_at:%H:%M}"

    @property
    def every_day(self) -> bool:
        return set(self.days) >= timetable.EVERY_DAY

    @property
    def day_names(self) -> str:
        """The day types as shown: "every day", "Mon-Fri", "Sun, public holidays"."""
        return days_label(self.days)


class DetectorReading(TenantModel):
    detector = models.ForeignKey(Detector, on_delete=models.CASCADE, related_name="readings")
    measured_at = models.DateTimeField()
    count = models.PositiveIntegerField()
    occupancy = models.FloatField()
    source = models.CharField(max_length=10, default="http")

    class Meta:
        ordering = ["-measured_at"]
        constraints = [
            models.UniqueConstraint("detector", "measured_at", name="traffic_reading_unique_time")
        ]


class DataGap(TenantModel):
    """A period in which a detector sent nothing: reported, never filled in."""

    detector = models.ForeignKey(Detector, on_delete=models.CASCADE, related_name="gaps")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["-starts_at"]


class PriorityRequest(TenantModel):
    class Kind(models.TextChoices):
        BUS = "bus", _("Bus")
        EMERGENCY = "emergency", _("Emergency vehicle")

    intersection = models.ForeignKey(
        Intersection, on_delete=models.CASCADE, related_name="priority_requests"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    vehicle = models.CharField(_("vehicle"), max_length=64)
    group = models.ForeignKey(SignalGroup, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=10, default="http")
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = _("priority request")
        verbose_name_plural = _("priority requests")
        ordering = ["-received_at"]


class SimulationRun(TenantModel):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    scenario = models.CharField(_("scenario"), max_length=100)
    controllers = models.JSONField(_("controllers"), default=list)
    seconds = models.PositiveIntegerField(_("simulated seconds"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    results = models.JSONField(default=list, blank=True)
    #: The back office's signal plans the fixed-time controller runs instead of the
    #: network's own programs, as they were when the run was started (a snapshot, so that
    #: the run can be read later whatever became of the plans): [{"plan": pk,
    #: "intersection": SUMO id, "label", "greens": [[phase index, seconds]], "starts",
    #: "cycle", "offset", "window", "hours", "days", "model"}].
    plans = models.JSONField(_("signal plans"), default=list, blank=True)
    #: The date the scenario's clock is taken to run on, which decides the plans of
    #: certain day types (weekday or public holiday); only for runs with plans.
    simulated_on = models.DateField(_("simulated day"), null=True, blank=True)
    #: The back office's configuration of the scenario's traffic lights (phases,
    #: intergreens, minimum greens as reviewed), which the own controllers ran with
    #: instead of the network file's, as it was when the run was started: {SUMO id:
    #: {"label": intersection name, "model": the control library's data}}.
    configurations = models.JSONField(_("configurations"), default=dict, blank=True)
    chart_svg = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("simulation run")
        verbose_name_plural = _("simulation runs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.scenario} #{self.pk}"

    @property
    def plans_shown(self) -> list[dict[str, object]]:
        """The snapshot's plans with their day types as shown (plans recorded before day
        types held every day)."""
        return [
            {**p, "day_names": days_label(p.get("days") or timetable.DAY_TYPES)}
            for p in self.plans or []
        ]

    @property
    def simulated_holiday(self) -> str | None:
        """The public holiday the simulated day is, if it is one."""
        if self.simulated_on is None:
            return None
        return public_holiday(self.municipality.state, self.simulated_on)
