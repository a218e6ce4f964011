"""DATEX II (v3) parking status publications: reading an operator's, writing ours.

Reading matches elements by local name, so a v2.3 ``ParkingStatusPublication`` (same
element names, another namespace) is understood too. The parser refuses DTDs and
entities (no XXE, no entity expansion) and documents above ``MAX_BYTES``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

MAX_BYTES = 5 * 1024 * 1024
NS_D2 = "http://datex2.eu/schema/3/d2Payload"
NS_COM = "http://datex2.eu/schema/3/common"
NS_PRK = "http://datex2.eu/schema/3/parking"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True)
class StatusRecord:
    site: str
    at: datetime
    free: int


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _child(element: etree._Element, name: str) -> etree._Element | None:
    for child in element.iter():
        if _local(child) == name:
            return child
    return None


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def status_parse(raw: bytes) -> list[StatusRecord]:
    """Records of a ParkingStatusPublication that carry an id, a time and vacant spaces.

    Raises ``ValueError`` for documents that are too large, not XML or no status
    publication. Records without a number of vacant spaces are skipped (an operator's
    "unknown" must not become a number).
    """
    if len(raw) > MAX_BYTES:
        raise ValueError("the DATEX II document is too large")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
    )
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as error:
        raise ValueError(f"not well-formed XML: {error}") from error
    if root.getroottree().docinfo.doctype:
        raise ValueError("DTDs are not accepted")
    statuses = [e for e in root.iter() if _local(e) == "parkingRecordStatus"]
    if not statuses and _local(root) not in {"payload", "payloadPublication", "d2LogicalModel"}:
        raise ValueError("not a DATEX II parking status publication")
    publication_time = _time(_text(_child(root, "publicationTime")))
    records = []
    for status in statuses:
        reference = _child(status, "parkingRecordReference")
        site = reference.get("id") if reference is not None else None
        at = _time(_text(_child(status, "parkingStatusOriginTime"))) or publication_time
        vacant = _text(_child(status, "parkingNumberOfVacantSpaces"))
        if not site or at is None or vacant is None or not vacant.strip().lstrip("-").isdigit():
            continue
        records.append(StatusRecord(site=site[:64], at=at, free=int(vacant)))
    return records


def _text(element: etree._Element | None) -> str | None:
    return element.text if element is not None else None


@dataclass(frozen=True)
class SiteStatus:
    site: str
    capacity: int
    free: int | None
    at: datetime | None
    stale: bool
    open: bool | None


def status_render(
    *, publisher: str, country: str, now: datetime, sites: Iterable[SiteStatus]
) -> bytes:
    """Our ParkingStatusPublication (DATEX II v3). A stale site is published with status
    ``unknown``, its last origin time and no numbers."""
    nsmap = {"d2": NS_D2, "com": NS_COM, "prk": NS_PRK, "xsi": NS_XSI}
    root = etree.Element(f"{{{NS_D2}}}payload", nsmap=nsmap)
    root.set(f"{{{NS_XSI}}}type", "prk:ParkingStatusPublication")
    root.set("lang", "de")
    root.set("modelBaseVersion", "3")
    etree.SubElement(root, f"{{{NS_COM}}}publicationTime").text = now.astimezone(UTC).isoformat()
    creator = etree.SubElement(root, f"{{{NS_COM}}}publicationCreator")
    etree.SubElement(creator, f"{{{NS_COM}}}country").text = country
    etree.SubElement(creator, f"{{{NS_COM}}}nationalIdentifier").text = publisher
    for item in sites:
        status = etree.SubElement(root, f"{{{NS_PRK}}}parkingRecordStatus")
        status.set(f"{{{NS_XSI}}}type", "prk:ParkingSiteStatus")
        reference = etree.SubElement(status, f"{{{NS_PRK}}}parkingRecordReference")
        reference.set("targetClass", "prk:ParkingRecord")
        reference.set("id", item.site)
        reference.set("version", "1")
        if item.at is not None:
            etree.SubElement(
                status, f"{{{NS_PRK}}}parkingStatusOriginTime"
            ).text = item.at.astimezone(UTC).isoformat()
        if not item.stale and item.free is not None:
            occupancy = etree.SubElement(status, f"{{{NS_PRK}}}parkingOccupancy")
            etree.SubElement(occupancy, f"{{{NS_PRK}}}parkingNumberOfSpacesOverride").text = str(
                item.capacity
            )
            etree.SubElement(occupancy, f"{{{NS_PRK}}}parkingNumberOfVacantSpaces").text = str(
                item.free
            )
            etree.SubElement(occupancy, f"{{{NS_PRK}}}parkingNumberOfOccupiedSpaces").text = str(
                item.capacity - item.free
            )
            etree.SubElement(
                occupancy, f"{{{NS_PRK}}}parkingOccupancy"
            ).text = f"{100 * (item.capacity - item.free) / item.capacity:.1f}"
        if item.stale or item.free is None:
            state = "unknown"
        elif item.open is False:
            state = "closed"
        elif item.free == 0:
            state = "full"
        else:
            state = "spacesAvailable"
        etree.SubElement(status, f"{{{NS_PRK}}}parkingSiteStatus").text = state
        opening = "unknown" if item.open is None else ("open" if item.open else "closed")
        etree.SubElement(status, f"{{{NS_PRK}}}parkingSiteOpeningStatus").text = opening
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
