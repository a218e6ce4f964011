"""Load management on a limited site, offline replay, a reconnect storm, restarts."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from rathaus.charging import services
from rathaus.charging.models import ChargingSession, Command, Station, StationEvent
from tests.charging.conftest import Running, retrying, start_central, wait_for
from tests.charging.factories import SiteFactory, StationFactory, TokenFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _last_limit(sim, count: int) -> float:
    wait_for(lambda: len(sim.profile_limits) >= count)
    return sim.profile_limits[-1]


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_two_stations_share_a_limited_site(central: Running, municipality, version: str) -> None:
    site = SiteFactory(municipality=municipality, grid_limit_w=30000)
    first = StationFactory(site=site, max_power_w=22000)
    second = StationFactory(site=site, max_power_w=11000)
    TokenFactory(municipality=municipality, uid="A")
    TokenFactory(municipality=municipality, uid="B")
    sim_a = central.station(first, version=version)
    sim_b = central.station(second, version=version)
    central.run(sim_a.boot_and_report())
    central.run(sim_b.boot_and_report())

    # Alone, the first station may use its full power: no profile is needed.
    central.run(sim_a.start_transaction(1, "A"))
    central.settle()
    wait_for(lambda: Station.objects.get(pk=first.pk).allocated_w is None)
    assert sim_a.profile_limits == []

    # Both charging: an equal share is 15 kW, the second can take only 11 kW (its full
    # power, so it needs no profile), the first gets the rest; never above 30 kW.
    central.run(sim_b.start_transaction(1, "B"))
    central.settle()
    assert _last_limit(sim_a, 1) == 19000
    assert sim_b.profile_limits == []

    # A lower limit (by schedule or by hand) is shared again.
    retrying(lambda: services.site_limit_update(site=site, grid_limit_w=16000))
    central.settle()
    assert _last_limit(sim_a, 2) == 8000
    assert _last_limit(sim_b, 1) == 8000

    # The second stops: the first may use the whole site limit.
    central.run(sim_b.stop_transaction(1))
    central.settle()
    assert _last_limit(sim_a, 3) == 16000
    commands = Command.objects.filter(source="load")
    wait_for(lambda: commands.filter(status="accepted").count() == 4)
    assert commands.count() == 4
    assert not Station.objects.filter(profile_rejected=True).exists()


def test_a_station_refusing_its_profile_is_flagged(central: Running, municipality) -> None:
    site = SiteFactory(municipality=municipality, grid_limit_w=11000)
    station = StationFactory(site=site)
    sim = central.station(station, accept_profiles=False)
    central.run(sim.boot_and_report())
    central.run(sim.start_transaction(1, "X"))
    central.settle()
    wait_for(lambda: Station.objects.get(pk=station.pk).profile_rejected)
    event = StationEvent.objects.get(station=station, code="profile_rejected")
    assert "11000 W" in event.detail
    command = Command.objects.get(station=station, source="load")
    assert command.status == "rejected"
    assert command.response["status"] == "Rejected"


def test_offline_v16_station_replays_its_queue_without_duplicates(
    central: Running, municipality
) -> None:
    station = StationFactory(site__municipality=municipality)
    TokenFactory(municipality=municipality, uid="CARD-7")
    sim = central.station(station)
    central.run(sim.boot_and_report())
    central.run(sim.go_offline())
    wait_for(lambda: not Station.objects.get(pk=station.pk).is_online)

    t0 = datetime.now(UTC) - timedelta(minutes=30)
    central.run(sim.start_transaction(1, "CARD-7", meter_start=1000, at=t0))
    central.run(sim.meter(1, 3000, at=t0 + timedelta(minutes=10)))
    central.run(sim.meter(1, 5000, at=t0 + timedelta(minutes=20)))
    central.run(sim.stop_transaction(1, at=t0 + timedelta(minutes=25)))
    queued = list(sim.queue)
    assert [action for action, _p, _t in queued] == [
        "StartTransaction",
        "MeterValues",
        "MeterValues",
        "StopTransaction",
    ]
    assert not ChargingSession.objects.exists()

    central.run(sim.reconnect_and_replay())
    central.settle()
    session = ChargingSession.objects.get()
    assert session.status == "finished"
    assert session.energy_wh == 4000
    assert session.started_at == t0.replace(microsecond=session.started_at.microsecond)
    assert session.samples.count() == 2

    # The station did not get our answers and sends the whole queue once more.
    sim.queue = [(a, dict(p), t) for a, p, t in queued]
    central.run(sim.reconnect_and_replay())
    central.settle()
    assert ChargingSession.objects.count() == 1
    session.refresh_from_db()
    assert session.energy_wh == 4000
    assert session.samples.count() == 2
    codes = set(StationEvent.objects.filter(station=station).values_list("code", flat=True))
    assert {"start_repeated", "stop_repeated"} <= codes


def test_offline_v201_station_replays_its_queue_without_duplicates(
    central: Running, municipality
) -> None:
    station = StationFactory(site__municipality=municipality)
    sim = central.station(station, version="2.0.1")
    central.run(sim.boot_and_report())
    central.run(sim.go_offline())
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    central.run(sim.start_transaction(1, "CARD-8", meter_start=0, at=t0))
    central.run(sim.meter(1, 2000, at=t0 + timedelta(minutes=5)))
    central.run(sim.stop_transaction(1, at=t0 + timedelta(minutes=10)))
    queued = list(sim.queue)
    assert all(p.get("offline") for _a, p, _t in queued)

    central.run(sim.reconnect_and_replay())
    central.settle()
    session = ChargingSession.objects.get()
    assert session.status == "finished"
    assert session.energy_wh == 2000
    assert session.user_kind == ""  # an unknown card: recorded, not billed to a contract

    sim.queue = queued
    central.run(sim.reconnect_and_replay())
    central.settle()
    assert ChargingSession.objects.count() == 1
    assert StationEvent.objects.filter(station=station, code="event_repeated").exists()


def test_meter_values_going_backwards_are_dropped_with_a_reason(
    central: Running, municipality
) -> None:
    station = StationFactory(site__municipality=municipality)
    sim = central.station(station)
    central.run(sim.boot_and_report())
    central.run(sim.start_transaction(1, "Z", meter_start=500))
    central.run(sim.meter(1, 2000))
    central.settle()
    central.run(sim.meter(1, 1500))
    central.settle()
    session = ChargingSession.objects.get()
    assert session.meter_last_wh == 2000
    event = StationEvent.objects.get(code="meter_backwards")
    assert "1500 Wh" in event.detail


def test_reconnect_storm_and_restart_lose_no_transaction(
    central: Running, municipality, event_loop_thread
) -> None:
    count = 200
    site = SiteFactory(municipality=municipality, grid_limit_w=10_000_000)
    stations = [StationFactory(site=site) for _ in range(count)]
    sims = [central.station(s, version="1.6" if i % 2 else "2.0.1") for i, s in enumerate(stations)]

    async def boot_all() -> None:
        await asyncio.gather(*(sim.boot() for sim in sims))

    central.run(boot_all(), timeout=120)
    for sim in sims[:10]:
        central.run(sim.start_transaction(1, "STORM", meter_start=0))
    assert Station.objects.filter(is_online=True).count() == count

    # The central system restarts: every station is dropped and comes back at once.
    port = central.central.port
    central.run(central.central.stop(), timeout=120)
    central.central = start_central(event_loop_thread, port=port)

    async def reconnect_all() -> None:
        async def again(sim) -> None:
            await sim.close()
            await sim.connect()
            await sim.boot()

        await asyncio.gather(*(again(sim) for sim in sims))

    central.run(reconnect_all(), timeout=180)
    wait_for(lambda: Station.objects.filter(is_online=True).count() == count, timeout=60)
    for sim in sims[:10]:
        central.run(sim.meter(1, 1200))
        central.run(sim.stop_transaction(1))
    central.settle()
    sessions = ChargingSession.objects.all()
    assert sessions.count() == 10
    assert set(sessions.values_list("status", flat=True)) == {"finished"}
    assert set(sessions.values_list("meter_last_wh", flat=True)) == {1200}
