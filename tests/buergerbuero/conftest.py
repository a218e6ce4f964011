"""Fixtures of the Bürgerbüro tests: an office open Monday to Friday 08:00-18:00 with two
counters and two services, on a Monday morning (7 December 2026, no holiday)."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from rathaus.buergerbuero.models import Counter, Office
from rathaus.catalog.models import Service
from rathaus.core.models import Municipality
from tests.buergerbuero.factories import CounterFactory, OfficeFactory, ServiceFactory, offer
from tests.factories import StaffFactory

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def clock() -> Iterator[Any]:
    with freeze_time(MONDAY_10, tick=False) as frozen:
        yield frozen


@pytest.fixture
def office(municipality: Municipality) -> Office:
    return OfficeFactory(municipality=municipality, location__name_de="Bürgerbüro Mitte")


@pytest.fixture
def passport(office: Office) -> Service:
    service = ServiceFactory(municipality=office.municipality, name_de="Reisepass beantragen")
    offer(service, office, 20)
    return service


@pytest.fixture
def registration(office: Office) -> Service:
    service = ServiceFactory(municipality=office.municipality, name_de="Wohnsitz anmelden")
    offer(service, office, 10)
    return service


@pytest.fixture
def counters(office: Office) -> list[Counter]:
    return [
        CounterFactory(office=office, name="Schalter 1", room="E.01"),
        CounterFactory(office=office, name="Schalter 2", room="E.02"),
    ]


@pytest.fixture
def clerk(municipality: Municipality) -> Any:
    return StaffFactory(municipality=municipality, permissions=["buergerbuero.serve_counter"])


@pytest.fixture
def clerk2(municipality: Municipality) -> Any:
    return StaffFactory(municipality=municipality, permissions=["buergerbuero.serve_counter"])
