"""Full sessions over real websockets: the simulator against the central system."""

import threading

import pytest

from rathaus.charging import services
from rathaus.charging.models import (
    ChargingSession,
    Command,
    Connector,
    ConnectorStatus,
    Station,
    StationEvent,
)
from rathaus.charging.ocpp.server import Histogram
from tests.charging.conftest import Running, retrying, wait_for
from tests.charging.factories import StationFactory, TariffFactory, TokenFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _command_done(command: Command) -> Command:
    return wait_for(
        lambda: (
            Command.objects.exclude(status__in=["pending", "sent"]).filter(pk=command.pk).first()
        )
    )


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_full_session_with_remote_start_and_stop(
    central: Running, municipality, version: str
) -> None:
    tariff = TariffFactory(
        municipality=municipality, energy_ct_per_kwh=50, blocking_ct_per_minute=0
    )
    station = StationFactory(site__municipality=municipality, tariff=tariff)
    token = TokenFactory(municipality=municipality, uid="CARD-1")
    sim = central.station(station, version=version)

    central.run(sim.boot_and_report())
    station.refresh_from_db()
    assert station.is_online
    assert station.ocpp_version == version
    assert station.vendor == "rathaus"
    assert station.model == "Simulator"
    wait_for(lambda: Connector.objects.get(station=station).status == ConnectorStatus.AVAILABLE)
    assert central.run(sim.authorize("CARD-1")) == "Accepted"
    assert central.run(sim.authorize("NOBODY")) == "Invalid"

    start = retrying(
        lambda: services.command_request(
            station=station, action="remote_start", params={"connector_id": 1, "id_tag": "CARD-1"}
        )
    )
    central.settle()
    assert _command_done(start).status == Command.Status.ACCEPTED
    session = wait_for(lambda: ChargingSession.objects.filter(station=station).first())
    assert session.token == token
    assert session.user_kind == "contract"
    assert session.ocpp_version == version
    wait_for(lambda: Connector.objects.get(station=station).status == ConnectorStatus.CHARGING)

    central.run(sim.meter(1, 4000))
    central.run(sim.meter(1, 10000))
    central.settle()
    session.refresh_from_db()
    assert session.meter_last_wh == 10000
    assert session.power_w == 11000
    assert session.samples.count() >= 2

    stop = retrying(
        lambda: services.command_request(
            station=station,
            action="remote_stop",
            params={"transaction_ref": session.transaction_ref},
        )
    )
    central.settle()
    assert _command_done(stop).status == Command.Status.ACCEPTED
    wait_for(lambda: ChargingSession.objects.get(pk=session.pk).status == "finished")
    session.refresh_from_db()
    assert session.energy_wh == 10000
    assert session.cost_energy_ct == 500
    assert session.cost_total_ct == 500
    assert session.stop_reason == "Remote"
    wait_for(lambda: Connector.objects.get(station=station).status == ConnectorStatus.AVAILABLE)
    assert ChargingSession.objects.filter(station=station).count() == 1
    central.run(sim.close())
    wait_for(lambda: not Station.objects.get(pk=station.pk).is_online)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_operator_commands_reach_the_station(central: Running, municipality, version: str) -> None:
    station = StationFactory(site__municipality=municipality)
    sim = central.station(station, version=version)
    central.run(sim.boot_and_report())
    requests = [
        ("reset", {"kind": "Soft"}),
        ("unlock", {"connector_id": 1}),
        ("change_configuration", {"key": "HeartbeatInterval", "value": "120"}),
        ("get_configuration", {"key": "HeartbeatInterval"}),
        ("trigger_message", {"message": "Heartbeat"}),
        ("update_firmware", {"location": "https://firmware.example/cp.bin"}),
        ("get_diagnostics", {"location": "ftp://logs.example/up"}),
        ("reserve", {"connector_id": 1, "id_tag": "CARD-9", "minutes": 30}),
    ]
    commands = [
        retrying(
            lambda action=action, params=params: services.command_request(
                station=station, action=action, params=params
            )
        )
        for action, params in requests
    ]
    central.settle()
    for command in commands:
        assert _command_done(command).status == Command.Status.ACCEPTED, command.action
    assert sim.configuration["HeartbeatInterval"] == "120"
    actions = [action for action, _payload in sim.received]
    expected16 = [
        "Reset",
        "UnlockConnector",
        "ChangeConfiguration",
        "GetConfiguration",
        "TriggerMessage",
        "UpdateFirmware",
        "GetDiagnostics",
        "ReserveNow",
    ]
    expected201 = [
        "Reset",
        "UnlockConnector",
        "SetVariables",
        "GetVariables",
        "TriggerMessage",
        "UpdateFirmware",
        "GetLog",
        "ReserveNow",
    ]
    assert sorted(actions) == sorted(expected16 if version == "1.6" else expected201)
    reservation = station.reservations.get()
    assert reservation.status == "active"
    cancel = retrying(
        lambda: services.command_request(
            station=station, action="cancel_reservation", params={"reservation_id": reservation.pk}
        )
    )
    central.settle()
    assert _command_done(cancel).status == Command.Status.ACCEPTED
    reservation.refresh_from_db()
    assert reservation.status == "cancelled"
    central.run(sim.close())


def test_commands_for_an_offline_station_wait_and_expire(central: Running, municipality) -> None:
    station = StationFactory(site__municipality=municipality)
    command = retrying(
        lambda: services.command_request(station=station, action="reset", params={"kind": "Hard"})
    )
    central.settle()
    command.refresh_from_db()
    assert command.status == Command.Status.PENDING
    Command.objects.filter(pk=command.pk).update(created_at=command.created_at.replace(year=2020))
    assert services.commands_expire() == 1
    command.refresh_from_db()
    assert command.status == Command.Status.EXPIRED
    assert command.error == "station offline"
    assert not StationEvent.objects.exists()


def test_the_simulate_command_drives_stations_against_the_server(
    central: Running, municipality, tmp_path
) -> None:
    from io import StringIO

    from django.core.management import call_command

    from tests.charging.factories import STATION_SECRET

    stations = StationFactory.create_batch(3, site__municipality=municipality)
    credentials = tmp_path / "stations.csv"
    credentials.write_text("".join(f"{s.identity},{STATION_SECRET}\n" for s in stations))
    out = StringIO()
    # The command runs its own event loop; a thread keeps it apart from any loop of the
    # test session (Playwright's, when browser tests ran first).
    worker = threading.Thread(
        target=call_command,
        args=("ocpp", "simulate"),
        kwargs={
            "url": central.url,
            "credentials": str(credentials),
            "version": "2.0.1",
            "duration": 0.5,
            "interval": 0.2,
            "charge": "CARD-S",
            "stdout": out,
        },
    )
    worker.start()
    worker.join(60)
    assert out.getvalue().startswith("3 stations, ")
    central.settle()
    sessions = ChargingSession.objects.filter(station__in=stations)
    wait_for(lambda: sessions.filter(status="finished").count() == 3)
    assert all(s.energy_wh > 0 for s in sessions)
    stats = central.central.stats()
    assert stats["handled"] >= 3 * 4
    assert stats["handling_p99_ms"] is not None
    assert stats["loop_lag_p99_ms"] is not None


def test_latency_histogram_percentiles_are_bucket_bounds_within_ten_percent() -> None:
    # Given 98 fast calls (1 ms), one of 50 ms and one of 2 s
    histogram = Histogram()
    for _ in range(98):
        histogram.add(0.001)
    histogram.add(0.05)
    histogram.add(2.0)
    # Then each percentile is the upper bound of its value's bucket: at most 10 % above
    summary = histogram.summary("x")
    assert histogram.total == 100
    assert 1.0 <= summary["x_p50_ms"] <= 1.1
    assert 50.0 <= summary["x_p99_ms"] <= 55.0
    assert 2000.0 <= summary["x_max_ms"] <= 2200.0
    # And two snapshots subtract to the calls between them
    before = list(histogram.counts)
    histogram.add(0.3)
    between = [a - b for a, b in zip(histogram.counts, before, strict=True)]
    assert 300.0 <= Histogram.percentile_ms(between, 1.0) <= 330.0  # type: ignore[operator]
    assert Histogram.percentile_ms([0] * len(before), 0.5) is None
    # Nothing below the first bucket or above the last is lost
    histogram.add(0.0)
    histogram.add(10_000.0)
    assert histogram.counts[0] == 1
    assert histogram.counts[-1] == 1
