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
from rathaus.core.access import id_or_404, is_member, one_or_404
from rathaus.core.models import Municipality


def office_public(*, municipality: Municipality, location_id: Any) -> Office:
    """An active office at a public location of this municipality, or 404."""
    return one_or_404(
        Office.objects.select_related("location", "municipality").filter(
            municipality=municipality,
            location_id=id_or_404(location_id),
            is_active=True,
            location__is_public=True,
        )
    )


def location_public(*, municipality: Municipality, location_id: Any) -> Location:
    return office_public(municipality=municipality, location_id=location_id).location


def services_public(*, municipality: Municipality, service_ids: Iterable[Any]) -> list[Service]:
    """Public services of this municipality by id, in the given order; any unknown → 404."""
    ids = list(dict.fromkeys(id_or_404(i) for i in service_ids))
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
    return one_or_404(
        Ticket.objects.select_related("office__location", "counter")
        .prefetch_related("services")
        .filter(municipality=municipality, token=token)
    )


def counter_for_clerk(*, user: Any, municipality: Municipality, counter_id: Any) -> Counter:
    """A counter of this municipality for a clerk with ``serve_counter``: 404 / 403."""
    if not is_member(user, municipality):
        raise Http404
    counter = one_or_404(
        Counter.objects.select_related("office__location", "office__municipality").filter(
            municipality=municipality, pk=id_or_404(counter_id), is_active=True
        )
    )
    if not user.has_perm(SERVE_COUNTER):
        raise PermissionDenied
    return counter


def ticket_for_counter(*, counter: Counter, ticket_id: Any) -> Ticket:
    return one_or_404(
        Ticket.objects.filter(
            municipality_id=counter.municipality_id,
            office_id=counter.office_id,
            pk=id_or_404(ticket_id),
        )
    )


def counter_of_office(*, counter: Counter, counter_id: Any) -> Counter:
    return one_or_404(
        Counter.objects.filter(
            office_id=counter.office_id, pk=id_or_404(counter_id), is_active=True
        )
    )


def appointment_for_citizen(
    *, user: Any, municipality: Municipality, appointment_id: Any
) -> Appointment:
    """The signed-in citizen's own appointment, or 404."""
    if not is_member(user, municipality):
        raise Http404
    return one_or_404(
        Appointment.objects.select_related("office__location").filter(
            municipality=municipality, citizen_id=user.pk, pk=id_or_404(appointment_id)
        )
    )


def office_for_manager(*, user: Any, municipality: Municipality, office_id: Any) -> Office:
    """An office of this municipality for staff with ``manage_office``: 404 / 403."""
    from rathaus.buergerbuero.models import MANAGE_OFFICE

    if not is_member(user, municipality):
        raise Http404
    office = one_or_404(
        Office.objects.select_related("location", "municipality").filter(
            municipality=municipality, pk=id_or_404(office_id)
        )
    )
    if not user.has_perm(MANAGE_OFFICE):
        raise PermissionDenied
    return office


def location_of_municipality(*, municipality: Municipality, location_id: Any) -> Location:
    return one_or_404(Location.objects.filter(municipality=municipality, pk=id_or_404(location_id)))


def counter_of(*, office: Office, counter_id: Any) -> Counter:
    return one_or_404(Counter.objects.filter(office=office, pk=id_or_404(counter_id)))


def staff_of(*, municipality: Municipality, user_id: Any) -> Any:
    from rathaus.accounts.models import User

    return one_or_404(
        User.objects.filter(municipality=municipality, is_staff=True, pk=id_or_404(user_id))
    )
