"""Limits, rebooking, learning, the capacity split, the "next soon" text and the demo."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rathaus.buergerbuero import selectors, services
from rathaus.buergerbuero.models import Appointment, CapacitySplit, Office, ServiceSetup
from rathaus.catalog.models import Service
from rathaus.core.errors import RateLimited
from rathaus.notifications.models import SmsTestMessage
from tests.buergerbuero.factories import TicketFactory

pytestmark = pytest.mark.django_db


class RefuseAll:
    def fields(self, request: Any) -> str:
        return '<input type="hidden" name="pow" value="">'

    def verify(self, request: Any) -> bool:
        return False


def _slots(office: Office, service: Service, days: int = 3) -> list[Any]:
    return selectors.free_slots(
        location=office.location, services=[service], municipality=office.municipality, days=days
    )


def test_hoarding_limits(clock: Any, office: Office, registration: Service, counters: list) -> None:
    slots = _slots(office, registration)
    for slot in slots[:2]:
        services.appointment_reserve(
            location=office.location,
            services=[registration],
            start=slot.start,
            name="A",
            email="same@example.org",
        )
    with pytest.raises(RateLimited):
        services.appointment_reserve(
            location=office.location,
            services=[registration],
            start=slots[3].start,
            name="A",
            email="SAME@example.org",
        )
    for n in range(6):
        services.appointment_reserve(
            location=office.location,
            services=[registration],
            start=slots[4 + n].start,
            name="B",
            email=f"b{n}@example.org",
            client_ip="198.51.100.7",
        )
    with pytest.raises(RateLimited):
        services.appointment_reserve(
            location=office.location,
            services=[registration],
            start=slots[11].start,
            name="C",
            email="c@example.org",
            client_ip="198.51.100.7",
        )
    assert Appointment.objects.count() == 8


def test_rebook_moves_and_invalidates_the_old_link(
    clock: Any, office: Office, passport: Service, counters: list
) -> None:
    slots = _slots(office, passport)
    appointment = services.appointment_reserve(
        location=office.location,
        services=[passport],
        start=slots[0].start,
        name="A",
        email="a@example.org",
    )
    appointment = services.appointment_confirm(
        municipality=office.municipality,
        token=services.appointment_token(appointment, "confirm"),
    )
    token = services.appointment_token(appointment, "manage")
    moved = services.appointment_rebook(
        municipality=office.municipality, token=token, start=slots[-1].start
    )
    assert moved.start == slots[-1].start
    assert slots[0].start in [s.start for s in _slots(office, passport)]
    with pytest.raises(services.UsedLink):
        services.appointment_rebook(
            municipality=office.municipality, token=token, start=slots[1].start
        )


def test_booking_challenge_hook(
    clock: Any, client: Client, office: Office, passport: Service, counters: list, settings: Any
) -> None:
    settings.RATHAUS_BUERGERBUERO_CHALLENGE = "tests.buergerbuero.test_rules.RefuseAll"
    url = reverse("buergerbuero:book_slots")
    page = client.get(url, {"service": passport.pk})
    assert 'name="pow"' in page.text
    start = f"{office.location_id}|{_slots(office, passport)[0].start.isoformat()}"
    response = client.post(
        url, {"service": passport.pk, "start": start, "name": "E", "email": "e@example.org"}
    )
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_durations_are_learned_from_single_service_visits(
    clock: Any, office: Office, registration: Service
) -> None:
    now = timezone.now()
    for n in range(25):
        ticket = TicketFactory(
            office=office,
            day=(now - timedelta(days=1)).date(),
            arrived_at=now - timedelta(days=1),
            called_at=now - timedelta(days=1),
            finished_at=now - timedelta(days=1) + timedelta(minutes=6 + n % 3),
            status="finished",
            seq=n + 1,
        )
        ticket.services_done.set([registration])
    assert selectors.service_minutes(office, registration) == 10  # the catalogue's
    assert services.durations_learn() == 1
    setup = ServiceSetup.objects.get(office=office, service=registration)
    assert (setup.learned_minutes, setup.learned_from) == (7.0, 25)
    assert selectors.service_minutes(office, registration) == 7.0


def test_capacity_split_levels_the_load(
    clock: Any, office: Office, registration: Service, counters: list, municipality: Any
) -> None:
    now = timezone.now()
    # A Monday with a walk-in peak at 11:00 (12 visits of 10 minutes) and a quiet 15:00.
    monday = now - timedelta(days=7)
    for n in range(12):
        TicketFactory(
            office=office,
            day=monday.date(),
            arrived_at=monday.replace(hour=10, minute=n),  # 11:xx in Berlin
            called_at=monday.replace(hour=10, minute=n),
            finished_at=monday.replace(hour=10, minute=n) + timedelta(minutes=10),
            status="finished",
            seq=n + 1,
        )
    TicketFactory(office=office, day=monday.date(), arrived_at=monday.replace(hour=14), seq=99)
    assert services.capacity_split_level(municipality=municipality, weeks=2) == 2
    split = {s.hour: s.appointment_percent for s in CapacitySplit.objects.filter(office=office)}
    assert split == {11: 0, 15: 50}


def test_next_soon_text_message(
    clock: Any,
    office: Office,
    registration: Service,
    counters: list,
    clerk: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    services.duty_open(clerk=clerk, counter=counters[0])
    services.ticket_draw(location=office.location, services=[registration], channel="kiosk")
    with django_capture_on_commit_callbacks(execute=True):
        waiting = services.ticket_draw(
            location=office.location,
            services=[registration],
            channel="online",
            phone="+49 151 7654321",
        )
    # ten minutes of the first visitor ahead: within "soon", so the text goes at once, once
    assert SmsTestMessage.objects.filter(to="+491517654321").count() == 1
    assert waiting.number in SmsTestMessage.objects.get().text
    with django_capture_on_commit_callbacks(execute=True):
        services.estimates_refresh(office=office)
    assert SmsTestMessage.objects.count() == 1


def test_demo_load_is_idempotent(municipality: Any) -> None:
    from rathaus.buergerbuero.demo import buergerbuero_demo_load

    buergerbuero_demo_load(municipality=municipality)
    buergerbuero_demo_load(municipality=municipality)
    office = Office.objects.get(municipality=municipality)
    assert office.counters.count() == 4
    assert selectors.services_bookable(municipality=municipality)
