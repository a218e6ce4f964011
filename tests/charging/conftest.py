"""Fixtures of the charging tests: the central system on a loopback port, in a thread.

The central system and the simulated stations share one event loop in a background
thread; the test (synchronous Django code) submits coroutines with ``Running.run`` and
polls the database with ``wait_for``.
"""

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from django.db import OperationalError, connection

from rathaus.charging.models import Station
from rathaus.charging.ocpp.server import CentralSystem
from rathaus.charging.ocpp.simulator import SimulatedStation
from tests.charging.factories import STATION_SECRET

T = TypeVar("T")


@dataclass
class Running:
    central: CentralSystem
    loop: asyncio.AbstractEventLoop
    scheme: str = "ws"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.central.port}/ocpp"

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def station(self, station: Station, *, version: str = "1.6", **kwargs: Any) -> SimulatedStation:
        """A connected, booted simulator for ``station``."""
        kwargs.setdefault("password", STATION_SECRET)
        sim = SimulatedStation(url=self.url, identity=station.identity, version=version, **kwargs)
        self.run(sim.connect())
        return sim

    def settle(self) -> None:
        """Write buffered readings and send queued commands now."""
        self.run(self.central.flush())
        self.run(self.central.dispatch_commands())


def retrying(fn: Callable[[], T]) -> T:
    """Run ``fn``, again while SQLite's shared in-memory test database is locked by the
    central system's thread (PostgreSQL never needs this)."""
    for _attempt in range(200):
        try:
            return fn()
        except OperationalError as error:
            if "locked" not in str(error):
                raise
            time.sleep(0.02)
    return fn()


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = retrying(predicate)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def start_central(loop: asyncio.AbstractEventLoop, **kwargs: Any) -> CentralSystem:
    kwargs.setdefault("db_workers", 1 if connection.vendor == "sqlite" else 3)
    kwargs.setdefault("port", 0)
    central = CentralSystem(poll_interval=0.5, flush_interval=0.2, **kwargs)
    asyncio.run_coroutine_threadsafe(central.start(), loop).result(30)
    return central


@pytest.fixture
def event_loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@pytest.fixture
def central(
    transactional_db: None, event_loop_thread: asyncio.AbstractEventLoop
) -> Iterator[Running]:
    system = start_central(event_loop_thread)
    running = Running(system, event_loop_thread)
    yield running
    asyncio.run_coroutine_threadsafe(running.central.stop(), event_loop_thread).result(60)


@pytest.fixture
def operator(municipality: Any) -> Any:
    """Staff with both charging permissions at the municipality's root unit."""
    from tests.organisation.factories import OrgUnitFactory, RoleFactory, RoleGrantFactory

    unit = OrgUnitFactory(municipality=municipality)
    role = RoleFactory(
        municipality=municipality,
        permissions=["charging.operate_stations", "charging.export_records"],
    )
    grant = RoleGrantFactory(org_unit=unit, role=role, include_subunits=True)
    grant.user.email = "betrieb@musterstadt.example"
    grant.user.save()
    return grant.user
