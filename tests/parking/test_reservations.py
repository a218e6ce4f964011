"""Reservable spaces: booking rules, check-in by code or plate, release of no-shows,
and the citizen's pages (other tenants and other citizens get 404)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from rathaus.core.errors import Conflict, PermissionDenied, ValidationFailed
from rathaus.core.models import Municipality
from rathaus.parking.models import CHECK_IN, Reservation, Space
from rathaus.parking.services import reservation_book, reservation_check_in, reservations_release
from tests.factories import UserFactory
from tests.parking.conftest import staff_with, token_for
from tests.parking.factories import ParkingSiteFactory, ReservationFactory, SpaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def space(municipality: Municipality) -> Space:
    return SpaceFactory(
        site=ParkingSiteFactory(municipality=municipality, name="Marstall"), external_id="R1"
    )


def _window(hours: float = 1, length: float = 2) -> tuple[object, object]:
    start = timezone.now() + timedelta(hours=hours)
    return start, start + timedelta(hours=length)


def test_book_and_refuse_overlap(space: Space, municipality: Municipality) -> None:
    anna, ben = UserFactory(municipality=municipality), UserFactory(municipality=municipality)
    start, end = _window()
    booked = reservation_book(
        citizen=anna, space=space, starts_at=start, ends_at=end, plate="s-ab 123"
    )
    assert booked.plate == "S-AB 123"
    assert booked.status == "booked"
    with pytest.raises(Conflict) as caught:
        reservation_book(
            citizen=ben,
            space=space,
            starts_at=start + timedelta(minutes=30),
            ends_at=end + timedelta(hours=1),
            plate="B-C 1",
        )
    assert caught.value.code == "space_taken"
    # Back to back is fine.
    reservation_book(
        citizen=ben, space=space, starts_at=end, ends_at=end + timedelta(hours=1), plate="B-C 1"
    )


@pytest.mark.parametrize(
    ("start_hours", "length", "plate", "field"),
    [
        (-1, 2, "S-AB 123", "starts_at"),
        (24 * 15, 2, "S-AB 123", "starts_at"),
        (1, -1, "S-AB 123", "ends_at"),
        (1, 25, "S-AB 123", "ends_at"),
        (1, 2, "<script>", "plate"),
        (1, 2, "S-AB 0", "plate"),
    ],
)
def test_booking_rules(
    space: Space,
    municipality: Municipality,
    start_hours: float,
    length: float,
    plate: str,
    field: str,
) -> None:
    start, end = _window(start_hours, length)
    with pytest.raises(ValidationFailed) as caught:
        reservation_book(
            citizen=UserFactory(municipality=municipality),
            space=space,
            starts_at=start,
            ends_at=end,
            plate=plate,
        )
    assert field in caught.value.fields
    assert not Reservation.objects.exists()


def test_not_reservable_or_foreign_citizen(space: Space, other_municipality: Municipality) -> None:
    start, end = _window()
    with pytest.raises(PermissionDenied):
        reservation_book(
            citizen=UserFactory(municipality=other_municipality),
            space=space,
            starts_at=start,
            ends_at=end,
            plate="S-AB 1",
        )
    Space.objects.filter(pk=space.pk).update(reservable=False)
    space.refresh_from_db()
    with pytest.raises(PermissionDenied):
        reservation_book(
            citizen=UserFactory(municipality=space.municipality),
            space=space,
            starts_at=start,
            ends_at=end,
            plate="S-AB 1",
        )


def test_at_most_three_active_reservations(space: Space, municipality: Municipality) -> None:
    citizen = UserFactory(municipality=municipality)
    for day in range(3):
        start, end = _window(1 + 24 * day)
        reservation_book(citizen=citizen, space=space, starts_at=start, ends_at=end, plate="S-AB 1")
    start, end = _window(100)
    with pytest.raises(Conflict):
        reservation_book(citizen=citizen, space=space, starts_at=start, ends_at=end, plate="S-AB 1")


def test_check_in_by_code_or_plate_and_release_of_no_shows(space: Space) -> None:
    now = timezone.now()
    due = ReservationFactory(
        space=space, starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=1)
    )
    with pytest.raises(PermissionDenied):
        reservation_check_in(space=space, code="wrong")
    with pytest.raises(ValidationFailed):
        reservation_check_in(space=space)
    assert reservation_check_in(space=space, code=due.code).status == "checked_in"
    late = ReservationFactory(
        space=space,
        starts_at=now + timedelta(hours=2),
        ends_at=now + timedelta(hours=3),
        plate="S-XY 9",
    )
    assert (
        reservation_check_in(
            space=space, plate="s-xy 9", now=now + timedelta(hours=2, minutes=5)
        ).pk
        == late.pk
    )
    no_show = ReservationFactory(
        space=space, starts_at=now + timedelta(hours=4), ends_at=now + timedelta(hours=5)
    )
    assert reservations_release(now=now + timedelta(hours=4, minutes=14)) == 0  # grace: 15 minutes
    assert reservations_release(now=now + timedelta(hours=4, minutes=16)) == 1
    no_show.refresh_from_db()
    assert no_show.status == "released"
    with pytest.raises(PermissionDenied):
        reservation_check_in(
            space=space, code=no_show.code, now=now + timedelta(hours=4, minutes=20)
        )


def test_check_in_api_needs_the_permission(
    client: Client,
    space: Space,
    municipality: Municipality,
    other_client: Client,
    other_municipality: Municipality,
) -> None:
    now = timezone.now()
    due = ReservationFactory(space=space, starts_at=now, ends_at=now + timedelta(hours=1))
    url = f"/api/v1/parking/spaces/{space.pk}/check-in"
    plain = token_for(staff_with(municipality, []))
    assert (
        client.post(
            url,
            {"code": due.code},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {plain}",
        ).status_code
        == 403
    )
    foreign = token_for(staff_with(other_municipality, [CHECK_IN]))
    assert (
        other_client.post(
            url,
            {"code": due.code},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {foreign}",
        ).status_code
        == 404
    )
    operator = token_for(staff_with(municipality, [CHECK_IN]))
    response = client.post(
        url,
        {"plate": "S-AB 123"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {operator}",
    )
    assert response.status_code == 200
    assert response.json()["reservation"] == due.pk
    again = client.post(
        url,
        {"code": due.code},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {operator}",
    )
    assert again.status_code == 403
    assert again.json()["error"]["code"] == "no_reservation"


def test_reservation_pages(
    client: Client,
    space: Space,
    municipality: Municipality,
    other_client: Client,
    other_municipality: Municipality,
) -> None:
    site_url = f"/parken/{space.site_id}/"
    assert "/anmelden/?next=" in client.get(site_url).content.decode()
    reserve_url = f"/parken/{space.site_id}/reservieren/"
    assert client.post(reserve_url, {}).status_code == 302  # to the login page
    citizen = UserFactory(municipality=municipality)
    client.force_login(citizen)
    start = timezone.localtime() + timedelta(hours=1)
    data = {
        "space": space.pk,
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "plate": "S-AB 123",
    }
    response = client.post(reserve_url, data)
    assert response.status_code == 302
    assert response["Location"] == "/parken/reservierungen/"
    page = client.get("/parken/reservierungen/").content.decode()
    assert "S-AB 123" in page
    assert "data:image/svg+xml" in page
    # The same window again: refused with the message, nothing booked.
    again = client.post(reserve_url, data)
    assert again.status_code == 409
    assert "bereits reserviert" in again.content.decode()
    bad = client.post(reserve_url, {**data, "plate": "x" * 50, "space": "999999"})
    assert bad.status_code == 400
    assert Reservation.objects.count() == 1
    reservation = Reservation.objects.get()
    # Another citizen cannot see or cancel it; another municipality does not know it.
    client.force_login(UserFactory(municipality=municipality))
    assert client.post(f"/parken/reservierungen/{reservation.pk}/stornieren/").status_code == 404
    other_client.force_login(UserFactory(municipality=other_municipality))
    assert (
        other_client.post(f"/parken/reservierungen/{reservation.pk}/stornieren/").status_code == 404
    )
    assert other_client.post(reserve_url, data).status_code == 404
    client.force_login(citizen)
    assert client.post(f"/parken/reservierungen/{reservation.pk}/stornieren/").status_code == 302
    reservation.refresh_from_db()
    assert reservation.status == "cancelled"
