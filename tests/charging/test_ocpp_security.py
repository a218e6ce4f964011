"""Handshake security (basic auth, TLS, client certificates) and hostile input."""

import datetime as dt
import hashlib
import ipaddress
import json
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.exceptions import InvalidStatus

from rathaus.charging.models import ChargingSession, Station, StationEvent
from rathaus.charging.ocpp.server import server_ssl_context
from rathaus.charging.ocpp.simulator import SimulatedStation
from tests.charging.conftest import Running, start_central, wait_for
from tests.charging.factories import STATION_SECRET, StationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _refused(central: Running, station_identity: str, **kwargs) -> int:
    sim = SimulatedStation(url=central.url, identity=station_identity, **kwargs)
    with pytest.raises(InvalidStatus) as caught:
        central.run(sim.connect())
    return caught.value.response.status_code


def test_unknown_and_wrongly_authenticated_stations_are_refused(
    central: Running, municipality
) -> None:
    station = StationFactory(site__municipality=municipality)
    assert _refused(central, station.identity, password="wrong") == 401
    assert _refused(central, station.identity, password=None) == 401
    assert _refused(central, "UNKNOWN-1", password=STATION_SECRET) == 401
    # The right secret under another station's name is refused too.
    other = StationFactory(site__municipality=municipality)
    other.password_hash = "sha256$x$" + "0" * 64
    other.save()
    assert _refused(central, other.identity, password=STATION_SECRET) == 401
    assert not Station.objects.filter(is_online=True).exists()
    assert central.central.counters["refused"] == 4


def test_credential_guessing_is_throttled_and_others_keep_working(
    transactional_db, event_loop_thread, municipality
) -> None:
    system = start_central(event_loop_thread, max_failures_per_minute=3)
    central = Running(system, event_loop_thread)
    try:
        station = StationFactory(site__municipality=municipality)
        codes = [_refused(central, station.identity, password=f"guess{i}") for i in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        # A bounded lockout per address: the station itself is not locked for ever.
        system._failures.clear()
        sim = central.station(station)
        central.run(sim.boot())
        central.run(sim.close())
    finally:
        central.run(system.stop(), timeout=60)


def test_a_subprotocol_is_required_and_paths_are_checked(central: Running, municipality) -> None:
    from websockets.asyncio.client import connect

    station = StationFactory(site__municipality=municipality)

    async def attempt(path: str, protocols: list[str]) -> int:
        try:
            async with connect(
                f"ws://127.0.0.1:{central.central.port}{path}", subprotocols=protocols
            ):
                return 101
        except InvalidStatus as error:
            return error.response.status_code

    assert central.run(attempt(f"/ocpp/{station.identity}", ["ocpp1.5"])) == 400
    assert central.run(attempt("/other/x", ["ocpp1.6"])) == 404
    assert central.run(attempt("/ocpp/" + "x" * 60, ["ocpp1.6"])) == 404


def _make_pki(tmp_path: Path, identity: str) -> dict[str, Path]:
    now = dt.datetime.now(dt.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def write(stem: str, key, cert) -> tuple[Path, Path]:
        key_path, cert_path = tmp_path / f"{stem}.key", tmp_path / f"{stem}.pem"
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return key_path, cert_path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name("Test CA"))
        .issuer_name(name("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    def issue(common: str, server: bool):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(common))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        return key, builder.sign(ca_key, hashes.SHA256())

    _ca_key_path, ca_path = write("ca", ca_key, ca_cert)
    server_key, server_cert = issue("127.0.0.1", True)
    server_key_path, server_path = write("server", server_key, server_cert)
    client_key, client_cert = issue(identity, False)
    client_key_path, client_path = write("client", client_key, client_cert)
    fingerprint = hashlib.sha256(client_cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    return {
        "ca": ca_path,
        "server": server_path,
        "server_key": server_key_path,
        "client": client_path,
        "client_key": client_key_path,
        "fingerprint": Path(fingerprint),
    }


def test_tls_with_basic_auth_and_with_client_certificates(
    transactional_db, event_loop_thread, municipality, tmp_path: Path
) -> None:
    cert_station = StationFactory(site__municipality=municipality, password_hash="")
    basic_station = StationFactory(site__municipality=municipality)
    pki = _make_pki(tmp_path, cert_station.identity)
    cert_station.certificate_fingerprint = str(pki["fingerprint"])
    cert_station.save()
    context = server_ssl_context(str(pki["server"]), str(pki["server_key"]), str(pki["ca"]))
    system = start_central(event_loop_thread, ssl_context=context)
    central = Running(system, event_loop_thread, scheme="wss")
    try:
        plain_client = ssl.create_default_context(cafile=str(pki["ca"]))
        sim = central.station(basic_station, ssl_context=plain_client)
        central.run(sim.boot())
        central.run(sim.close())

        with_cert = ssl.create_default_context(cafile=str(pki["ca"]))
        with_cert.load_cert_chain(str(pki["client"]), str(pki["client_key"]))
        sim = central.station(cert_station, ssl_context=with_cert, password=None)
        central.run(sim.boot())
        assert Station.objects.get(pk=cert_station.pk).vendor == "rathaus"
        central.run(sim.close())

        # Profile 3: without its certificate the station is refused, secret or not.
        assert (
            _refused(
                central, cert_station.identity, ssl_context=plain_client, password=STATION_SECRET
            )
            == 401
        )
        # Plain websockets are not spoken on a TLS port.
        plain = SimulatedStation(
            url=f"ws://127.0.0.1:{system.port}/ocpp",
            identity=basic_station.identity,
            password=STATION_SECRET,
        )
        with pytest.raises(Exception):  # noqa: B017, PT011 - any handshake failure
            central.run(plain.connect(), timeout=10)
    finally:
        central.run(system.stop(), timeout=60)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_malformed_frames_and_schema_violations_get_the_right_callerror(
    central: Running, municipality, version: str
) -> None:
    station = StationFactory(site__municipality=municipality)
    sim = central.station(station, version=version)
    central.run(sim.boot())
    format_code = "FormationViolation" if version == "1.6" else "FormatViolation"

    answer = json.loads(central.run(sim.send_raw("this is not json")))
    assert answer[0] == 4
    assert answer[1] == "-1"
    assert answer[2] == format_code

    answer = json.loads(central.run(sim.send_raw('[2, "abc"]')))
    assert answer[0] == 4
    assert answer[1] == "abc"

    # A required field missing.
    answer = json.loads(central.run(sim.send_raw('[2, "m1", "Authorize", {}]')))
    assert answer[:2] == [4, "m1"]
    assert answer[2] in {
        "FormationViolation",
        "FormatViolation",
        "OccurenceConstraintViolation",
        "OccurrenceConstraintViolation",
        "ProtocolError",
    }
    # A wrong type.
    payload = (
        {"idTag": 42} if version == "1.6" else {"idToken": {"idToken": 42, "type": "ISO14443"}}
    )
    answer = json.loads(central.run(sim.send_raw(json.dumps([2, "m2", "Authorize", payload]))))
    assert answer[:3] == [4, "m2", "TypeConstraintViolation"]
    # An action nobody knows.
    answer = json.loads(central.run(sim.send_raw('[2, "m3", "MakeCoffee", {}]')))
    assert answer[:3] == [4, "m3", "NotImplemented"] or answer[:3] == [4, "m3", "NotSupported"]

    # The connection still serves normal calls.
    central.run(sim.heartbeat())
    events = StationEvent.objects.filter(station=station, code="malformed_frame")
    wait_for(lambda: events.exists())
    central.run(sim.close())


def test_meter_values_for_an_unknown_transaction_are_logged(central: Running, municipality) -> None:
    station = StationFactory(site__municipality=municipality)
    sim = central.station(station)
    central.run(sim.boot())
    answer = json.loads(
        central.run(
            sim.send_raw(
                json.dumps(
                    [
                        2,
                        "mv",
                        "MeterValues",
                        {
                            "connectorId": 1,
                            "transactionId": 999,
                            "meterValue": [
                                {
                                    "timestamp": "2026-01-01T10:00:00Z",
                                    "sampledValue": [{"value": "100"}],
                                }
                            ],
                        },
                    ]
                )
            )
        )
    )
    assert answer == [3, "mv", {}]
    central.settle()
    event = StationEvent.objects.get(code="meter_unknown_transaction")
    assert "999" in event.detail
    assert not ChargingSession.objects.exists()
    central.run(sim.close())


def test_a_flooding_station_is_rate_limited_and_others_are_served(
    transactional_db, event_loop_thread, municipality
) -> None:
    system = start_central(event_loop_thread, rate=0.5, burst=5)
    central = Running(system, event_loop_thread)
    try:
        flooder, calm = StationFactory.create_batch(2, site__municipality=municipality)
        sim = central.station(flooder)
        other = central.station(calm)
        answers = [
            json.loads(central.run(sim.send_raw(json.dumps([2, f"h{i}", "Heartbeat", {}]))))
            for i in range(12)
        ]
        refused = [a for a in answers if a[0] == 4]
        assert len(refused) >= 6
        assert refused[0][2] == "GenericError"
        assert "Rate limit" in refused[0][3]
        central.run(other.heartbeat())
        wait_for(lambda: StationEvent.objects.filter(station=flooder, code="rate_limited").exists())
        central.run(sim.close())
        central.run(other.close())
    finally:
        central.run(system.stop(), timeout=60)
