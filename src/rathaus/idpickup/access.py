"""The one place that scopes pickup rows to the asking municipality and user.

Staff with ``idpickup.manage_idorder`` reach every order, terminal and alarm of their
municipality (terminals serve the whole Bürgerbüro, not one unit); everything of another
municipality is 404. A citizen reaches only orders linked to their own account.
"""

from typing import Any

from django.http import Http404

from rathaus.core.access import one_or_404
from rathaus.core.errors import PermissionDenied
from rathaus.core.models import Municipality
from rathaus.idpickup.models import MANAGE_PERMISSION, Alarm, IdOrder, Terminal


def _staff_check(user: Any, municipality: Municipality) -> None:
    if not getattr(user, "is_authenticated", False) or getattr(
        user, "municipality_id", None
    ) not in (municipality.pk, None):
        raise Http404
    if not user.is_staff or not user.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied()


def order_for_staff(*, user: Any, municipality: Municipality, order_id: int) -> IdOrder:
    _staff_check(user, municipality)
    return one_or_404(
        IdOrder.objects.select_related("location", "terminal", "compartment", "citizen").filter(
            municipality=municipality, pk=order_id
        )
    )


def terminal_for_staff(*, user: Any, municipality: Municipality, terminal_id: int) -> Terminal:
    _staff_check(user, municipality)
    return one_or_404(
        Terminal.objects.select_related("location").filter(
            municipality=municipality, pk=terminal_id
        )
    )


def alarm_for_staff(*, user: Any, municipality: Municipality, alarm_id: int) -> Alarm:
    _staff_check(user, municipality)
    return one_or_404(Alarm.objects.filter(municipality=municipality, pk=alarm_id))


def order_for_citizen(*, user: Any, municipality: Municipality, order_id: int) -> IdOrder:
    if not getattr(user, "is_authenticated", False) or user.municipality_id != municipality.pk:
        raise Http404
    return one_or_404(
        IdOrder.objects.select_related("location").filter(
            municipality=municipality, citizen_id=user.pk, pk=order_id
        )
    )
