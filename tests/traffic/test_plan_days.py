"""Signal plans by day type (Tagesarten): weekday and weekend plans that share their hours,
public holidays of the municipality's state as a day type of their own, the week program
on the page and in the timetable API, and simulation runs on a chosen date."""

from datetime import date, time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from rathaus.accounts.models import User
from rathaus.accounts.services import api_token_create
from rathaus.audit.models import AuditEvent
from rathaus.core.errors import Conflict, ValidationFailed
from rathaus.traffic import selectors, services
from rathaus.traffic.control.timetable import Calendar
from rathaus.traffic.models import Intersection, SignalPlan, SimulationRun
from tests.conftest import strong_login
from tests.traffic.conftest import plan_for

pytestmark = [pytest.mark.django_db]

WEEKDAYS = ("mo", "tu", "we", "th", "fr")
WEEKEND = ("sa", "su", "ph")
#: cologne1 runs from 07:00; a draft with a strong first phase, so that it shows in SUMO
RUN_FLOWS = {0: 900.0, 1: 100.0, 2: 300.0, 3: 100.0}


@pytest.fixture
def week(intersection: Intersection, engineer: User, second_engineer: User) -> dict[str, Any]:
    """Approved: a weekday plan and a weekend-and-holiday plan, 06:00 to 22:00 each, and a
    night plan for every day."""

    def approved(name: str, starts: time, ends: time, days: tuple[str, ...]) -> SignalPlan:
        plan = plan_for(intersection, name, starts, ends, author=engineer, days=days)
        return services.plan_approve(plan=plan, actor=second_engineer)

    return {
        "werktag": approved("Werktag", time(6), time(22), WEEKDAYS),
        "wochenende": approved("Wochenende", time(6), time(22), WEEKEND),
        "nacht": approved("Nacht", time(22), time(6), (*WEEKDAYS, *WEEKEND)),
    }


def test_plans_of_other_days_share_their_hours_and_of_the_same_days_do_not(
    intersection: Intersection, engineer: User, second_engineer: User, week: dict[str, Any]
) -> None:
    assert week["werktag"].day_names == "Mon\N{EN DASH}Fri"
    assert week["wochenende"].day_names == "Sat, Sun, public holidays"
    assert week["nacht"].day_names == "every day"
    # a market on Saturday mornings meets the weekend plan's hours on a Saturday
    market = plan_for(intersection, "Markt", time(8), time(12), author=engineer, days=("sa",))
    with pytest.raises(Conflict, match=r"Wochenende v1 is in force at the same time \(Sat, Sun"):
        services.plan_approve(plan=market, actor=second_engineer)
    # holidays only, before the day begins: free
    early = plan_for(intersection, "Feiertag früh", time(5), time(6), days=("ph",))
    with pytest.raises(Conflict, match="Nacht v1"):  # the night plan holds on holidays too
        services.plan_approve(plan=early, actor=second_engineer)
    for bad in ((), ("xx",), ("mo", "Mo"), ("holiday",)):
        with pytest.raises(ValidationFailed, match="days"):
            plan_for(intersection, "Falsch", time(6), time(7), days=bad)
    assert not SignalPlan.objects.filter(name="Falsch").exists()


@pytest.mark.parametrize(
    ("moment", "day_type", "holiday", "plan"),
    [
        ("2026-11-30T11:00:00Z", "mo", None, "werktag"),  # Monday 12:00
        ("2026-12-05T11:00:00Z", "sa", None, "wochenende"),  # Saturday
        ("2026-12-25T11:00:00Z", "ph", "Erster Weihnachtstag", "wochenende"),  # a Friday
        ("2027-01-06T11:00:00Z", "ph", "Heilige Drei Könige", "wochenende"),  # BW only
        ("2026-12-24T11:00:00Z", "th", None, "werktag"),  # Christmas Eve is a working day
        ("2026-12-24T23:30:00Z", "ph", "Erster Weihnachtstag", "nacht"),  # 00:30 on the 25th
    ],
)
def test_the_day_in_force_follows_the_weekday_and_the_states_holidays(
    intersection: Intersection,
    week: dict[str, Any],
    moment: str,
    day_type: str,
    holiday: str | None,
    plan: str,
) -> None:
    with freeze_time(moment):
        timetable = selectors.plan_timetable(intersection=intersection)
    assert timetable["day_type"] == day_type
    assert timetable["holiday"] == holiday
    assert timetable["in_force"] == week[plan]
    assert week[plan] in timetable["today"]
    assert timetable["without_plan"] == []
    rows = {row["day_type"]: row for row in timetable["week"]}
    assert list(rows) == ["mo", "tu", "we", "th", "fr", "sa", "su", "ph"]
    assert rows["sa"]["plans"] == [week["wochenende"], week["nacht"]]
    assert rows["mo"]["plans"] == [week["werktag"], week["nacht"]]


def test_a_day_type_without_a_plan_runs_the_base_program(
    intersection: Intersection, engineer: User, second_engineer: User
) -> None:
    plan = plan_for(intersection, "Werktag", time(6), time(22), author=engineer, days=WEEKDAYS)
    services.plan_approve(plan=plan, actor=second_engineer)
    with freeze_time("2026-12-06T11:00:00Z"):  # Sunday
        timetable = selectors.plan_timetable(intersection=intersection)
        client = Client()
        strong_login(client, engineer)  # a session of that day
        page = client.get(reverse("traffic:intersection", args=[intersection.pk]))
    assert page.status_code == 200
    assert timetable["in_force"] is None
    assert timetable["today"] == []
    assert timetable["without_plan"] == [("00:00", "24:00")]
    text = page.content.decode()
    assert "Today's day type: Sunday." in text
    assert "Week program" in text
    # the week program marks today's row, and every row says when the base program runs
    assert text.count('aria-current="date"') == 1
    assert text.count("00:00\N{EN DASH}06:00, 22:00\N{EN DASH}24:00") == 5
    assert text.count("<td>00:00\N{EN DASH}24:00</td>") == 3
    assert "<td>Mon\N{EN DASH}Fri</td>" in text


def test_the_timetable_api_gives_each_plans_days_and_todays_type(
    intersection: Intersection, engineer: User, week: dict[str, Any]
) -> None:
    _token, raw = api_token_create(user=engineer, name="Feldgerät")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = f"/api/v1/traffic/intersections/{intersection.pk}/timetable/"
    with freeze_time("2026-12-25T11:00:00Z"):
        body = api.get(url).json()
    assert body["day_type"] == "ph"
    assert body["holiday"] == "Erster Weihnachtstag"
    assert body["in_force"] == week["wochenende"].pk
    assert {p["name"]: p["days"] for p in body["plans"]} == {
        "Werktag": list(WEEKDAYS),
        "Wochenende": list(WEEKEND),
        "Nacht": [*WEEKDAYS, *WEEKEND],
    }
    with freeze_time("2026-11-30T11:00:00Z"):
        body = api.get(url).json()
    assert (body["day_type"], body["holiday"], body["in_force"]) == ("mo", None, week["werktag"].pk)


def _draft(intersection: Intersection, name: str, days: tuple[str, ...]) -> SignalPlan:
    return plan_for(intersection, name, time(6), time(22), flows=RUN_FLOWS, days=days)


@freeze_time("2026-11-30T11:00:00Z")  # a simulated day lies within ten years of today
def test_a_run_takes_the_plans_of_its_simulated_day(
    intersection: Intersection, engineer: User
) -> None:
    weekday = _draft(intersection, "Werktag", WEEKDAYS)
    weekend = _draft(intersection, "Wochenende", WEEKEND)

    def start(plans: list[int], day: date | None) -> SimulationRun:
        return services.simulation_run_start(
            municipality=intersection.municipality,
            scenario="cologne1",
            controllers=["fixed"],
            seconds=120,
            plans=plans,
            day=day,
            actor=engineer,
        )

    # Christmas Day 2026 is a Friday: the weekday plan does not hold, the holiday's does
    with pytest.raises(ValidationFailed) as caught:
        start([weekday.pk], date(2026, 12, 25))
    assert (
        "Werktag v1 (Mon\N{EN DASH}Fri, 06:00\N{EN DASH}22:00) is not in force in the simulated "
        "time (07:00\N{EN DASH}07:02 on Friday, 12/25/2026)"
    ) in str(caught.value)
    # both chosen on a Monday: the weekend plan is the one that does not hold
    with pytest.raises(ValidationFailed, match="Wochenende v1"):
        start([weekday.pk, weekend.pk], date(2026, 11, 30))
    assert not SimulationRun.objects.exists()
    run = start([weekend.pk], date(2026, 12, 25))
    assert run.simulated_on == date(2026, 12, 25)
    assert run.plans[0]["days"] == list(WEEKEND)
    assert services.run_calendar(run) == Calendar(
        date(2026, 12, 25), frozenset({date(2026, 12, 25), date(2026, 12, 26)})
    )
    event = AuditEvent.objects.get(action="traffic.simulation.started")
    assert event.data["simulated_on"] == "2026-12-25"
    # without a date, today; without plans, no date at all
    assert start([weekday.pk], None).simulated_on == date(2026, 11, 30)
    plain = services.simulation_run_start(
        municipality=intersection.municipality,
        scenario="cologne1",
        controllers=["adaptive"],
        seconds=120,
        day=date(2026, 12, 25),
    )
    assert plain.simulated_on is None
    assert services.run_calendar(plain) is None


def _post_run(client: Client, plan: SignalPlan, day: str) -> Any:
    return client.post(
        reverse("traffic:run_start"),
        {
            "scenario": "cologne1",
            "controllers": ["fixed"],
            "seconds": "60",
            "plans": [str(plan.pk)],
            "day": day,
        },
    )


@pytest.mark.usefixtures("immediate_tasks")
def test_a_holiday_run_runs_the_holiday_plan_and_says_so(
    intersection: Intersection,
    engineer_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    weekend = _draft(intersection, "Wochenende", WEEKEND)
    christmas = date(timezone.localdate().year, 12, 25)  # a simulated day lies near today
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_run(engineer_client, weekend, christmas.isoformat())
    assert response.status_code == 302
    run = SimulationRun.objects.get()
    assert run.status == SimulationRun.Status.DONE, run.error
    (fixed,) = run.results
    assert fixed["plans"] == [p["label"] for p in run.plans]
    assert fixed["metrics"]["safety_violations"] == 0
    page = engineer_client.get(response["Location"]).content.decode()
    assert (
        f"Simulated day: {christmas:%A}, {christmas:%m/%d/%Y} "
        "(public holiday: Erster Weihnachtstag)."
    ) in page
    assert "Sat, Sun, public holidays 06:00\N{EN DASH}22:00" in page


@pytest.mark.parametrize(
    "day",
    ["morgen", "2026-13-01", "2026-02-30", "9" * 300, "9999-12-31", "0001-01-01", "1999-01-01"],
)
def test_a_bad_simulated_day_starts_nothing(
    intersection: Intersection, engineer_client: Client, day: str
) -> None:
    plan = _draft(intersection, "Tag", WEEKDAYS)
    response = _post_run(engineer_client, plan, day)
    assert response.status_code == 400
    assert not SimulationRun.objects.exists()
