"""The set-up pages: only for ``manage_office``, other tenants 404, bad input refused."""

from datetime import date, time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rathaus.buergerbuero import selectors
from rathaus.buergerbuero.models import Counter, Duty, Office, ServiceSetup, Skill, SpecialDay
from rathaus.catalog.models import Service
from tests.buergerbuero.factories import OfficeFactory, OfficeLocationFactory
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(municipality: Any) -> Any:
    return StaffFactory(municipality=municipality, permissions=["buergerbuero.manage_office"])


def test_set_up_an_office(
    clock: Any, client: Client, municipality: Any, manager: Any, other_municipality: Any
) -> None:
    location = OfficeLocationFactory(municipality=municipality, name_de="Bürgeramt Nord")
    client.force_login(StaffFactory(municipality=municipality))
    assert client.get(reverse("buergerbuero:setup")).status_code == 403
    client.force_login(manager)
    assert "Bürgeramt Nord" in client.get(reverse("buergerbuero:setup")).text
    foreign = OfficeLocationFactory(municipality=other_municipality)
    assert client.post(reverse("buergerbuero:setup"), {"location": foreign.pk}).status_code == 404
    response = client.post(reverse("buergerbuero:setup"), {"location": location.pk})
    assert response.status_code == 302
    assert Office.objects.get().location == location
    foreign_office = OfficeFactory(municipality=other_municipality)
    assert (
        client.get(
            reverse("buergerbuero:setup_office", kwargs={"office_id": foreign_office.pk})
        ).status_code
        == 404
    )


def test_counters_duty_skills_days_and_modes(
    clock: Any, client: Client, office: Office, passport: Service, manager: Any, clerk: Any
) -> None:
    client.force_login(manager)
    url = reverse("buergerbuero:setup_office", kwargs={"office_id": office.pk})
    assert client.get(url).status_code == 200
    ok = client.post(
        url, {"action": "counter", "name": "Schalter 9", "room": "1.09", "floor": "1. OG"}
    )
    assert ok.status_code == 302
    counter = Counter.objects.get(name="Schalter 9")
    assert (counter.room, counter.floor) == ("1.09", "1. OG")
    assert client.post(url, {"action": "counter", "name": "Schalter 9"}).status_code == 400
    assert client.post(url, {"action": "counter", "name": ""}).status_code == 400
    assert client.post(url, {"action": "counter", "name": "x" * 500}).status_code == 400
    assert Counter.objects.count() == 1

    duty = {"action": "duty", "counter": counter.pk, "clerk": clerk.pk, "date": "2026-12-08"}
    assert client.post(url, duty).status_code == 302
    assert Duty.objects.get().clerk == clerk
    assert client.post(url, duty | {"date": "2020-01-01"}).status_code == 400
    assert client.post(url, duty | {"date": "garbage"}).status_code == 400
    assert client.post(url, duty | {"clerk": 999999}).status_code == 404

    assert (
        client.post(
            url, {"action": "skills", "clerk": clerk.pk, "service": [passport.pk]}
        ).status_code
        == 302
    )
    assert list(Skill.objects.values_list("service", flat=True)) == [passport.pk]
    assert selectors.clerk_skills(clerk) == frozenset({str(passport.pk)})

    special = {"action": "special_day", "date": "2026-12-24", "opens": "08:00", "closes": "12:00"}
    assert client.post(url, special).status_code == 302
    assert client.post(url, special | {"opens": "13:00"}).status_code == 400
    assert (
        client.post(url, {"action": "special_day", "date": "2026-12-31", "closed": "1"}).status_code
        == 302
    )
    assert SpecialDay.objects.get(date=date(2026, 12, 24)).closes == time(12, 0)
    assert selectors.opening_intervals(office, date(2026, 12, 31)) == []

    assert (
        client.post(
            url, {"action": "mode", "service": passport.pk, "mode": "appointment"}
        ).status_code
        == 302
    )
    assert ServiceSetup.objects.get().mode == "appointment"
    assert (
        client.post(url, {"action": "mode", "service": passport.pk, "mode": "magic"}).status_code
        == 400
    )
    assert client.post(url, {"action": "nonsense"}).status_code == 400
