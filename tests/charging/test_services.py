"""Rules of the charging services: fair shares, tariffs, limit windows, commands, alerts."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from rathaus.charging import selectors, services
from rathaus.charging.models import (
    ChargingSession,
    Command,
    Connector,
    SiteLimitWindow,
    StationEvent,
)
from rathaus.core.errors import Conflict, ValidationFailed
from rathaus.notifications.models import Notification
from tests.charging.factories import (
    ChargingSessionFactory,
    SiteFactory,
    StationFactory,
    TariffFactory,
    TokenFactory,
)

pytestmark = pytest.mark.django_db


def test_fair_shares_never_exceed_the_limit_and_redistribute() -> None:
    assert services.fair_shares(limit_w=30000, caps={1: 22000, 2: 11000}) == {1: 19000, 2: 11000}
    assert services.fair_shares(limit_w=30000, caps={1: 22000, 2: 22000, 3: 22000}) == {
        1: 10000,
        2: 10000,
        3: 10000,
    }
    assert services.fair_shares(limit_w=100000, caps={1: 22000, 2: 11000}) == {1: 22000, 2: 11000}
    assert services.fair_shares(limit_w=10001, caps={1: 22000, 2: 22000, 3: 3700}) == {
        3: 3333,
        1: 3334,
        2: 3334,
    }
    assert services.fair_shares(limit_w=0, caps={1: 22000}) == {1: 0}
    assert services.fair_shares(limit_w=5000, caps={}) == {}


def test_the_tariff_charges_energy_time_and_blocking_after_the_grace_period(municipality) -> None:
    tariff = TariffFactory(
        municipality=municipality,
        energy_ct_per_kwh=40,
        time_ct_per_hour=100,
        blocking_ct_per_minute=10,
        blocking_grace_minutes=30,
        blocking_cap_ct=500,
    )
    station = StationFactory(site__municipality=municipality, tariff=tariff)
    start = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    result = services.transaction_start_v16(
        station_id=station.pk, connector_id=1, id_tag="X", meter_start=1000, timestamp=start
    )
    services.connector_status_record(
        station_id=station.pk,
        connector_id=1,
        ocpp_status="SuspendedEV",
        at=start + timedelta(hours=2),
    )
    # Idle for 90 minutes: 60 billable minutes at 10 ct = 600 ct, capped at 500 ct.
    services.transaction_stop_v16(
        station_id=station.pk,
        transaction_id=result.transaction_id,
        meter_stop=21000,
        timestamp=start + timedelta(hours=3, minutes=30),
    )
    session = ChargingSession.objects.get()
    assert session.energy_wh == 20000
    assert session.cost_energy_ct == 800
    assert session.cost_time_ct == 350
    assert session.cost_blocking_ct == 500
    assert session.cost_total_ct == 1650
    row = selectors.cdr_row(session)
    assert row["idle_s"] == 90 * 60
    assert row["duration_s"] == 210 * 60
    assert row["tariff"] == "Standard"


def test_limit_windows_apply_by_local_time_and_wrap_midnight(municipality) -> None:
    site = SiteFactory(municipality=municipality, grid_limit_w=50000)
    SiteLimitWindow.objects.create(
        municipality=municipality, site=site, start_time=time(22), end_time=time(6), limit_w=20000
    )
    SiteLimitWindow.objects.create(
        municipality=municipality, site=site, start_time=time(17), end_time=time(23), limit_w=30000
    )
    berlin = timezone.get_default_timezone()

    def at(hour: int) -> datetime:
        return datetime(2026, 1, 10, hour, 30, tzinfo=berlin)

    assert selectors.site_effective_limit(site=site, at=at(12)) == 50000
    assert selectors.site_effective_limit(site=site, at=at(18)) == 30000
    assert selectors.site_effective_limit(site=site, at=at(22)) == 20000
    assert selectors.site_effective_limit(site=site, at=at(3)) == 20000


def test_scheduled_limit_changes_queue_new_profiles(
    municipality, django_capture_on_commit_callbacks
) -> None:
    site = SiteFactory(municipality=municipality, grid_limit_w=40000)
    first, second = StationFactory.create_batch(2, site=site)
    for station in (first, second):
        ChargingSessionFactory(station=station)
    assert services.site_limits_apply() == 1
    assert sorted(Command.objects.values_list("params__limit_w", flat=True)) == [20000, 20000]
    assert services.site_limits_apply() == 0  # nothing changed, nothing sent
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.site_limit_window_add(
            site=site, start_time=time(10), end_time=time(14), limit_w=8000
        )
    assert len(callbacks) == 1  # applied at once when in force; here at noon by the job:
    noon = timezone.localtime().replace(hour=12, minute=0)
    assert services.site_limits_apply(at=noon) == 1
    limits = Command.objects.filter(status="pending").values_list("params__limit_w", flat=True)
    assert sorted(limits) == [4000, 4000]
    # The superseded profiles are never sent.
    assert Command.objects.filter(status="expired", error="superseded").count() == 2


def test_tokens_are_checked(municipality, other_municipality) -> None:
    TokenFactory(municipality=municipality, uid="OK")
    TokenFactory(municipality=municipality, uid="OFF", is_active=False)
    TokenFactory(
        municipality=municipality, uid="OLD", valid_until=timezone.now() - timedelta(days=1)
    )
    TokenFactory(municipality=other_municipality, uid="THEIRS")
    check = services.token_authorize
    assert check(municipality_id=municipality.pk, id_tag="OK") == "Accepted"
    assert check(municipality_id=municipality.pk, id_tag="OFF") == "Blocked"
    assert check(municipality_id=municipality.pk, id_tag="OLD") == "Expired"
    assert check(municipality_id=municipality.pk, id_tag="THEIRS") == "Invalid"


@pytest.mark.parametrize(
    ("action", "params", "field"),
    [
        ("make_coffee", {}, "action"),
        ("remote_start", {"connector_id": 1}, "id_tag"),
        ("remote_start", {"connector_id": 7, "id_tag": "A"}, "connector_id"),
        ("remote_start", {"connector_id": "x", "id_tag": "A"}, "connector_id"),
        ("remote_start", {"connector_id": 1, "id_tag": "A" * 600}, "id_tag"),
        ("remote_stop", {"transaction_ref": "404"}, "transaction_ref"),
        ("reset", {"kind": "Explode"}, "kind"),
        ("change_configuration", {"value": "1"}, "key"),
        ("trigger_message", {"message": "Reboot"}, "message"),
        ("update_firmware", {"location": "javascript:alert(1)"}, "location"),
        ("reserve", {"connector_id": 1, "id_tag": "A", "minutes": 99999}, "minutes"),
    ],
)
def test_hostile_commands_are_refused_and_nothing_is_queued(
    municipality, action, params, field
) -> None:
    station = StationFactory(site__municipality=municipality)
    with pytest.raises(ValidationFailed) as caught:
        services.command_request(station=station, action=action, params=params)
    assert field in caught.value.fields
    assert not Command.objects.exists()


def test_registering_a_station_gives_a_secret_that_only_it_knows(municipality) -> None:
    site = SiteFactory(municipality=municipality)
    station, secret = services.station_register(
        site=site,
        identity="CP-NEW",
        name="Neu",
        max_power_w=22000,
        connectors=[("IEC_62196_T2", 22000), ("IEC_62196_T2", 11000)],
    )
    assert services.password_check(secret, station.password_hash)
    assert not services.password_check(secret + "x", station.password_hash)
    assert secret not in station.password_hash
    assert list(
        Connector.objects.filter(station=station).values_list("max_power_w", flat=True)
    ) == [
        22000,
        11000,
    ]
    with pytest.raises(Conflict):
        services.station_register(
            site=site, identity="CP-NEW", name="x", max_power_w=1, connectors=[]
        )
    with pytest.raises(ValidationFailed):
        services.station_register(
            site=site, identity="bad id/..", name="x", max_power_w=1, connectors=[]
        )
    rotated = services.station_password_rotate(station=station)
    station.refresh_from_db()
    assert services.password_check(rotated, station.password_hash)
    assert not services.password_check(secret, station.password_hash)
    assert not services.password_check("x", "garbage")


def test_faults_and_silent_stations_alert_the_responsible_team(
    municipality, operator, django_capture_on_commit_callbacks
) -> None:
    station = StationFactory(site__municipality=municipality)
    with django_capture_on_commit_callbacks(execute=True):
        services.connector_status_record(
            station_id=station.pk,
            connector_id=1,
            ocpp_status="Faulted",
            error_code="GroundFailure",
            info="RCD tripped",
        )
    alert = Notification.objects.get(
        recipient=operator, event="charging.station_alert", channel="email"
    )
    assert "GroundFailure" in alert.context["detail"]
    assert Connector.objects.get(station=station).status == "Faulted"
    assert StationEvent.objects.filter(code="GroundFailure", kind="fault").exists()

    station.last_seen_at = timezone.now() - timedelta(hours=1)
    station.save()
    count = services.stations_silent_check(
        municipality_id=municipality.pk, silent_after=timedelta(minutes=15)
    )
    assert count == 1
    assert (
        services.stations_silent_check(
            municipality_id=municipality.pk, silent_after=timedelta(minutes=15)
        )
        == 0
    )  # once per silence
    reasons = list(
        Notification.objects.filter(recipient=operator, channel="email").values_list(
            "context__reason", flat=True
        )
    )
    assert sorted(reasons) == ["Störung", "zu lange ohne Meldung"]  # the site's language


def test_a_late_status_does_not_overwrite_a_newer_one(municipality) -> None:
    station = StationFactory(site__municipality=municipality)
    now = timezone.now()
    services.connector_status_record(
        station_id=station.pk, connector_id=1, ocpp_status="Charging", at=now
    )
    services.connector_status_record(
        station_id=station.pk,
        connector_id=1,
        ocpp_status="Available",
        at=now - timedelta(minutes=5),
    )
    assert Connector.objects.get(station=station).status == "Charging"


def test_only_commands_of_connected_stations_are_claimed_and_each_once(municipality) -> None:
    # Given pending commands for a connected and a disconnected station, and an answered one
    connected = StationFactory(site__municipality=municipality)
    offline = StationFactory(site__municipality=municipality)
    first = Command.objects.create(
        municipality=municipality, station=connected, action="reset", params={"type": "Soft"}
    )
    second = Command.objects.create(
        municipality=municipality, station=connected, action="unlock", params={"connector_id": 1}
    )
    waiting = Command.objects.create(
        municipality=municipality, station=offline, action="reset", params={"type": "Hard"}
    )
    Command.objects.create(
        municipality=municipality,
        station=connected,
        action="reset",
        status=Command.Status.ACCEPTED,
    )
    # When the central system polls with only the first station connected (twice)
    claimed = services.commands_claim(station_ids=[connected.pk, 999_999])
    again = services.commands_claim(station_ids=[connected.pk])
    # Then it gets that station's pending commands in order, once, and the other waits
    assert [(c.id, c.action, c.params) for c in claimed] == [
        (first.pk, "reset", {"type": "Soft"}),
        (second.pk, "unlock", {"connector_id": 1}),
    ]
    assert again == []
    assert set(Command.objects.filter(status=Command.Status.SENT).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }
    waiting.refresh_from_db()
    assert waiting.status == Command.Status.PENDING
    assert services.commands_claim(station_ids=[]) == []
