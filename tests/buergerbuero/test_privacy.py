"""Personal data of finished visits goes by the retention rules; the statistics stay."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rathaus.buergerbuero import reports, services
from rathaus.buergerbuero.models import Appointment, Office, Ticket
from rathaus.buergerbuero.personal_data import AppointmentsData
from rathaus.catalog.models import Service
from rathaus.privacy.retention import retention_apply
from tests.buergerbuero.factories import AppointmentFactory, TicketFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_retention_removes_people_and_keeps_figures(
    office: Office, passport: Service, municipality: Any
) -> None:
    long_ago = timezone.now() - timedelta(days=60)
    citizen = UserFactory(municipality=municipality)
    appointment = AppointmentFactory(
        office=office,
        start=long_ago,
        end=long_ago + timedelta(minutes=20),
        status="finished",
        citizen=citizen,
        phone="+491511234567",
        client_ip="192.0.2.1",
    )
    ticket = TicketFactory(
        office=office,
        day=long_ago.date(),
        arrived_at=long_ago,
        called_at=long_ago + timedelta(minutes=12),
        finished_at=long_ago + timedelta(minutes=30),
        status="finished",
        phone="+491511234567",
        appointment=appointment,
    )
    ticket.services.set([passport])
    recent = AppointmentFactory(
        office=office, start=timezone.now(), end=timezone.now() + timedelta(minutes=20)
    )
    query = reports.StatisticsQuery(
        municipality=municipality, start=long_ago.date(), end=long_ago.date()
    )
    before = reports.report(query).total
    retention_apply()
    appointment.refresh_from_db()
    ticket.refresh_from_db()
    assert (appointment.name, appointment.email, appointment.phone) == ("", "", "")
    assert appointment.citizen is None
    assert appointment.client_ip is None
    assert appointment.anonymised
    assert ticket.phone == ""
    recent.refresh_from_db()
    assert recent.email == "erika@example.org"
    after = reports.report(query).total
    assert (after.visits, after.waits) == (before.visits, before.waits) == (1, [12.0])


def test_personal_data_export_and_erasure(
    office: Office, passport: Service, municipality: Any
) -> None:
    citizen = UserFactory(municipality=municipality)
    appointment = AppointmentFactory(
        office=office, start=timezone.now(), end=timezone.now(), citizen=citizen
    )
    appointment.services.set([passport])
    provider = AppointmentsData()
    exported = provider.export(citizen)
    assert exported[0]["code"] == appointment.code
    assert exported[0]["email"] == "erika@example.org"
    erasure = provider.erase(citizen)
    assert erasure.anonymised == 1
    assert not Appointment.objects.filter(citizen=citizen).exists()
    assert Appointment.objects.get().email == ""


def test_scheduled_work(
    clock: Any,
    office: Office,
    passport: Service,
    counters: list,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from rathaus.buergerbuero.selectors import free_slots

    slots = free_slots(
        location=office.location, services=[passport], municipality=office.municipality, days=2
    )
    tomorrow = next(s for s in slots if s.start.date() > timezone.now().date())
    held = services.appointment_reserve(
        location=office.location,
        services=[passport],
        start=slots[0].start,
        name="A",
        email="a@example.org",
    )
    booked = services.appointment_reserve(
        location=office.location,
        services=[passport],
        start=tomorrow.start,
        name="B",
        email="b@example.org",
        phone="+491511234567",
    )
    services.appointment_confirm(
        municipality=booked.municipality, token=services.appointment_token(booked, "confirm")
    )
    clock.tick(timedelta(minutes=20))
    assert services.reservations_expire() == 1
    assert Appointment.objects.get(pk=held.pk).status == "expired"
    from django.core import mail

    from rathaus.notifications.models import SmsTestMessage

    with django_capture_on_commit_callbacks(execute=True):
        assert services.appointments_remind() == 1
    assert services.appointments_remind() == 0  # once only
    assert any("Reminder" in m.subject or "Erinnerung" in m.subject for m in mail.outbox)
    assert SmsTestMessage.objects.filter(to="+491511234567").exists()
    ticket = services.ticket_draw(location=office.location, services=[passport], channel="kiosk")
    clock.tick(timedelta(days=1))
    assert services.day_close() >= 1
    assert Ticket.objects.get(pk=ticket.pk).status == "cancelled"
