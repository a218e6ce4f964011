"""Pulling an operator's DATEX II publication from a real HTTP server on loopback."""

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from rathaus.parking.datex import status_parse
from rathaus.parking.models import DatexSource, ParkingSite, Rejection
from rathaus.parking.services import datex_source_pull, datex_sources_pull_due

pytestmark = pytest.mark.django_db

PUBLICATION = """<?xml version="1.0" encoding="UTF-8"?>
<d2:payload xmlns:d2="http://datex2.eu/schema/3/d2Payload" xmlns:com="http://datex2.eu/schema/3/common"
  xmlns:prk="http://datex2.eu/schema/3/parking" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:type="prk:ParkingStatusPublication" lang="de" modelBaseVersion="3">
  <com:publicationTime>{now}</com:publicationTime>
  <com:publicationCreator><com:country>DE</com:country><com:nationalIdentifier>op</com:nationalIdentifier></com:publicationCreator>
  <prk:parkingRecordStatus xsi:type="prk:ParkingSiteStatus">
    <prk:parkingRecordReference targetClass="prk:ParkingRecord" id="marstall" version="1"/>
    <prk:parkingStatusOriginTime>{now}</prk:parkingStatusOriginTime>
    <prk:parkingOccupancy><prk:parkingNumberOfVacantSpaces>77</prk:parkingNumberOfVacantSpaces></prk:parkingOccupancy>
  </prk:parkingRecordStatus>
  <prk:parkingRecordStatus xsi:type="prk:ParkingSiteStatus">
    <prk:parkingRecordReference targetClass="prk:ParkingRecord" id="unknown-garage" version="1"/>
    <prk:parkingOccupancy><prk:parkingNumberOfVacantSpaces>5</prk:parkingNumberOfVacantSpaces></prk:parkingOccupancy>
  </prk:parkingRecordStatus>
  <prk:parkingRecordStatus xsi:type="prk:ParkingSiteStatus">
    <prk:parkingRecordReference targetClass="prk:ParkingRecord" id="no-number" version="1"/>
    <prk:parkingSiteStatus>unknown</prk:parkingSiteStatus>
  </prk:parkingRecordStatus>
</d2:payload>"""


class _Handler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def operator() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/status.xml", handler
    finally:
        server.shutdown()


def test_pull_ingests_known_sites(operator: tuple[str, type[_Handler]], site: ParkingSite) -> None:
    url, handler = operator
    now = timezone.now()
    handler.body = PUBLICATION.format(now=now.isoformat()).encode()
    source = DatexSource.objects.create(municipality=site.municipality, name="Betreiber", url=url)
    assert datex_sources_pull_due(now=now) == 1
    site.refresh_from_db()
    assert site.realtime_free == 77
    assert list(Rejection.objects.values_list("reason", flat=True)) == ["unknown_site"]
    source.refresh_from_db()
    assert source.last_error == ""
    assert source.last_fetch_at is not None
    # Not due again within its interval.
    assert datex_sources_pull_due(now=now + timedelta(minutes=1)) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"<not-xml",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b"<html><body>Wartung</body></html>",
    ],
)
def test_broken_publications_are_logged_not_ingested(
    operator: tuple[str, type[_Handler]], site: ParkingSite, body: bytes
) -> None:
    url, handler = operator
    handler.body = body
    source = DatexSource.objects.create(municipality=site.municipality, name="Betreiber", url=url)
    result = datex_source_pull(source=source)
    assert result.accepted == 0
    source.refresh_from_db()
    assert source.last_error
    assert Rejection.objects.get().reason == "fetch_failed"
    site.refresh_from_db()
    assert site.realtime_free == 123


def test_unreachable_source_is_an_error_not_a_crash(site: ParkingSite) -> None:
    source = DatexSource.objects.create(
        municipality=site.municipality, name="Weg", url="http://127.0.0.1:9/x"
    )
    assert datex_source_pull(source=source).rejected[0][0] == "fetch_failed"


def test_parser_reads_v2_style_names_and_skips_unknown_counts() -> None:
    records = status_parse(PUBLICATION.format(now="2026-11-28T10:00:00+00:00").encode())
    assert [(r.site, r.free) for r in records] == [("marstall", 77), ("unknown-garage", 5)]
