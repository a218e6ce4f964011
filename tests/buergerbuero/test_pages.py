"""The pages: booking, links from e-mails, kiosk, online ticket, counter, display,
statistics, and the API, with hostile input and other tenants."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from rathaus.buergerbuero import services
from rathaus.buergerbuero.models import Appointment, Call, Office, Ticket
from rathaus.catalog.models import Service
from tests.buergerbuero.factories import (
    CounterFactory,
    OfficeFactory,
    ServiceFactory,
    TicketFactory,
)
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def _slot_value(html: str) -> str:
    match = re.search(r'name="start" id="slot-1-1" value="([^"]+)"', html)
    assert match, "a free slot is offered"
    return match.group(1).replace("&#x2B;", "+").replace("&#43;", "+")


def test_booking_through_the_pages(
    clock: Any,
    client: Client,
    office: Office,
    passport: Service,
    counters: list,
    django_capture_on_commit_callbacks: Any,
) -> None:
    page = client.get(reverse("buergerbuero:book"))
    assert page.status_code == 200
    assert "Reisepass beantragen" in page.text
    slots = client.get(reverse("buergerbuero:book_slots"), {"service": passport.pk})
    assert slots.status_code == 200
    value = _slot_value(slots.text)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("buergerbuero:book_slots"),
            {"service": passport.pk, "start": value, "name": "Erika", "email": "e@example.org"},
        )
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    appointment = Appointment.objects.get()
    link = re.search(r"https?://[^/]+(/termine/bestaetigen/[^\s]+/)", mail.outbox[0].body)
    assert link
    assert client.get(link.group(1)).status_code == 200  # a link scanner confirms nothing
    appointment.refresh_from_db()
    assert appointment.status == "reserved"
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(link.group(1))
    assert confirmed.status_code == 200
    assert appointment.code in confirmed.text
    assert "<svg" in confirmed.text  # the QR code for check-in
    replay = client.post(link.group(1))
    assert replay.status_code == 409
    forged = client.post(link.group(1).replace(":", "x", 1))
    assert forged.status_code == 400
    manage_url = reverse(
        "buergerbuero:manage",
        kwargs={"token": services.appointment_token(Appointment.objects.get(), "manage")},
    )
    ics = client.get(manage_url + "termin.ics")
    assert ics.status_code == 200
    assert b"BEGIN:VEVENT" in ics.content
    cancelled = client.post(manage_url, {"action": "cancel"})
    assert cancelled.status_code == 200
    assert Appointment.objects.get().status == "cancelled"
    assert client.post(manage_url, {"action": "cancel"}).status_code == 409


def test_links_at_another_municipalitys_address_change_nothing(
    clock: Any,
    office: Office,
    passport: Service,
    counters: list,
    other_municipality: Any,
    other_client: Client,
) -> None:
    """A genuine confirmation or manage link opened at another tenant's address names
    nothing there: refused like a forged link, and the appointment stays as it was."""
    appointment = services.appointment_reserve(
        location=office.location,
        services=[passport],
        start=_first_slot(office, passport),
        name="Erika",
        email="e@example.org",
    )
    confirm = reverse(
        "buergerbuero:confirm", kwargs={"token": services.appointment_token(appointment, "confirm")}
    )
    assert other_client.post(confirm).status_code == 400
    appointment.refresh_from_db()
    assert appointment.status == "reserved"
    appointment = services.appointment_confirm(
        municipality=office.municipality,
        token=services.appointment_token(appointment, "confirm"),
    )
    manage = reverse(
        "buergerbuero:manage", kwargs={"token": services.appointment_token(appointment, "manage")}
    )
    for response in (
        other_client.get(manage),
        other_client.get(manage + "termin.ics"),
        other_client.post(manage, {"action": "cancel"}),
        other_client.post(manage, {"start": "x"}),
    ):
        assert response.status_code == 400
        assert appointment.code not in response.text
    appointment.refresh_from_db()
    assert appointment.status == "confirmed"


def test_booking_form_refuses_hostile_input(
    clock: Any, client: Client, office: Office, passport: Service, counters: list
) -> None:
    url = reverse("buergerbuero:book_slots")
    assert client.get(url, {"service": "abc"}).status_code == 404
    assert client.get(url, {"service": 99999}).status_code == 404
    assert client.get(url, {"service": passport.pk, "location": "x"}).status_code == 404
    assert client.get(url, {"service": passport.pk, "from": "2026-13-45"}).status_code == 404
    for start in (
        "garbage",
        f"{office.location_id}|2026-12-07T10:00:00",
        "1|2020-01-01T10:00+01:00",
    ):
        response = client.post(
            url,
            {"service": passport.pk, "start": start, "name": "E", "email": "e@example.org"},
        )
        assert response.status_code in (400, 404), start
    response = client.post(
        url,
        {
            "service": passport.pk,
            "start": f"{office.location_id}|2026-12-07T07:00:00+01:00",
            "name": "x" * 500,
            "email": "e@example.org",
        },
    )
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_another_tenants_office_and_services_are_not_found(
    clock: Any, other_client: Client, office: Office, passport: Service, other_municipality: Any
) -> None:
    assert (
        other_client.get(
            reverse("buergerbuero:kiosk_ticket", kwargs={"location_id": office.location_id})
        ).status_code
        == 404
    )
    assert (
        other_client.get(reverse("buergerbuero:book_slots"), {"service": passport.pk}).status_code
        == 404
    )
    ticket = services.ticket_draw(location=office.location, services=[passport], channel="kiosk")
    assert (
        other_client.get(
            reverse("buergerbuero:ticket_status", kwargs={"token": ticket.token})
        ).status_code
        == 404
    )


def test_kiosk_ticket_checkin_and_display(
    clock: Any,
    client: Client,
    office: Office,
    passport: Service,
    registration: Service,
    counters: list,
    clerk: Any,
) -> None:
    services.duty_open(clerk=clerk, counter=counters[0])
    url = reverse("buergerbuero:kiosk_ticket", kwargs={"location_id": office.location_id})
    page = client.get(url)
    assert page.status_code == 200
    assert "Wohnsitz anmelden" in page.text
    response = client.post(url, {"service": registration.pk})
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    done = client.get(response["Location"])
    assert ticket.number in done.text
    assert "<svg" in done.text
    pdf = client.get(
        reverse("buergerbuero:ticket_pdf", kwargs={"token": ticket.token}) + "?width=58"
    )
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    status = client.get(reverse("buergerbuero:ticket_status", kwargs={"token": ticket.token}))
    assert status.status_code == 200
    # hostile kiosk input: unknown concern, a service of no office, nonsense
    assert client.post(url, {"service": "abc"}).status_code == 400
    assert client.post(url, {"service": 999999}).status_code == 404
    elsewhere = ServiceFactory(municipality=office.municipality)
    assert client.post(url, {"service": elsewhere.pk}).status_code == 400
    checkin = reverse("buergerbuero:kiosk_checkin", kwargs={"location_id": office.location_id})
    assert client.post(checkin, {"code": "<script>"}).status_code == 400
    assert client.post(checkin, {"code": "ABCDEFGH"}).status_code == 404
    services.ticket_call_next(clerk=clerk, counter=counters[0])
    display = reverse("buergerbuero:call_display", kwargs={"location_id": office.location_id})
    shown = client.get(display)
    assert shown.status_code == 200
    assert ticket.number in shown.text
    assert "E.01" in shown.text
    fragment = client.get(display, HTTP_HX_REQUEST="true")
    assert 'id="calls"' in fragment.text
    assert "<html" not in fragment.text


def test_counter_page_actions_and_access(
    clock: Any,
    client: Client,
    office: Office,
    registration: Service,
    counters: list,
    clerk: Any,
    other_municipality: Any,
) -> None:
    url = reverse("buergerbuero:counter", kwargs={"counter_id": counters[0].pk})
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(StaffFactory(municipality=office.municipality))
    assert client.get(url).status_code == 403
    client.force_login(clerk)
    assert client.get(url).status_code == 200
    foreign = CounterFactory(office=OfficeFactory(municipality=other_municipality))
    assert (
        client.get(reverse("buergerbuero:counter", kwargs={"counter_id": foreign.pk})).status_code
        == 404
    )
    assert client.post(url, {"action": "call"}).status_code == 409  # counter not open
    assert client.post(url, {"action": "open"}).status_code == 302
    nobody = client.post(url, {"action": "call"})
    assert nobody.status_code == 409
    assert "Niemand wartet" in nobody.text
    ticket = services.ticket_draw(
        location=office.location, services=[registration], channel="kiosk"
    )
    assert client.post(url, {"action": "call"}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "called"
    assert ticket.counter == counters[0]
    assert client.post(url, {"action": "recall", "ticket": ticket.pk}).status_code == 302
    assert Call.objects.filter(ticket=ticket, recall=True).exists()
    assert client.post(url, {"action": "finish", "ticket": "x"}).status_code == 404
    assert client.post(url, {"action": "explode"}).status_code == 400
    done = client.post(
        url, {"action": "finish", "ticket": ticket.pk, "services_done": [registration.pk]}
    )
    assert done.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "finished"
    assert list(ticket.services_done.all()) == [registration]


def test_transfer_sends_the_visitor_to_another_counter(
    clock: Any, office: Office, registration: Service, counters: list, clerk: Any, clerk2: Any
) -> None:
    services.duty_open(clerk=clerk, counter=counters[0])
    services.duty_open(clerk=clerk2, counter=counters[1])
    ticket = services.ticket_draw(
        location=office.location, services=[registration], channel="kiosk"
    )
    called = services.ticket_call_next(clerk=clerk, counter=counters[0])
    services.ticket_transfer(
        ticket=called, clerk=clerk, counter=counters[0], to_counter=counters[1]
    )
    ticket.refresh_from_db()
    assert ticket.status == "waiting"
    assert ticket.transferred_to == counters[1]
    with pytest.raises(services.NothingWaiting):
        services.ticket_call_next(clerk=clerk, counter=counters[0])
    assert services.ticket_call_next(clerk=clerk2, counter=counters[1]).pk == ticket.pk


def test_citizen_sees_and_cancels_own_appointments(
    clock: Any, client: Client, office: Office, passport: Service, counters: list, municipality: Any
) -> None:
    citizen = UserFactory(municipality=municipality)
    other = UserFactory(municipality=municipality)
    appointment = services.appointment_reserve(
        location=office.location,
        services=[passport],
        start=_first_slot(office, passport),
        name="Max",
        email=citizen.email,
        citizen=citizen,
    )
    services.appointment_confirm(
        municipality=municipality, token=services.appointment_token(appointment, "confirm")
    )
    url = reverse("buergerbuero:my_appointments")
    client.force_login(other)
    assert appointment.code not in client.get(url).text
    cancel = reverse(
        "buergerbuero:my_appointment_cancel", kwargs={"appointment_id": appointment.pk}
    )
    assert client.post(cancel).status_code == 404
    client.force_login(citizen)
    assert "Reisepass" in client.get(url).text
    assert client.post(cancel).status_code == 302
    assert Appointment.objects.get().status == "cancelled"


def _first_slot(office: Office, service: Service) -> Any:
    from rathaus.buergerbuero.selectors import free_slots

    return free_slots(
        location=office.location, services=[service], municipality=office.municipality, days=1
    )[0].start


def test_online_ticket_and_waiting_page(
    clock: Any, client: Client, office: Office, registration: Service, counters: list, clerk: Any
) -> None:
    services.duty_open(clerk=clerk, counter=counters[0])
    page = client.get(reverse("buergerbuero:online_ticket"))
    assert page.status_code == 200
    response = client.post(
        reverse("buergerbuero:online_ticket"),
        {"location": office.location_id, "service": registration.pk, "phone": "+49 151 1234567"},
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.channel == "online"
    assert ticket.phone == "+491511234567"
    bad = client.post(
        reverse("buergerbuero:online_ticket"),
        {"location": office.location_id, "service": registration.pk, "phone": "call me"},
    )
    assert bad.status_code == 400
    waiting = client.get(reverse("buergerbuero:waiting"))
    assert waiting.status_code == 200
    assert office.location.name in waiting.text


def test_api_waiting_slots_and_ticket(
    clock: Any, client: Client, office: Office, passport: Service, counters: list, clerk: Any
) -> None:
    services.duty_open(clerk=clerk, counter=counters[0])
    ticket = services.ticket_draw(location=office.location, services=[passport], channel="kiosk")
    listing = client.get("/api/v1/buergerbuero/waiting/")
    assert listing.status_code == 200
    assert listing.json()[0]["waiting"] == 1
    assert listing.json()[0]["is_open"] is True
    detail = client.get(f"/api/v1/buergerbuero/waiting/{office.location_id}/")
    assert detail.json()["open_counters"] == 1
    assert client.get("/api/v1/buergerbuero/waiting/999999/").json()["error"]["code"] == "not_found"
    # today one counter is on duty (no appointment lane); tomorrow both counters count
    slots = client.get(
        "/api/v1/buergerbuero/slots/", {"service": passport.pk, "start": "2026-12-08", "days": 1}
    )
    assert slots.status_code == 200
    assert slots.json()
    bad = client.get("/api/v1/buergerbuero/slots/", {"service": "x"})
    assert bad.status_code == 400
    assert "service" in bad.json()["error"]["fields"]
    assert (
        client.get(
            "/api/v1/buergerbuero/slots/", {"service": passport.pk, "days": 9999}
        ).status_code
        == 400
    )
    state = client.get(f"/api/v1/buergerbuero/tickets/{ticket.token}/")
    assert state.json()["number"] == ticket.number
    assert state.json()["status"] == "waiting"
    assert client.get("/api/v1/buergerbuero/tickets/forged/").status_code == 404


def test_statistics_page_and_csv(
    clock: Any, client: Client, office: Office, registration: Service, municipality: Any
) -> None:
    from django.utils import timezone

    arrived = timezone.now() - timedelta(hours=1)
    for n, wait in enumerate((5, 40)):
        t = TicketFactory(
            office=office,
            day=arrived.date(),
            arrived_at=arrived,
            called_at=arrived + timedelta(minutes=wait),
            finished_at=arrived + timedelta(minutes=wait + 10),
            status="finished",
            seq=n + 1,
        )
        t.services.set([registration])
    viewer = StaffFactory(municipality=municipality, permissions=["buergerbuero.view_statistics"])
    url = reverse("buergerbuero:statistics")
    client.force_login(StaffFactory(municipality=municipality))
    assert client.get(url).status_code == 403
    client.force_login(viewer)
    page = client.get(url, {"start": "nonsense"})
    assert page.status_code == 200
    assert "<svg" in page.text
    csv = client.get(reverse("buergerbuero:statistics_csv"))
    lines = csv.content.decode().splitlines()
    assert lines[1].split(";")[2:6] == ["2", "22.5", "40.0", "50.0"]
    assert client.get(url, {"office": "abc"}).status_code == 404


def test_queries_do_not_grow_with_the_queue(
    clock: Any, client: Client, office: Office, registration: Service, counters: list, clerk: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    services.duty_open(clerk=clerk, counter=counters[0])

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    services.ticket_draw(location=office.location, services=[registration], channel="kiosk")
    client.force_login(clerk)
    counter_url = reverse("buergerbuero:counter", kwargs={"counter_id": counters[0].pk})
    count("/api/v1/buergerbuero/waiting/")  # warm the caches (tenant, permissions)
    few = (count("/api/v1/buergerbuero/waiting/"), count(counter_url))
    for _ in range(8):
        services.ticket_draw(location=office.location, services=[registration], channel="kiosk")
    many = (count("/api/v1/buergerbuero/waiting/"), count(counter_url))
    assert many[0] == few[0]
    # the counter page lists the queue with its services: one query per ticket at most
    assert many[1] <= few[1] + 8
