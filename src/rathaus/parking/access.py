"""The one place that scopes parking objects from a request to its municipality and to
who is asking: another municipality's ids are 404; a citizen reaches only their own
reservations; pushing data and checking in need their permission (403)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import Http404

from rathaus.core.access import is_member, one_or_404
from rathaus.core.models import Municipality, TenantModel
from rathaus.organisation.permissions import user_can_anywhere
from rathaus.parking.models import DatexSource, EventMode, ParkingSite, Reservation, Sign, Space

T = TypeVar("T", bound=TenantModel)


def site_public(*, municipality: Municipality, site_id: int) -> ParkingSite:
    """An active site of the municipality (public information), or 404."""
    return one_or_404(
        ParkingSite.objects.select_related("municipality", "forecast").filter(
            municipality=municipality, is_active=True, pk=site_id
        )
    )


def sign_public(*, municipality: Municipality, key: str) -> Sign:
    return one_or_404(
        Sign.objects.select_related("municipality").filter(municipality=municipality, key=key[:64])
    )


def space_reservable(*, user: Any, municipality: Municipality, space_id: int) -> Space:
    """A reservable space a signed-in citizen of this municipality may book, or 404."""
    if not is_member(user, municipality):
        raise Http404
    return one_or_404(
        Space.objects.select_related("site", "municipality").filter(
            municipality=municipality, reservable=True, site__is_active=True, pk=space_id
        )
    )


def reservation_for_citizen(
    *, user: Any, municipality: Municipality, reservation_id: int
) -> Reservation:
    """The citizen's own reservation, or 404 for anyone else's."""
    if not is_member(user, municipality):
        raise Http404
    return one_or_404(
        Reservation.objects.select_related("space__site", "space__municipality").filter(
            municipality=municipality, citizen_id=user.pk, pk=reservation_id
        )
    )


def require(*, user: Any, municipality: Municipality, permission: str) -> None:
    """403 unless ``user`` of this municipality holds ``permission`` in some unit."""
    if not is_member(user, municipality) or not user_can_anywhere(user=user, permission=permission):
        raise PermissionDenied


def space_for_operator(
    *, user: Any, municipality: Municipality, space_id: int, permission: str
) -> Space:
    """A space of this municipality for staff checking in arrivals: 404 other tenant's,
    403 without the permission."""
    space = one_or_404(
        Space.objects.select_related("site", "municipality").filter(
            municipality=municipality, pk=space_id
        )
    )
    require(user=user, municipality=municipality, permission=permission)
    return space


def _own(model: type[T], municipality: Municipality, pk: int) -> T:
    """A configuration object of the municipality for staff who manage parking (the view
    checks the permission), or 404: another municipality's ids do not exist here."""
    return one_or_404(
        model._default_manager.select_related("municipality").filter(
            municipality=municipality, pk=pk
        )
    )


def sign_for_staff(*, municipality: Municipality, sign_id: int) -> Sign:
    return _own(Sign, municipality, sign_id)


def event_mode_for_staff(*, municipality: Municipality, mode_id: int) -> EventMode:
    return _own(EventMode, municipality, mode_id)


def datex_source_for_staff(*, municipality: Municipality, source_id: int) -> DatexSource:
    return _own(DatexSource, municipality, source_id)
