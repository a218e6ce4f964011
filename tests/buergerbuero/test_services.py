"""The flows of the Bürgerbüro through its services: book, confirm, check in, draw, call."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail

from rathaus.buergerbuero import selectors, services
from rathaus.buergerbuero.models import Appointment, Call, Office, Prediction, Ticket
from rathaus.catalog.models import Service
from rathaus.core.errors import ApplicationError, ValidationFailed
from tests.buergerbuero.conftest import BERLIN, MONDAY_10

pytestmark = pytest.mark.django_db


def _book(office: Office, service: Service, start: datetime, **kw: Any) -> Appointment:
    return services.appointment_reserve(
        location=office.location,
        services=[service],
        start=start,
        name=kw.pop("name", "Erika Mustermann"),
        email=kw.pop("email", "erika@example.org"),
        **kw,
    )


def test_book_confirm_check_in_and_call(
    clock: Any,
    office: Office,
    passport: Service,
    registration: Service,
    counters: list,
    clerk: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    slots = selectors.free_slots(
        location=office.location, services=[passport], municipality=office.municipality, days=1
    )
    assert slots, "an open office with counters has free slots"
    assert all(s.start > MONDAY_10 for s in slots)
    assert slots[0].end - slots[0].start == timedelta(minutes=20)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(office, passport, slots[0].start)
    assert appointment.status == "reserved"
    assert len(mail.outbox) == 1
    confirm_token = services.appointment_token(appointment, "confirm")
    assert confirm_token in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_confirm(municipality=office.municipality, token=confirm_token)
    appointment.refresh_from_db()
    assert appointment.status == "confirmed"
    assert mail.outbox[1].attachments[0][2] == "text/calendar"
    # a replayed confirmation link is refused
    with pytest.raises(services.UsedLink):
        services.appointment_confirm(municipality=office.municipality, token=confirm_token)
    with pytest.raises(services.InvalidLink):
        services.appointment_confirm(
            municipality=office.municipality, token=confirm_token[:-2] + "xx"
        )

    walk_in = services.ticket_draw(
        location=office.location, services=[registration], channel="kiosk"
    )
    assert walk_in.number == "A001"
    assert walk_in.estimated_call_at is None  # no counter is open yet

    clock.move_to(appointment.start - timedelta(minutes=5))
    services.duty_open(clerk=clerk, counter=counters[0])
    walk_in.refresh_from_db()
    assert walk_in.estimated_call_at is not None
    ticket = services.appointment_check_in(location=office.location, code=appointment.code)
    assert ticket.number.startswith("T")
    assert Prediction.objects.filter(ticket=ticket).count() == 1
    assert not Prediction.objects.filter(ticket=walk_in).exists()  # drawn while closed

    # the appointment due now goes before the walk-in who came earlier
    first = services.ticket_call_next(clerk=clerk, counter=counters[0])
    assert first.pk == ticket.pk
    appointment.refresh_from_db()
    assert appointment.status == "called"
    with pytest.raises(ApplicationError) as busy:
        services.ticket_call_next(clerk=clerk, counter=counters[0])
    assert busy.value.code == "counter_busy"
    services.ticket_finish(ticket=first, clerk=clerk, counter=counters[0], services_done=[passport])
    second = services.ticket_call_next(clerk=clerk, counter=counters[0])
    assert second.pk == walk_in.pk
    assert Call.objects.count() == 2
    services.ticket_no_show(ticket=second, clerk=clerk, counter=counters[0])
    with pytest.raises(services.NothingWaiting):
        services.ticket_call_next(clerk=clerk, counter=counters[0])


def test_ticket_draw_refusals(
    clock: Any, office: Office, passport: Service, registration: Service, municipality: Any
) -> None:
    from tests.buergerbuero.factories import ServiceFactory, ServiceSetupFactory

    elsewhere = ServiceFactory(municipality=municipality)
    with pytest.raises(services.ServiceNotOffered):
        services.ticket_draw(location=office.location, services=[elsewhere], channel="kiosk")
    with pytest.raises(ValidationFailed):
        services.ticket_draw(location=office.location, services=[], channel="kiosk")
    with pytest.raises(ValidationFailed):
        services.ticket_draw(
            location=office.location, services=[passport], channel="kiosk", phone="abc"
        )
    ServiceSetupFactory(office=office, service=passport, mode="appointment")
    with pytest.raises(services.ServiceNotOffered) as only:
        services.ticket_draw(location=office.location, services=[passport], channel="kiosk")
    assert only.value.code == "appointment_only"
    clock.move_to(datetime(2026, 12, 7, 19, 0, tzinfo=BERLIN))
    with pytest.raises(services.OfficeClosed):
        services.ticket_draw(location=office.location, services=[registration], channel="online")
    assert not Ticket.objects.exists()


def test_booking_refusals(clock: Any, office: Office, passport: Service, counters: list) -> None:
    with pytest.raises(ValidationFailed) as past:
        _book(office, passport, MONDAY_10 - timedelta(hours=1))
    assert "Vergangenheit" in str(past.value.fields["start"])
    with pytest.raises(ValidationFailed):
        _book(office, passport, MONDAY_10 + timedelta(days=40))
    with pytest.raises(ValidationFailed) as closed:
        _book(office, passport, datetime(2026, 12, 7, 19, 0, tzinfo=BERLIN))
    assert "nicht für Termine geöffnet" in str(closed.value.fields["start"])
    # Christmas is a public holiday in every state
    with pytest.raises(ValidationFailed):
        _book(office, passport, datetime(2026, 12, 25, 10, 0, tzinfo=BERLIN))
    with pytest.raises(ValidationFailed):
        _book(office, passport, MONDAY_10 + timedelta(hours=1), email="not-an-email")
    assert not Appointment.objects.exists()


def test_expired_reservation_cannot_be_confirmed(
    clock: Any, office: Office, passport: Service, counters: list
) -> None:
    slot = selectors.free_slots(
        location=office.location, services=[passport], municipality=office.municipality, days=1
    )[-1]
    appointment = _book(office, passport, slot.start)
    assert slot.start not in [
        s.start
        for s in selectors.free_slots(
            location=office.location, services=[passport], municipality=office.municipality, days=1
        )
    ]
    clock.tick(timedelta(minutes=16))
    # the held time is free again for others
    again = selectors.free_slots(
        location=office.location, services=[passport], municipality=office.municipality, days=1
    )
    assert slot.start in [s.start for s in again]
    with pytest.raises(services.ReservationExpired):
        services.appointment_confirm(
            municipality=office.municipality,
            token=services.appointment_token(appointment, "confirm"),
        )
    appointment.refresh_from_db()
    assert appointment.status == "expired"
