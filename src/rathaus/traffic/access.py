"""Scoping of traffic rows to the asking municipality and the staff member's permission.

Traffic signals are municipal infrastructure, not personal data: a staff member who
holds a traffic permission in any unit of the municipality may reach every intersection
of that municipality. Another municipality's rows are 404.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from rathaus.core.access import one_or_404
from rathaus.core.models import Municipality
from rathaus.organisation.permissions import user_can_anywhere
from rathaus.traffic.models import Detector, Intersection, Phase, SignalPlan, SimulationRun


def require(user: Any, permission: str) -> None:
    if not user_can_anywhere(user=user, permission=permission):
        raise PermissionDenied


def intersection_for_user(
    *, user: Any, municipality: Municipality, intersection_id: int, permission: str
) -> Intersection:
    require(user, permission)
    return one_or_404(Intersection.objects.filter(municipality=municipality, pk=intersection_id))


def plan_for_user(
    *, user: Any, municipality: Municipality, plan_id: int, permission: str
) -> SignalPlan:
    require(user, permission)
    return one_or_404(
        SignalPlan.objects.select_related("intersection").filter(
            municipality=municipality, pk=plan_id
        )
    )


def phase_for_user(
    *, user: Any, municipality: Municipality, phase_id: int, permission: str
) -> Phase:
    require(user, permission)
    return one_or_404(
        Phase.objects.select_related("intersection").filter(municipality=municipality, pk=phase_id)
    )


def detector_for_user(
    *, user: Any, municipality: Municipality, detector_id: int, permission: str
) -> Detector:
    require(user, permission)
    return one_or_404(
        Detector.objects.select_related("intersection").filter(
            municipality=municipality, pk=detector_id
        )
    )


def run_for_user(
    *, user: Any, municipality: Municipality, run_id: int, permission: str
) -> SimulationRun:
    require(user, permission)
    return one_or_404(SimulationRun.objects.filter(municipality=municipality, pk=run_id))
