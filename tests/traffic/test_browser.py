"""An engineer starts a short simulation from the traffic view and sees its result chart;
every page visited is axe-clean."""

from datetime import time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from rathaus.accounts.services import api_token_create
from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit, Role
from rathaus.traffic import services
from tests.browser.conftest import axe_violations
from tests.factories import PASSWORD
from tests.traffic.conftest import plan_for, staff_with

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _engineer_logged_in(page: Any, live_server: Any, unit: OrgUnit, role: Role) -> str:
    """Log a traffic engineer in; returns the server's base address."""
    staff_with(unit, role, email="tina@musterstadt.example")
    base = str(live_server.url)
    page.goto(base + "/anmelden/")
    page.locator("#id_username").fill("tina@musterstadt.example")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    return base


def _start_run(page: Any, controllers: list[str]) -> None:
    """Start a 60 s run of cologne1 with ``controllers`` from the traffic view."""
    page.select_option("#id_scenario", "cologne1")
    for box in page.locator("input[name=controllers]").all():
        box.uncheck()
    for name in controllers:
        page.locator(f"input[name=controllers][value={name}]").check()
    page.fill("#id_seconds", "60")
    page.locator("main form[action$='/simulationen/'] button[type=submit]").click()
    page.wait_for_load_state()


def test_engineer_runs_a_simulation_from_the_traffic_view(
    page: Any,
    live_server: Any,
    municipality: Municipality,
    traffic_unit: OrgUnit,
    engineer_role: Role,
    immediate_tasks: None,
) -> None:
    base = _engineer_logged_in(page, live_server, traffic_unit, engineer_role)

    page.goto(base + "/verwaltung/verkehr/")
    assert axe_violations(page) == []
    _start_run(page, ["adaptive", "sumo_static"])

    chart = page.locator("figure.traffic-chart svg")
    chart.wait_for(timeout=60_000)
    assert "adaptive" in chart.inner_html()
    assert (
        page.locator("table caption", has_text="Results").count()
        + page.locator("table caption", has_text="Ergebnisse").count()
        == 1
    )
    assert axe_violations(page) == []


def test_a_priority_request_shows_on_the_open_traffic_view_as_it_arrives(
    page: Any,
    live_server: Any,
    municipality: Municipality,
    traffic_unit: OrgUnit,
    engineer_role: Role,
    intersection: Any,
) -> None:
    base = _engineer_logged_in(page, live_server, traffic_unit, engineer_role)
    device = staff_with(traffic_unit, engineer_role, email="lsa-rechner@musterstadt.example")
    _token, raw = api_token_create(user=device, name="Leitstelle")
    detector = intersection.detectors.order_by("pk").first()
    page.goto(base + "/verwaltung/verkehr/")
    live = page.locator("#traffic-priority")
    assert live.inner_text() == "Bisher keine Bevorrechtigungsanforderungen."
    # a bus reports in through the API (the request goes through the same live server
    # as the page's polling); the open page shows it without being reloaded
    answer = page.request.post(
        base + "/api/v1/traffic/priority-requests/",
        data={"intersection": intersection.pk, "kind": "bus", "vehicle": "Linie 421", "group": 5},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert answer.status == 201, answer.text()
    page.locator("#traffic-priority li", has_text="Linie 421").wait_for(timeout=10_000)
    assert page.locator("[aria-live=polite] #traffic-priority").count() == 1
    # a detector reports: the intersections' part is swapped, and a keyboard user on its
    # link keeps the focus there
    link = f"traffic-row-{intersection.pk}"
    page.locator(f"#{link}").focus()
    answer = page.request.post(
        base + "/api/v1/traffic/detector-readings/",
        data={
            "readings": [
                {
                    "detector": detector.pk,
                    "measured_at": timezone.now().isoformat(),
                    "count": 3,
                    "occupancy": 0.2,
                }
            ]
        },
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert answer.status == 201, answer.text()
    page.locator("#traffic-states tbody time").wait_for(timeout=10_000)
    assert page.evaluate("document.activeElement.id") == link
    assert axe_violations(page) == []


def test_the_intersection_page_with_its_import_review_is_axe_clean(
    page: Any,
    live_server: Any,
    municipality: Municipality,
    traffic_unit: OrgUnit,
    engineer_role: Role,
    intersection: Any,
) -> None:
    plan = plan_for(intersection, "Ganztags", time(0), time(0))
    services.plan_approve(plan=plan, actor=None)
    # a detector that fell silent after a gap: the page lists both
    quiet = intersection.detectors.order_by("pk").first()
    services.readings_ingest(
        municipality=municipality,
        readings=[
            {
                "detector": quiet.pk,
                "measured_at": timezone.now() - timedelta(minutes=minutes),
                "count": 2,
                "occupancy": 0.1,
            }
            for minutes in (40, 20)
        ],
    )
    base = _engineer_logged_in(page, live_server, traffic_unit, engineer_role)

    page.goto(f"{base}/verwaltung/verkehr/knoten/{intersection.pk}/")
    review = page.locator("section.traffic-review")
    # German first: the review of what the import could not take from the program
    assert "Nach dem Import zu prüfen" in review.inner_text()
    assert "120 Zwischenzeiten sind Vorgabewerte" in review.inner_text()
    # the day's timetable: the whole-day plan is in force now
    assert "Jetzt in Kraft" in page.locator("p.traffic-in-force").inner_text()
    assert page.locator("ol.traffic-timetable li[aria-current=time]").inner_text() == (
        "ganztägig: Ganztags v1"
    )
    # the week program: a row per day type, today's marked, the plan on every one
    week = page.locator("table.traffic-week")
    assert week.locator("tbody tr").count() == 8
    assert week.locator("tr[aria-current=date]").count() == 1
    assert week.locator("tbody tr").last.inner_text().startswith("Feiertage")
    assert page.locator("table.traffic-gaps tbody tr").count() == 1
    # the counted flows fill in the plan form (the silent detector counted 2 a minute)
    page.get_by_text("Verkehrsstärken aus den Zählwerten der Detektoren übernehmen").click()
    counting = page.locator("details.traffic-count")
    for field in ("#id_count-starts_at", "#id_count-ends_at"):  # the whole day
        counting.locator(field).fill("00:00")
    page.get_by_role("button", name="Gezählte Verkehrsstärken eintragen").click()
    page.locator("p.traffic-counted").wait_for()
    assert (
        "Eingetragen aus den Zählwerten von 1 Fahrstreifen"
        in page.locator("p.traffic-counted").inner_text()
    )
    assert axe_violations(page) == []
    assert "still seit" in page.locator("ul.traffic-detectors").inner_text()
    assert axe_violations(page) == []
    # a stop-line loop of the field is added in the back office, in German
    form = page.locator("form[action$='/detektoren/']")
    form.get_by_label("Name").fill("Schleife Nord")
    form.get_by_label("Abstand zur Haltlinie (m)").fill("1.5")
    form.get_by_role("button", name="Detektor speichern").click()
    page.get_by_text("Der Detektor wurde gespeichert.").wait_for()
    assert "Schleife Nord" in page.locator("ul.traffic-detectors").inner_text()
    assert axe_violations(page) == []
    # each button names its plan (two plans of one intersection may both be version 1)
    page.get_by_role("button", name="Ganztags v1 außer Kraft setzen").click()
    page.get_by_text("Kein Programm ist aktiv").wait_for()
    assert axe_violations(page) == []


def test_engineer_tries_a_draft_plan_in_a_simulation(
    page: Any,
    live_server: Any,
    municipality: Municipality,
    traffic_unit: OrgUnit,
    engineer_role: Role,
    intersection: Any,
    immediate_tasks: None,
) -> None:
    plan = plan_for(intersection, "Früh", time(6), time(9), offset=10.0)
    base = _engineer_logged_in(page, live_server, traffic_unit, engineer_role)

    page.goto(base + "/verwaltung/verkehr/")
    box = page.locator(f"input[name=plans][value='{plan.pk}']")
    assert box.count() == 1
    assert axe_violations(page) == []
    box.check()
    # the plan holds every day; the run is simulated on a Sunday
    page.get_by_label("Simulierter Tag").fill("2026-12-06")
    _start_run(page, ["fixed"])

    page.locator("figure.traffic-chart svg").wait_for(timeout=60_000)
    plans = page.locator("ul.traffic-run-plans")
    assert f"{intersection.name}: Früh v1" in plans.inner_text()
    assert "täglich 06:00" in plans.inner_text()
    assert "Versatzzeit 10,0 s" in plans.inner_text()  # German first, German decimals
    assert "Simulierter Tag: Sonntag, 06.12.2026." in page.locator("#run-status").inner_text()
    assert axe_violations(page) == []
