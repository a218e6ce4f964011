"""Fixtures of the traffic tests: a small four-arm intersection for the controller
library, the smallest RESCO scenario, traffic staff and an engineer who approves plans."""

from datetime import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit, Role
from rathaus.traffic import services
from rathaus.traffic.control.model import (
    GroupKind,
    Intersection,
    Phase,
    SignalGroup,
    intersection_build,
)
from rathaus.traffic.control.timetable import DAY_TYPES
from rathaus.traffic.models import Intersection as TrafficIntersection
from rathaus.traffic.models import SignalPlan
from tests.conftest import strong_login
from tests.factories import StaffFactory
from tests.organisation.factories import OrgUnitFactory, RoleFactory, RoleGrantFactory

ENGINEER_PERMISSIONS = [
    "traffic.view_traffic",
    "traffic.manage_signals",
    "traffic.run_simulations",
    "traffic.approve_plans",
]


def resco(name: str) -> Path:
    return Path(django_settings.RATHAUS_SHARED_DIR) / "data" / "traffic" / "resco" / name


def cross(*, yellow: float = 3.0, all_red: float = 2.0, ped_min: float = 0.0) -> Intersection:
    """Two streams (0: north-south, 1: east-west), their protected left turns (2, 3) and
    a pedestrian crossing (4) that goes with north-south."""
    groups = [
        SignalGroup(0, "NS", yellow=yellow, lanes=("n_0", "s_0"), out_lanes=("x_0",)),
        SignalGroup(1, "EW", yellow=yellow, lanes=("e_0", "w_0"), out_lanes=("y_0",)),
        SignalGroup(2, "NS-left", yellow=yellow, lanes=("n_1",), out_lanes=("y_0",)),
        SignalGroup(3, "EW-left", yellow=yellow, lanes=("e_1",), out_lanes=("x_0",)),
        SignalGroup(4, "ped", kind=GroupKind.PEDESTRIAN, yellow=0.0, min_green=ped_min),
    ]
    compatible = {(0, 4), (4, 0)}
    intergreen = {
        (a, b): (yellow + all_red) if a != 4 else 5.0
        for a in range(5)
        for b in range(5)
        if a != b and (a, b) not in compatible
    }
    phases = [
        Phase("A", frozenset({0, 4}), min_green=5, max_green=40),
        Phase("B", frozenset({1}), min_green=5, max_green=40),
        Phase("C", frozenset({2}), min_green=4, max_green=20),
        Phase("D", frozenset({3}), min_green=4, max_green=20),
    ]
    return intersection_build(id="x", groups=groups, phases=phases, intergreen=intergreen)


@pytest.fixture(autouse=True)
def _english(settings: Any) -> None:
    """Pages and errors in English where the tests read them (German is the default)."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def traffic_unit(municipality: Municipality) -> OrgUnit:
    return OrgUnitFactory(municipality=municipality, code="TA", name_de="Tiefbauamt")


@pytest.fixture
def engineer_role(municipality: Municipality) -> Role:
    return RoleFactory(municipality=municipality, key="verkehr", permissions=ENGINEER_PERMISSIONS)


def staff_with(unit: OrgUnit, role: Role, **fields: Any) -> User:
    user = StaffFactory(municipality=unit.municipality, **fields)
    RoleGrantFactory(user=user, role=role, org_unit=unit)
    return user


@pytest.fixture
def engineer(traffic_unit: OrgUnit, engineer_role: Role) -> User:
    return staff_with(traffic_unit, engineer_role, email="ingenieurin@example.org")


@pytest.fixture
def second_engineer(traffic_unit: OrgUnit, engineer_role: Role) -> User:
    return staff_with(traffic_unit, engineer_role, email="pruefer@example.org")


@pytest.fixture
def engineer_client(client: Client, engineer: User) -> Client:
    strong_login(client, engineer)
    return client


@pytest.fixture
def cologne1_net() -> bytes:
    return (resco("cologne1") / "cologne1.net.xml").read_bytes()


@pytest.fixture
def intersection(municipality: Municipality, cologne1_net: bytes) -> TrafficIntersection:
    """cologne1's traffic light, imported for ``municipality``."""
    return services.network_import(
        municipality=municipality, content=cologne1_net, network="cologne1"
    )[0]


FLOWS = {0: 600.0, 1: 120.0, 2: 500.0, 3: 100.0}


def plan_for(
    intersection: TrafficIntersection,
    name: str = "Tag",
    starts: time = time(6),
    ends: time = time(22),
    *,
    author: Any = None,
    offset: float = 0.0,
    flows: dict[int, float] | None = None,
    days: tuple[str, ...] = DAY_TYPES,
) -> SignalPlan:
    """A draft plan of cologne1's traffic light by Webster's method from ``flows``."""
    return services.plan_compute(
        intersection=intersection,
        name=name,
        starts_at=starts,
        ends_at=ends,
        flows=flows or FLOWS,
        offset=offset,
        days=days,
        actor=author,
    )


def lengthen_a_default_intergreen(intersection: TrafficIntersection) -> tuple[int, int, float]:
    """Review one default intergreen by hand, 4 s longer; its (clearing, entering, new
    seconds)."""
    from rathaus.traffic.models import Intergreen

    pair = Intergreen.objects.filter(intersection=intersection, source="default").first()
    assert pair is not None
    seconds = pair.seconds + 4.0
    services.intergreen_set(
        intersection=intersection,
        clearing=pair.clearing.index,
        entering=pair.entering.index,
        seconds=seconds,
    )
    return pair.clearing.index, pair.entering.index, seconds


def report(detector: Any, *, seconds_ago: float = 30.0, count: int = 3) -> None:
    """``detector`` reports ``count`` vehicles, ``seconds_ago`` seconds ago, through the
    ingestion service."""
    from datetime import timedelta

    from django.utils import timezone

    services.readings_ingest(
        municipality=detector.municipality,
        readings=[
            {
                "detector": detector.pk,
                "measured_at": timezone.now() - timedelta(seconds=seconds_ago),
                "count": count,
                "occupancy": 0.2,
            }
        ],
    )
