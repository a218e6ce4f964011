"""Forms of the traffic pages."""

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rathaus.traffic.control.sumonet import MAX_NET_BYTES
from rathaus.traffic.control.timetable import DAY_TYPES
from rathaus.traffic.models import DAY_TYPE_CHOICES, Detector, SignalGroup
from rathaus.traffic.sim.harness import ALL_CONTROLLERS

CONTROLLER_LABELS = {
    "fixed": _("Fixed time (network plan)"),
    "actuated": _("Gap-actuated"),
    "max_pressure": _("Max-pressure"),
    "adaptive": _("Adaptive with coordination and priority"),
    "adaptive_nopriority": _("Adaptive without priority"),
    "sumo_static": _("SUMO: static program"),
    "sumo_actuated": _("SUMO: actuated program"),
    "sumo_delay_based": _("SUMO: delay-based program"),
}


#: Times of day as the forms show them (``06:00``, not ``06:00:00``).
HOURS = forms.TimeInput(format="%H:%M")


def days_field(help_text: Any = "") -> forms.MultipleChoiceField:
    """The day types a plan holds on, every one offered and checked at first."""
    return forms.MultipleChoiceField(
        label=_("Days"),
        choices=DAY_TYPE_CHOICES,
        initial=list(DAY_TYPES),
        widget=forms.CheckboxSelectMultiple,
        help_text=help_text,
        error_messages={"required": _("Choose the days on which the plan holds.")},
    )


class ImportForm(forms.Form):
    network = forms.FileField(label=_("SUMO network file (.net.xml)"))

    def clean_network(self) -> Any:
        upload = self.cleaned_data["network"]
        if upload.size > MAX_NET_BYTES:
            raise forms.ValidationError(_("The file is too large."))
        if not upload.name.endswith(".xml"):
            raise forms.ValidationError(_("Please upload a .net.xml file."))
        return upload


class RunForm(forms.Form):
    scenario = forms.ChoiceField(label=_("Scenario"))
    controllers = forms.MultipleChoiceField(
        label=_("Controllers"),
        choices=[(c, CONTROLLER_LABELS[c]) for c in ALL_CONTROLLERS],
        widget=forms.CheckboxSelectMultiple,
    )
    seconds = forms.IntegerField(
        label=_("Simulated seconds"), min_value=60, max_value=3600, initial=600
    )
    plans = forms.TypedMultipleChoiceField(
        label=_("Signal plans for the fixed-time controller"),
        help_text=_(
            "Instead of the network's own programs, each in its hours of the day (a "
            "scenario's clock is the time of day); the plans of an intersection must cover "
            "the simulated time. Drafts can be tried before they are approved."
        ),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    configured = forms.BooleanField(
        label=_("Our controllers run with the back office's configuration"),
        help_text=_(
            "The scenario's traffic lights that are intersections here run with their phases, "
            "intergreens and minimum greens as reviewed and edited here instead of the "
            "network file's. SUMO's programs know only the network."
        ),
        required=False,
        initial=True,
    )
    day = forms.DateField(
        label=_("Simulated day"),
        help_text=_(
            "The date on which the scenario's clock runs: its weekday, or a public "
            "holiday, decides which of the chosen plans hold. Today if left empty."
        ),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(
        self, *args: Any, scenarios: list[str], plans: Iterable[Any] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["scenario"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s, s) for s in scenarios]
        choices = self.fields["plans"]
        assert isinstance(choices, forms.ChoiceField)
        choices.choices = [
            (
                p.pk,
                f"{p.intersection.name}: {p.name} v{p.version}, {p.day_names} {p.hours} "
                f"({p.get_status_display()})",
            )
            for p in plans
        ]


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Plan name"), max_length=100, initial="Tag")
    starts_at = forms.TimeField(label=_("Valid from"), initial="06:00", widget=HOURS)
    ends_at = forms.TimeField(
        label=_("Valid until"),
        initial="22:00",
        widget=HOURS,
        help_text=_(
            "An end before the start runs over midnight (22:00 to 06:00); the same time "
            "as the start means the whole day."
        ),
    )
    days = days_field(
        help_text=_(
            "The window holds on these days. A public holiday of the state is a day of its "
            "own, whatever its weekday; the hours after midnight belong to their own date."
        )
    )
    saturation = forms.FloatField(
        label=_("Saturation flow (vehicles per hour of green)"),
        min_value=600,
        max_value=4000,
        initial=1800,
    )
    offset = forms.FloatField(
        label=_("Offset (s)"),
        help_text=_(
            "When the cycle begins after the common reference time; neighbouring plans "
            "with matching offsets form a green wave."
        ),
        min_value=0,
        max_value=300,
        initial=0,
        required=False,
    )

    def __init__(self, *args: Any, phases: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.phase_fields = []
        for phase in phases:
            name = f"flow_{phase.order}"
            self.fields[name] = forms.FloatField(
                label=_("Counted flow of %(phase)s (vehicles per hour)") % {"phase": phase.name},
                min_value=0,
                max_value=4000,
            )
            self.phase_fields.append(name)

    def flows(self) -> dict[int, float]:
        return {
            int(name.removeprefix("flow_")): self.cleaned_data[name] for name in self.phase_fields
        }


class CountForm(forms.Form):
    """The window and days whose detector counts fill in a new plan's flows."""

    starts_at = forms.TimeField(label=_("Valid from"), initial="06:00", widget=HOURS)
    ends_at = forms.TimeField(label=_("Valid until"), initial="22:00", widget=HOURS)
    days = days_field()
    weeks = forms.IntegerField(
        label=_("Weeks of counts"),
        min_value=1,
        max_value=8,
        initial=4,
        help_text=_("The counts of these last weeks, in the window on those days."),
    )


class PhaseForm(forms.Form):
    phase = forms.TypedChoiceField(label=_("Phase"), coerce=int)
    greens = forms.TypedMultipleChoiceField(
        label=_("Green signal groups"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    min_green = forms.FloatField(label=_("Minimum green (s)"), min_value=0, max_value=300)
    max_green = forms.FloatField(label=_("Maximum green (s)"), min_value=1, max_value=600)

    def __init__(self, *args: Any, phases: list[Any], groups: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        phase_field = self.fields["phase"]
        green_field = self.fields["greens"]
        assert isinstance(phase_field, forms.TypedChoiceField)
        assert isinstance(green_field, forms.TypedMultipleChoiceField)
        phase_field.choices = [(p.order, p.name) for p in phases]
        green_field.choices = [(g.index, g.name) for g in groups]


class IntergreenForm(forms.Form):
    clearing = forms.TypedChoiceField(label=_("Clearing signal group"), coerce=int)
    entering = forms.TypedChoiceField(label=_("Entering signal group"), coerce=int)
    seconds = forms.FloatField(label=_("Intergreen (s)"), min_value=0, max_value=60)

    def __init__(self, *args: Any, groups: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("clearing", "entering"):
            field = self.fields[name]
            assert isinstance(field, forms.TypedChoiceField)
            field.choices = [(g.index, g.name) for g in groups]


class IntersectionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    cycle_min = forms.IntegerField(label=_("Minimum cycle (s)"), min_value=20, max_value=300)
    cycle_max = forms.IntegerField(
        label=_("Maximum cycle (s)"),
        min_value=20,
        max_value=300,
        help_text=_("Webster's method keeps the cycles it computes within these limits."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("cycle_min"), data.get("cycle_max")
        if low is not None and high is not None and low > high:
            self.add_error("cycle_max", _("The maximum must not be below the minimum."))
        return data


class GroupForm(forms.Form):
    group = forms.TypedChoiceField(label=_("Signal group"), coerce=int)
    kind = forms.ChoiceField(label=_("Kind"), choices=SignalGroup.Kind.choices)
    yellow = forms.FloatField(
        label=_("Yellow (s)"),
        min_value=0,
        max_value=10,
        help_text=_(
            "Pedestrian signals show no yellow (0 s); the safety layer keeps 3 s for vehicles."
        ),
    )
    min_green = forms.FloatField(
        label=_("Minimum green (s)"),
        min_value=0,
        max_value=120,
        help_text=_("For pedestrians, their minimum green time to start crossing."),
    )

    def __init__(self, *args: Any, groups: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["group"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(g.index, g.name) for g in groups]


class DetectorForm(forms.Form):
    detector = forms.TypedChoiceField(
        label=_("Detector"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("Choose one to change it, or none to add a new detector."),
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    lane = forms.ChoiceField(label=_("Traffic lane"))
    position = forms.FloatField(
        label=_("Distance to the stop line (m)"), min_value=0, max_value=1000, initial=0
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=Detector.Kind.choices, initial=Detector.Kind.STOPLINE
    )
    interval_seconds = forms.IntegerField(
        label=_("Reporting interval (s)"),
        min_value=1,
        max_value=3600,
        initial=60,
        help_text=_("A longer silence is reported as a data gap."),
    )

    def __init__(
        self, *args: Any, detectors: Iterable[Any], lanes: Iterable[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        chosen = self.fields["detector"]
        lane = self.fields["lane"]
        assert isinstance(chosen, forms.TypedChoiceField)
        assert isinstance(lane, forms.ChoiceField)
        chosen.choices = [("", _("New detector")), *((d.pk, d.name) for d in detectors)]
        lane.choices = [(x, x) for x in lanes]
