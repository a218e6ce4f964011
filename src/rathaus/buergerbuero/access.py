"""The one place that scopes Bürgerbüro ids from a request to the tenant and the asker.

Locations, services, tickets (by their secret token) and appointments of another
municipality are 404. Counters need ``buergerbuero.serve_counter``; a clerk acts only on
the ticket at their own counter (checked again in the services).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from rathaus.buergerbuero.models import SERVE_COUNTER, Appointment, Counter, Office, Ticket
from rathaus.catalog.models import Location, Service
from rathaus.core.models import Municipality


def _int(value: Any) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError) as error:
        raise Http404 from error
    if not 0 < number < 2**31:
        raise Http404
    return number


def office_public(*, municipality: Municipality, location_id: Any) -> Office:
    """An active office at a public location of this municipality, or 404."""
    office = (
        Office.objects.select_related("location", "municipality")
        .filter(
            municipality=municipality,
            location_id=_int(location_id),
            is_active=True,
            location__is_public=True,
        )
        .first()
    )
    if office is None:
        raise Http404
    return office


def location_public(*, municipality: Municipality, location_id: Any) -> Location:
    return office_public(municipality=municipality, location_id=location_id).location


def services_public(*, municipality: Municipality, service_ids: Iterable[Any]) -> list[Service]:
    """Public services of this municipality by id, in the given order; any unknown → 404."""
    ids = list(dict.fromkeys(_int(i) for i in service_ids))
    if len(ids) > 10:
        raise Http404
    found = {
        s.pk: s
        for s in Service.objects.filter(municipality=municipality, is_public=True, pk__in=ids)
    }
    if len(found) != len(ids):
        raise Http404
    return [found[i] for i in ids]


def ticket_by_token(*, municipality: Municipality, token: str) -> Ticket:
    if not token or len(token) > 64:
        raise Http404
    ticket = (
        Ticket.objects.select_related("office__location", "counter")
        .prefetch_related("services")
        .filter(municipality=municipality, token=token)
        .first()
    )
    if ticket is None:
        raise Http404
    return ticket


def _staff_member(user: Any, municipality: Municipality) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        getattr(user, "municipality_id", None) == municipality.pk
    )


def counter_for_clerk(*, user: Any, municipality: Municipality, counter_id: Any) -> Counter:
    """A counter of this municipality for a clerk with ``serve_counter``: 404 / 403."""
    if not _staff_member(user, municipality):
        raise Http404
    counter = (
        Counter.objects.select_related("office__location", "office__municipality")
        .filter(municipality=municipality, pk=_int(counter_id), is_active=True)
        .first()
    )
    if counter is None:
        raise Http404
    if not user.has_perm(SERVE_COUNTER):
        raise PermissionDenied
    return counter


def ticket_for_counter(*, counter: Counter, ticket_id: Any) -> Ticket:
    ticket = Ticket.objects.filter(
        municipality_id=counter.municipality_id, office_id=counter.office_id, pk=_int(ticket_id)
    ).first()
    if ticket is None:
        raise Http404
    return ticket


def counter_of_office(*, counter: Counter, counter_id: Any) -> Counter:
    other = Counter.objects.filter(
        office_id=counter.office_id, pk=_int(counter_id), is_active=True
    ).first()
    if other is None:
        raise Http404
    return other


def appointment_for_citizen(
    *, user: Any, municipality: Municipality, appointment_id: Any
) -> Appointment:
    """The signed-in citizen's own appointment, or 404."""
    if not _staff_member(user, municipality):
        raise Http404
    appointment = (
        Appointment.objects.select_related("office__location")
        .filter(municipality=municipality, citizen_id=user.pk, pk=_int(appointment_id))
        .first()
    )
    if appointment is None:
        raise Http404
    return appointment


def office_for_manager(*, user: Any, municipality: Municipality, office_id: Any) -> Office:
    """An office of this municipality for staff with ``manage_office``: 404 / 403."""
    from rathaus.buergerbuero.models import MANAGE_OFFICE

    if not _staff_member(user, municipality):
        raise Http404
    office = (
        Office.objects.select_related("location", "municipality")
        .filter(municipality=municipality, pk=_int(office_id))
        .first()
    )
    if office is None:
        raise Http404
    if not user.has_perm(MANAGE_OFFICE):
        raise PermissionDenied
    return office


def location_of_municipality(*, municipality: Municipality, location_id: Any) -> Location:
    location = Location.objects.filter(municipality=municipality, pk=_int(location_id)).first()
    if location is None:
        raise Http404
    return location


def counter_of(*, office: Office, counter_id: Any) -> Counter:
    counter = Counter.objects.filter(office=office, pk=_int(counter_id)).first()
    if counter is None:
        raise Http404
    return counter


def staff_of(*, municipality: Municipality, user_id: Any) -> Any:
    from rathaus.accounts.models import User

    user = User.objects.filter(municipality=municipality, is_staff=True, pk=_int(user_id)).first()
    if user is None:
        raise Http404
    return user
