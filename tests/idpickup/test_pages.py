"""Staff pages (/verwaltung/ausweisabholung/), the citizen's status pages and the kiosk
simulator: access per tenant and permission, hostile input, nothing half-written."""

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rathaus.accounts.models import User
from rathaus.core.errors import NotFound
from rathaus.core.models import Municipality
from rathaus.idpickup import services
from rathaus.idpickup.models import Alarm, IdOrder, Terminal
from tests.factories import StaffFactory, UserFactory
from tests.idpickup.factories import AlarmFactory, IdOrderFactory, TerminalFactory

pytestmark = pytest.mark.django_db

S = IdOrder.Status


@pytest.fixture
def staff_client(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


def test_pages_need_staff_with_the_permission(
    client: Client, municipality: Municipality, terminal: Terminal, make_order: Any
) -> None:
    order = make_order()
    urls = [
        reverse("idpickup:dashboard"),
        reverse("idpickup:orders"),
        reverse("idpickup:order_new"),
        reverse("idpickup:order", args=[order.pk]),
        reverse("idpickup:arrivals"),
        reverse("idpickup:terminals"),
        reverse("idpickup:terminal_new"),
        reverse("idpickup:terminal", args=[terminal.pk]),
        reverse("idpickup:simulator", args=[terminal.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 302, url  # to the login
    client.force_login(StaffFactory(municipality=municipality))
    for url in urls:
        assert client.get(url).status_code == 403, url
    client.force_login(UserFactory(municipality=municipality))
    assert client.get(reverse("idpickup:credential")).status_code == 403


def test_another_tenants_objects_are_404(
    staff_client: Client, municipality: Municipality, other_municipality: Municipality
) -> None:
    order = IdOrderFactory(municipality=other_municipality)
    terminal = TerminalFactory(municipality=other_municipality)
    alarm = AlarmFactory(terminal=terminal, municipality=other_municipality)
    assert staff_client.get(reverse("idpickup:order", args=[order.pk])).status_code == 404
    assert (
        staff_client.post(
            reverse("idpickup:order", args=[order.pk]), {"action": "cancel"}
        ).status_code
        == 404
    )
    assert staff_client.get(reverse("idpickup:terminal", args=[terminal.pk])).status_code == 404
    assert staff_client.get(reverse("idpickup:simulator", args=[terminal.pk])).status_code == 404
    assert staff_client.post(reverse("idpickup:alarm_clear", args=[alarm.pk])).status_code == 404
    order.refresh_from_db()
    alarm.refresh_from_db()
    assert order.status == S.APPLIED
    assert alarm.cleared_at is None


def test_staff_of_another_tenant_are_not_signed_in_here(
    municipality: Municipality, other_municipality: Municipality, client: Client
) -> None:
    stranger = StaffFactory(
        municipality=other_municipality, permissions=["idpickup.manage_idorder"]
    )
    client.force_login(stranger)
    assert client.get(reverse("idpickup:dashboard")).status_code == 302


def test_order_is_recorded_with_opt_in(staff_client: Client, location: Any) -> None:
    response = staff_client.post(
        reverse("idpickup:order_new"),
        {
            "kind": "passport",
            "given_name": "Lea",
            "family_name": "Sommer",
            "date_of_birth": "1990-07-01",
            "location": location.pk,
            "size": "m",
            "terminal_opt_in": "on",
            "consent": "on",
            "contact_channel": "sms",
            "contact_address": "+49 170 1234567",
            "fingerprint_ref": "FP-LEA-1",
            "needs_low_compartment": "on",
        },
    )
    order = IdOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("idpickup:order", args=[order.pk])
    assert order.contact_address == "+491701234567"
    assert order.needs_low_compartment
    assert order.consent_at is not None
    assert len(order.booking_number) == 10
    page = staff_client.get(response["Location"])
    assert b"<svg" in page.content
    assert order.booking_number.encode() in page.content


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"consent": ""}, "consent"),
        ({"contact_address": "0170 123"}, "contact_address"),
        ({"contact_channel": "email", "contact_address": "not-an-address"}, "contact_address"),
        ({"contact_channel": "pigeon"}, "contact_channel"),
        ({"fingerprint_ref": "<script>"}, "fingerprint_ref"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"given_name": "x" * 500}, "given_name"),
        ({"location": "999999"}, "location"),
        ({"kind": "driving_licence"}, "kind"),
    ],
)
def test_hostile_order_input_is_refused(
    staff_client: Client, location: Any, changes: dict[str, str], field: str
) -> None:
    data = {
        "kind": "id_card",
        "given_name": "Lea",
        "family_name": "Sommer",
        "date_of_birth": "1990-07-01",
        "location": location.pk,
        "size": "s",
        "terminal_opt_in": "on",
        "consent": "on",
        "contact_channel": "sms",
        "contact_address": "+491701234567",
        "fingerprint_ref": "FP-LEA-1",
        **changes,
    }
    response = staff_client.post(reverse("idpickup:order_new"), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors or response.context["form"].non_field_errors()
    assert not IdOrder.objects.exists()


def test_another_tenants_location_is_refused(
    staff_client: Client, other_municipality: Municipality
) -> None:
    from tests.catalog.factories import LocationFactory

    foreign = LocationFactory(municipality=other_municipality)
    response = staff_client.post(
        reverse("idpickup:order_new"),
        {
            "kind": "id_card",
            "given_name": "A",
            "family_name": "B",
            "date_of_birth": "1990-01-01",
            "location": foreign.pk,
            "size": "s",
        },
    )
    assert response.status_code == 400
    assert not IdOrder.objects.exists()


def test_arrivals_single_batch_and_scanned_twice(staff_client: Client, make_order: Any) -> None:
    first = make_order(until="in_production")
    second = make_order(until="in_production")
    response = staff_client.post(
        reverse("idpickup:arrivals"),
        {
            "barcodes": f"{first.document_barcode}\n{second.document_barcode.lower()}\n"
            f"{first.document_barcode}\nUNKNOWN999\n<b>x</b>\n"
        },
    )
    assert response.status_code == 200
    outcomes = [(r.barcode, r.outcome) for r in response.context["results"]]
    assert outcomes == [
        (first.document_barcode, "arrived"),
        (second.document_barcode, "arrived"),
        (first.document_barcode, "already_arrived"),
        ("UNKNOWN999", "unknown"),
        ("<B>X</B>", "invalid"),
    ]
    assert b"<B>X</B>" not in response.content  # escaped
    again = staff_client.post(reverse("idpickup:arrivals"), {"barcodes": first.document_barcode})
    assert [r.outcome for r in again.context["results"]] == ["already_arrived"]
    assert IdOrder.objects.filter(status=S.ARRIVED).count() == 2
    assert first.transitions.filter(to_status=S.ARRIVED).count() == 1


def test_too_many_barcodes_at_once(staff_client: Client, make_order: Any) -> None:
    order = make_order(until="in_production")
    lines = "\n".join([order.document_barcode] + [f"X{n:07d}" for n in range(250)])
    response = staff_client.post(reverse("idpickup:arrivals"), {"barcodes": lines})
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == S.IN_PRODUCTION


def test_order_actions(staff_client: Client, make_order: Any, location: Any) -> None:
    order = make_order(until="applied")
    url = reverse("idpickup:order", args=[order.pk])
    bad = staff_client.post(url, {"action": "production", "document_barcode": "a b"})
    assert bad.status_code == 400
    assert (
        staff_client.post(
            url, {"action": "production", "document_barcode": "T220000077"}
        ).status_code
        == 302
    )
    other = make_order(until="applied")
    taken = staff_client.post(
        reverse("idpickup:order", args=[other.pk]),
        {"action": "production", "document_barcode": "T220000077"},
    )
    assert taken.status_code == 409
    # Handover at the counter is not possible before arrival; the state machine refuses.
    refused = staff_client.post(url, {"action": "counter"})
    assert refused.status_code == 409
    assert staff_client.post(url, {"action": "explode"}).status_code == 400
    assert staff_client.post(url, {"action": "cancel"}).status_code == 302
    order.refresh_from_db()
    assert order.status == S.CANCELLED
    assert order.terminal_closed_at is not None


def test_dashboard_shows_occupancy_alarms_and_overdue(
    staff_client: Client, terminal: Terminal, make_order: Any, django_assert_max_num_queries: Any
) -> None:
    order = make_order()
    IdOrder.objects.filter(pk=order.pk).update(status=S.EXPIRED, terminal=terminal)
    AlarmFactory(terminal=terminal, municipality=terminal.municipality, detail="Glasbruch")
    with django_assert_max_num_queries(25):
        response = staff_client.get(reverse("idpickup:dashboard"))
    assert response.status_code == 200
    assert [o.pk for o in response.context["overdue"]] == [order.pk]
    assert response.context["alarm_count"] == 1
    assert b"Glasbruch" in response.content
    alarm = Alarm.objects.get()
    assert staff_client.post(reverse("idpickup:alarm_clear", args=[alarm.pk])).status_code == 302
    alarm.refresh_from_db()
    assert alarm.cleared_at is not None


def test_terminal_registration_shows_the_key_once(staff_client: Client, location: Any) -> None:
    response = staff_client.post(
        reverse("idpickup:terminal_new"),
        {"name": "Eingang", "location": location.pk, "layout": "s:40, m:120, l:60"},
    )
    assert response.status_code == 200
    terminal = Terminal.objects.get(name="Eingang")
    key = response.context["key"]
    assert key.encode() in response.content
    assert key not in terminal.key_salt
    assert terminal.compartments.count() == 3
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    )
    bad = staff_client.post(
        reverse("idpickup:terminal_new"),
        {"name": "Zwei", "location": location.pk, "layout": "s:40, huge:9"},
    )
    assert bad.status_code == 400
    assert not Terminal.objects.filter(name="Zwei").exists()


def test_simulator_only_for_simulator_terminals(staff_client: Client, terminal: Terminal) -> None:
    page = staff_client.get(reverse("idpickup:simulator", args=[terminal.pk]))
    assert page.status_code == 200
    assert b"simulator.js" in page.content
    Terminal.objects.filter(pk=terminal.pk).update(simulator=False)
    refused = staff_client.get(reverse("idpickup:simulator", args=[terminal.pk]))
    assert refused.status_code == 403
    assert b"data-key" not in refused.content


def test_credential_page(client: Client, municipality: Municipality) -> None:
    clerk = StaffFactory(municipality=municipality, permissions=["idpickup.operate_terminal"])
    client.force_login(clerk)
    url = reverse("idpickup:credential")
    assert client.post(url, {"card_token": "short", "pin": "12ab"}).status_code == 400
    assert (
        client.post(url, {"card_token": "CARD-CLERK-00000000001", "pin": "4321"}).status_code == 302
    )
    assert clerk.idpickup_credential.card_hash


def test_public_status_lookup_without_oracle_and_rate_limited(
    client: Client, make_order: Any
) -> None:
    order = make_order()
    url = reverse("idpickup:status")
    found = client.post(
        url, {"booking_number": order.booking_number.lower(), "date_of_birth": "1980-02-29"}
    )
    assert found.status_code == 200
    assert found.context["order"] == order
    assert "Erika" not in found.content.decode()  # nothing beyond what the asker gave
    wrong_date = client.post(
        url, {"booking_number": order.booking_number, "date_of_birth": "1980-03-01"}
    )
    unknown = client.post(url, {"booking_number": "NOSUCHNUMB", "date_of_birth": "1980-02-29"})
    assert wrong_date.status_code == unknown.status_code == 404
    assert (
        wrong_date.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()
    )
    for _n in range(services.LOOKUP_ATTEMPTS):
        client.post(url, {"booking_number": "GUESS00000", "date_of_birth": "1980-02-29"})
    limited = client.post(
        url, {"booking_number": order.booking_number, "date_of_birth": "1980-02-29"}
    )
    assert limited.status_code == 429
    assert client.post(url, {"booking_number": "x" * 100, "date_of_birth": "x"}).status_code in (
        400,
        429,
    )


def test_lookup_limit_is_per_municipality_and_takes_any_text(
    make_order: Any, other_municipality: Municipality
) -> None:
    """Guessing in one town never locks a number in another; odd input is just not found."""
    order = make_order()
    for _n in range(services.LOOKUP_ATTEMPTS):
        with pytest.raises(NotFound):
            services.order_status_lookup(
                municipality=other_municipality,
                booking_number=order.booking_number,
                date_of_birth=datetime.date(1980, 2, 29),
                ip=f"192.0.2.{_n}",
            )
    found = services.order_status_lookup(
        municipality=order.municipality,
        booking_number=order.booking_number,
        date_of_birth=datetime.date(1980, 2, 29),
        ip="198.51.100.7",
    )
    assert found == order
    with pytest.raises(NotFound):
        services.order_status_lookup(
            municipality=order.municipality,
            booking_number="\x00 \ud800äß:{}\n",
            date_of_birth=datetime.date(1980, 2, 29),
            ip="198.51.100.7",
        )


def test_public_status_api(client: Client, make_order: Any) -> None:
    order = make_order()
    response = client.post(
        "/api/v1/idpickup/status/",
        {"booking_number": order.booking_number, "date_of_birth": "1980-02-29"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "arrived"
    missing = client.post(
        "/api/v1/idpickup/status/",
        {"booking_number": order.booking_number, "date_of_birth": "1999-01-01"},
        content_type="application/json",
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    bad = client.post(
        "/api/v1/idpickup/status/", {"booking_number": 5}, content_type="application/json"
    )
    assert bad.status_code == 400


def test_citizen_sees_own_orders_only(
    client: Client, municipality: Municipality, make_order: Any
) -> None:
    citizen = UserFactory(municipality=municipality)
    mine = make_order(citizen=citizen)
    make_order(citizen=UserFactory(municipality=municipality))
    client.force_login(citizen)
    response = client.get(reverse("idpickup:my_orders"))
    assert response.status_code == 200
    assert list(response.context["orders"]) == [mine]
    anonymous = Client()
    assert anonymous.get(reverse("idpickup:my_orders")).status_code == 302


def test_order_create_refuses_other_tenants_citizen(
    municipality: Municipality, other_municipality: Municipality, location: Any, alice: User
) -> None:
    stranger = UserFactory(municipality=other_municipality)
    with pytest.raises(services.NotFound):
        services.order_create(
            municipality=municipality,
            actor=alice,
            kind="id_card",
            given_name="A",
            family_name="B",
            date_of_birth=datetime.date(1990, 1, 1),
            location=location,
            citizen=stranger,
        )
    assert not IdOrder.objects.exists()
