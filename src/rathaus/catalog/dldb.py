"""Reading DLDB exports (the service database format of Berlin and Munich) into catalogue
records of the own format (``catalog_format``); ADR 0012 has the field-by-field mapping.

A services export is ``{"data": [service, ...], "meta": {...}}``; a locations export the
same with offices. The reader checks each record's shape and types and reports problems
as "service <id>: <field>: <problem>"; it never trusts a type it did not check.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from rathaus.catalog import taxonomy
from rathaus.catalog.catalog_format import MAX_ERRORS, control_characters
from rathaus.catalog.fees import fee_items_from_text
from rathaus.catalog.text import clean_inline, summary_of
from rathaus.core.html import clean_html

MAX_RECORDS = 10_000
_LEIKA = re.compile(r"^99\d{12}$")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ONLINE = re.compile(
    r"online[- ](?:anmeldung|ummeldung|abmeldung|antrag|beantragung|zulassung|bestellung|dienst)"
    r"|online (?:beantragen|bestellen|stellen|erledigen|anmelden|ummelden|abmelden)",
    re.IGNORECASE,
)
_FORM_SUFFIXES = (".pdf", ".doc", ".docx", ".odt", ".rtf")


@dataclass(frozen=True)
class Publisher:
    """Who publishes a DLDB export, and on which terms (the licence asks for attribution)."""

    source: str
    attribution: str
    licence: str
    licence_url: str


# By the host of the export's ``meta.url``.
PUBLISHERS = {
    "stadt.muenchen.de": Publisher(
        source="dldb-muenchen",
        attribution="Landeshauptstadt München, Servicedatenbank",
        licence="CC BY 4.0",
        licence_url="https://creativecommons.org/licenses/by/4.0/",
    ),
}


@dataclass
class DldbRead:
    """What the reader made of the files: catalogue records, warnings and errors."""

    publisher: Publisher | None = None
    services: list[dict[str, Any]] = field(default_factory=list)
    locations: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _Record:
    """Typed access to one record, collecting errors under its label."""

    def __init__(self, label: str, data: dict[str, Any], errors: list[str]) -> None:
        self.label, self.data, self.errors = label, data, errors

    def fail(self, name: str, message: str) -> None:
        self.errors.append(f"{self.label}: {name}: {message}")

    def text(self, name: str, max_length: int, *, required: bool = False) -> str:
        value = self.data.get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str):
            self.fail(name, _("must be a string"))
            return ""
        if len(value) > max_length:
            self.fail(name, _("is longer than %(limit)d characters") % {"limit": max_length})
            return ""
        if required and not value.strip():
            self.fail(name, _("must not be empty"))
        return value

    def integer(self, name: str, low: int, high: int, default: int | None) -> int | None:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, _("must be a whole number"))
            return default
        if not low <= value <= high:
            self.fail(name, _("must be between %(low)d and %(high)d") % {"low": low, "high": high})
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(name, _("must be true or false"))
            return default
        return value

    def listed(self, name: str, max_items: int) -> list[Any]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(name, _("must be a list"))
            return []
        if len(value) > max_items:
            self.fail(name, _("has more than %(limit)d entries") % {"limit": max_items})
            return []
        return value

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.data.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(name, _("must be an object"))
            return {}
        return value


def _no_control_characters(record: _Record) -> None:
    for path in control_characters(record.data):
        record.fail(path, _("contains control characters"))


def _record_id(value: Any) -> str | None:
    """A DLDB id (string or number) as a string, or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        value = str(value)
    if isinstance(value, str) and _ID.match(value):
        return value
    return None


def _records(data: Any, kind: str, errors: list[str]) -> list[dict[str, Any]]:
    """The ``data`` list of an export, or an error when the file is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        errors.append(
            _("This is not a DLDB %(kind)s export: expected an object with a list 'data'.")
            % {"kind": kind}
        )
        return []
    records: list[dict[str, Any]] = data["data"]
    if len(records) > MAX_RECORDS:
        errors.append(_("The file has more than %(limit)d records.") % {"limit": MAX_RECORDS})
        return []
    return records


def _publisher(services: list[dict[str, Any]]) -> Publisher | None:
    for record in services:
        meta = record.get("meta") if isinstance(record, dict) else None
        url = meta.get("url") if isinstance(meta, dict) else None
        if isinstance(url, str):
            host = (urlsplit(url).hostname or "").lower()
            if host in PUBLISHERS:
                return PUBLISHERS[host]
    return None


def _url(record: _Record, name: str, value: Any, *, links: bool = False) -> str:
    """A web address (or mailto:/tel: for links) or an error; never a javascript: URL."""
    if not isinstance(value, str) or len(value) > 500:
        record.fail(name, _("must be a web address of at most 500 characters"))
        return ""
    value = value.strip()
    scheme = urlsplit(value).scheme.lower()
    allowed = ("http", "https", "mailto", "tel") if links else ("http", "https")
    if scheme not in allowed or any(char.isspace() or char in '<>"' for char in value):
        record.fail(name, _("is not an http(s) web address"))
        return ""
    return value


def _links(record: _Record, name: str) -> list[dict[str, str]]:
    links = []
    for index, item in enumerate(record.listed(name, 200)):
        where = f"{name}[{index}]"
        if not isinstance(item, dict):
            record.fail(where, _("must be an object"))
            continue
        title = item.get("name")
        if not isinstance(title, str) or not title.strip() or len(title) > 300:
            record.fail(f"{where}.name", _("must be a text of 1 to 300 characters"))
            continue
        url = _url(record, f"{where}.link", item.get("link"), links=True)
        if url:
            links.append({"title": clean_inline(title), "url": url})
    return links


def _is_form(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(_FORM_SUFFIXES)


def _leika_keys(record: _Record) -> list[str]:
    value = record.data.get("leika")
    if value is None or value == "":
        return []
    if not isinstance(value, str) or len(value) > 400:
        record.fail("leika", _("must be a string of LeiKa keys"))
        return []
    keys = []
    # Munich writes several keys of one service as one comma-separated string.
    for part in value.split(","):
        key = part.strip()
        if not _LEIKA.match(key):
            record.fail(
                "leika",
                _("%(key)s is not a LeiKa key (14 digits starting with 99)") % {"key": key[:20]},
            )
        elif key not in keys:
            keys.append(key)
    return keys


def _service(
    raw: dict[str, Any],
    label: str,
    read: DldbRead,
    publisher: Publisher,
    offices: dict[str, tuple[str, dict[str, int]]] | None,
) -> dict[str, Any] | None:
    record = _Record(label, raw, read.errors)
    errors_before = len(read.errors)
    _no_control_characters(record)
    source_id = _record_id(raw.get("id"))
    name = clean_inline(record.text("name", 200, required=True))
    description = clean_html(record.text("description", 200_000))
    fees_text = record.text("fees", 20_000)
    meta = record.mapping("meta")
    meta_record = _Record(label, meta, read.errors)
    keywords_text = meta_record.text("keywords", 10_000)
    keywords: list[str] = []
    for part in keywords_text.split(","):
        keyword = clean_inline(part)[:200]
        if keyword and keyword not in keywords:
            keywords.append(keyword)
    source_url = ""
    if isinstance(meta.get("url"), str) and source_id:
        source_url = _url(meta_record, "meta.url", meta["url"].replace("{serviceId}", source_id))
    leika = _leika_keys(record)
    authorities = record.listed("authorities", 20)
    authority = ""
    for item in authorities:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            authority = clean_inline(item["name"])[:300]
            break
    links: list[dict[str, str]] = []
    forms: list[dict[str, str]] = []
    seen: set[str] = set()
    # Munich lists the same entries as forms and links; a document to fill in is a form.
    for item in _links(record, "forms") + _links(record, "links"):
        if item["url"] not in seen:
            seen.add(item["url"])
            (forms if _is_form(item["url"]) else links).append(item)
    duration = record.integer("duration", 0, 1440, None) or None
    max_quantity = record.integer("maxQuantity", 1, 100, 1) or 1
    bookable = record.boolean("public", False)
    record.mapping("appointment")
    combinable = []
    for index, other in enumerate(record.listed("combinable", 500)):
        other_id = _record_id(other)
        if other_id is None:
            record.fail(f"combinable[{index}]", _("is not a service id"))
        elif other_id != source_id:
            combinable.append(other_id)
    location_offers: list[dict[str, Any]] = []
    office_names: list[str] = []
    for index, offer in enumerate(record.listed("locations", 2000)):
        location_id = _record_id(offer.get("location")) if isinstance(offer, dict) else None
        if location_id is None:
            record.fail(f"locations[{index}].location", _("is not a location id"))
            continue
        if offices is None:
            continue
        if location_id not in offices:
            read.warnings.append(
                f"{label}: locations[{index}]: "
                + _("location %(id)s is not in the locations file; skipped") % {"id": location_id}
            )
            continue
        office_name, durations = offices[location_id]
        office_names.append(office_name)
        if all(existing["source_id"] != location_id for existing in location_offers):
            location_offers.append(
                {
                    "source": publisher.source,
                    "source_id": location_id,
                    "appointment_minutes": durations.get(source_id or "", duration) or None,
                }
            )
    if source_id is None:
        record.fail("id", _("must be an id of 1 to 64 letters, digits, dots or hyphens"))
    if len(read.errors) > errors_before or source_id is None:
        return None
    fees = fee_items_from_text(fees_text) if fees_text.strip() else []
    categories, life_situations = taxonomy.classify(
        name=name, keywords=keywords, leika_keys=leika, offices=office_names
    )
    return {
        "source": publisher.source,
        "source_id": source_id,
        "source_url": source_url,
        "name_de": name,
        "leika": leika,
        "keywords": keywords,
        "summary_de": summary_of(description),
        "description_de": description,
        # Fully understood fee texts become items; anything else stays text.
        "fees": fees or [],
        "fees_text_de": "" if fees else clean_html(fees_text),
        "authority": authority,
        "online_mode": "online" if _ONLINE.search(description) else "in_person",
        "appointment": bool(duration) and bool(raw.get("locations")),
        "appointment_minutes": duration,
        "bookable_online": bookable,
        "max_quantity": max_quantity,
        "links": links,
        "forms": forms,
        "categories": categories,
        "life_situations": life_situations,
        "locations": sorted(location_offers, key=lambda offer: offer["source_id"]),
        "combinable": [
            {"source": publisher.source, "source_id": other_id} for other_id in combinable
        ],
        "is_public": True,
        "attribution": publisher.attribution,
        "licence": publisher.licence,
        "licence_url": publisher.licence_url,
    }


def _coordinate(record: _Record, name: str, value: Any, limit: int) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        record.fail(name, _("must be a number"))
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        record.fail(name, _("must be a number"))
        return None
    if not number.is_finite() or not -limit <= number <= limit:
        record.fail(name, _("is out of range"))
        return None
    return float(number.quantize(Decimal("0.000001")))


def _location(
    raw: dict[str, Any], label: str, read: DldbRead, publisher: Publisher
) -> dict[str, Any] | None:
    record = _Record(label, raw, read.errors)
    errors_before = len(read.errors)
    _no_control_characters(record)
    source_id = _record_id(raw.get("id"))
    if source_id is None:
        record.fail("id", _("must be an id of 1 to 64 letters, digits, dots or hyphens"))
    internal_name = clean_inline(record.text("name", 200, required=True))
    display_name = clean_inline(record.text("displayName", 200)) or internal_name
    alternatives = []
    for index, item in enumerate(record.listed("displayNameAlternatives", 50)):
        if not isinstance(item, str) or len(item) > 200:
            record.fail(
                f"displayNameAlternatives[{index}]", _("must be a text of up to 200 characters")
            )
        elif clean_inline(item):
            alternatives.append(clean_inline(item))
    organisation = ", ".join(
        clean_inline(part)
        for part in (record.text("organization", 150), record.text("organizationUnit", 150))
        if part and part.strip()
    )
    address = _Record(f"{label}: address", record.mapping("address"), read.errors)
    geo = record.mapping("geo")
    contact = _Record(f"{label}: contact", record.mapping("contact"), read.errors)
    email = clean_inline(contact.text("email", 254))
    if email and not re.match(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$", email):
        contact.fail("email", _("is not an e-mail address"))
    web = clean_inline(contact.text("webinfo", 500))
    url = _url(contact, "webinfo", web) if web else ""
    latitude = _coordinate(record, "geo.lat", geo.get("lat"), 90)
    longitude = _coordinate(record, "geo.lon", geo.get("lon"), 180)
    is_public = record.boolean("public", True)
    if len(read.errors) > errors_before or source_id is None:
        return None
    return {
        "source": publisher.source,
        "source_id": source_id,
        "name_de": display_name,
        "internal_name": internal_name if internal_name != display_name else "",
        "alternative_names": alternatives,
        "organisation": organisation,
        "street": clean_inline(address.text("street", 200)),
        "house_number": clean_inline(address.text("house_number", 20)),
        "postal_code": clean_inline(address.text("postal_code", 10)),
        "city": clean_inline(address.text("city", 100)),
        "latitude": latitude,
        "longitude": longitude,
        "phone": clean_inline(contact.text("phone", 50)),
        "fax": clean_inline(contact.text("fax", 50)),
        "email": email,
        "url": url,
        "is_public": is_public,
        "attribution": publisher.attribution,
        "licence": publisher.licence,
        "licence_url": publisher.licence_url,
    }


def _durations(raw: dict[str, Any]) -> dict[str, int]:
    """Per service id, the appointment minutes this office gives it."""
    result = {}
    services = raw.get("services")
    for item in services if isinstance(services, list) else []:
        if not isinstance(item, dict):
            continue
        service_id, minutes = _record_id(item.get("service")), item.get("duration")
        if (
            service_id
            and isinstance(minutes, int)
            and not isinstance(minutes, bool)
            and 0 < minutes <= 1440
        ):
            result[service_id] = minutes
    return result


def dldb_read(
    services_data: Any,
    locations_data: Any | None = None,
    *,
    publisher: Publisher | None = None,
) -> DldbRead:
    """Translate parsed DLDB exports into catalogue records; see ``DldbRead``."""
    read = DldbRead()
    services = _records(services_data, _("services"), read.errors)
    location_records = (
        _records(locations_data, _("locations"), read.errors) if locations_data is not None else []
    )
    if read.errors:
        return read
    read.publisher = publisher or _publisher(services)
    if read.publisher is None:
        read.errors.append(
            _(
                "The publisher of this export is unknown, so its source name and licence are "
                "unknown: give them (--source, --attribution, --licence, --licence-url)."
            )
        )
        # Go on checking the records, so that the report lists every problem at once.
        read.publisher = Publisher(source="unknown", attribution="", licence="", licence_url="")
    offices: dict[str, tuple[str, dict[str, int]]] | None = None
    if locations_data is not None:
        offices = {}
        for index, raw in enumerate(location_records):
            label = (
                _("location %(id)s") % {"id": _record_id(raw.get("id")) or f"[{index}]"}
                if (isinstance(raw, dict))
                else f"locations[{index}]"
            )
            if not isinstance(raw, dict):
                read.errors.append(f"{label}: " + _("must be an object"))
                continue
            location = _location(raw, label, read, read.publisher)
            if location is None:
                continue
            if location["source_id"] in offices:
                read.errors.append(f"{label}: id: " + _("appears twice in the file"))
                continue
            offices[location["source_id"]] = (location["name_de"], _durations(raw))
            read.locations.append(location)
            if len(read.errors) >= MAX_ERRORS:
                return read
    seen: set[str] = set()
    for index, raw in enumerate(services):
        if not isinstance(raw, dict):
            read.errors.append(f"data[{index}]: " + _("must be an object"))
            continue
        label = _("service %(id)s") % {"id": _record_id(raw.get("id")) or f"[{index}]"}
        service = _service(raw, label, read, read.publisher, offices)
        if service is None:
            continue
        if service["source_id"] in seen:
            read.errors.append(f"{label}: id: " + _("appears twice in the file"))
            continue
        seen.add(service["source_id"])
        read.services.append(service)
        if len(read.errors) >= MAX_ERRORS:
            return read
    known = {service["source_id"] for service in read.services}
    unknown: set[str] = set()
    for service in read.services:
        unknown.update(o["source_id"] for o in service["combinable"] if o["source_id"] not in known)
        service["combinable"] = sorted(
            (other for other in service["combinable"] if other["source_id"] in known),
            key=lambda other: other["source_id"],
        )
    if unknown:
        read.warnings.append(
            _("combinable: services not in the file were left out: %(ids)s")
            % {"ids": ", ".join(sorted(unknown)[:20])}
        )
    return read
