"""The own catalogue format of rathaus (``rathaus-catalog``, version 1): schema and reading.

A document holds a municipality's categories, life situations, locations and services; its
records use the model's field names, so export and import are plain mappings. The JSON
Schema below is the contract; ``docs/catalog-format.schema.json`` is generated from it
(``rathaus catalog schema``) and ``docs/catalog-format.md`` explains it.

Reading is defensive, because files come from elsewhere: a size limit before anything is
parsed, strict JSON (no NaN, no duplicate keys, bounded nesting), the schema, then the
rules a schema cannot say (unique ids, references that resolve, no control characters).
Every problem is reported with the record's id and the field, never the whole value.
"""

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError as SchemaError  # type: ignore[import-untyped]

from rathaus.core.errors import ValidationFailed

FORMAT_NAME = "rathaus-catalog"
FORMAT_VERSION = 1
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_ERRORS = 50
MAX_DEPTH = 20

_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_SOURCE = r"^[a-z0-9][a-z0-9-]{0,39}$"
_HTTP_URL = r"^https?://[^\s<>\"]+$"
_LINK_URL = r"^(?:https?://|mailto:|tel:)[^\s<>\"]+$"
_TIME = r"^(?:[01]\d|2[0-3]):[0-5]\d$"


def _text(max_length: int, *, min_length: int = 0) -> dict[str, Any]:
    return {"type": "string", "minLength": min_length, "maxLength": max_length}


def _url(pattern: str = _HTTP_URL, max_length: int = 500) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "string", "maxLength": max_length, "pattern": pattern},
            {"const": ""},
        ]
    }


def _list(items: dict[str, Any], max_items: int) -> dict[str, Any]:
    return {"type": "array", "items": items, "maxItems": max_items}


def _object(properties: dict[str, Any], required: Iterable[str] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(required),
        "additionalProperties": False,
    }


_REFERENCE = _object(
    {"source": {"type": "string", "pattern": _SOURCE}, "source_id": _text(64, min_length=1)},
    required=["source", "source_id"],
)
_LINK = _object(
    {"title": _text(300, min_length=1), "url": _url(_LINK_URL)}, required=["title", "url"]
)
_MINUTES = {"type": ["integer", "null"], "minimum": 1, "maximum": 1440}

TAXON_SCHEMA = _object(
    {
        "slug": {"type": "string", "pattern": _SLUG, "maxLength": 80},
        "name_de": _text(200, min_length=1),
        "name_en": _text(200),
        "description_de": _text(2000),
        "description_en": _text(2000),
        "position": {"type": "integer", "minimum": 0, "maximum": 100_000},
    },
    required=["slug", "name_de"],
)

FEE_SCHEMA = _object(
    {
        "kind": {"enum": ["fixed", "range", "per_unit", "free"]},
        "amount_cents": {"type": ["integer", "null"], "minimum": 0, "maximum": 100_000_000},
        "amount_max_cents": {"type": ["integer", "null"], "minimum": 0, "maximum": 100_000_000},
        "currency": {"const": "EUR"},
        "unit_de": _text(100),
        "unit_en": _text(100),
        "label_de": _text(300),
        "label_en": _text(300),
        "note_de": _text(300),
        "note_en": _text(300),
    },
    required=["kind"],
)

LOCATION_SCHEMA = _object(
    {
        "source": {"type": "string", "pattern": _SOURCE},
        "source_id": _text(64, min_length=1),
        "name_de": _text(200, min_length=1),
        "name_en": _text(200),
        "internal_name": _text(200),
        "alternative_names": _list(_text(200, min_length=1), 50),
        "organisation": _text(300),
        "street": _text(200),
        "house_number": _text(20),
        "postal_code": _text(10),
        "city": _text(100),
        "latitude": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
        "longitude": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
        "opening_hours": _list(
            _object(
                {
                    "weekday": {"type": "integer", "minimum": 0, "maximum": 6},
                    "opens": {"type": "string", "pattern": _TIME},
                    "closes": {"type": "string", "pattern": _TIME},
                },
                required=["weekday", "opens", "closes"],
            ),
            50,
        ),
        "opening_hours_note_de": _text(2000),
        "opening_hours_note_en": _text(2000),
        "wheelchair_accessible": {"type": ["boolean", "null"]},
        "accessibility_de": _text(2000),
        "accessibility_en": _text(2000),
        "phone": _text(50),
        "fax": _text(50),
        "email": {
            "anyOf": [
                {
                    "type": "string",
                    "maxLength": 254,
                    "pattern": r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$",
                },
                {"const": ""},
            ]
        },
        "url": _url(),
        "is_public": {"type": "boolean"},
        "attribution": _text(300),
        "licence": _text(100),
        "licence_url": _url(max_length=300),
    },
    required=["source", "source_id", "name_de"],
)

SERVICE_SCHEMA = _object(
    {
        "source": {"type": "string", "pattern": _SOURCE},
        "source_id": _text(64, min_length=1),
        "source_url": _url(),
        "slug": {"type": "string", "pattern": _SLUG, "maxLength": 80},
        "name_de": _text(200, min_length=1),
        "name_en": _text(200),
        "leika": {
            "type": "array",
            "items": {"type": "string", "pattern": r"^99\d{12}$"},
            "maxItems": 20,
            "uniqueItems": True,
        },
        "synonyms": _list(_text(200, min_length=1), 100),
        "keywords": _list(_text(200, min_length=1), 200),
        "summary_de": _text(1000),
        "summary_en": _text(1000),
        "description_de": _text(200_000),
        "description_en": _text(200_000),
        "documents": _list(
            _object(
                {
                    "name_de": _text(300, min_length=1),
                    "name_en": _text(300),
                    "note_de": _text(1000),
                    "note_en": _text(1000),
                },
                required=["name_de"],
            ),
            100,
        ),
        "fees": _list(FEE_SCHEMA, 50),
        "fees_text_de": _text(20_000),
        "fees_text_en": _text(20_000),
        "processing_time_de": _text(2000),
        "processing_time_en": _text(2000),
        "legal_basis_de": _text(5000),
        "legal_basis_en": _text(5000),
        "responsible_unit": {"type": ["string", "null"], "maxLength": 30},
        "authority": _text(300),
        "online_mode": {"enum": ["online", "online_with_visit", "in_person"]},
        "online_url": _url(),
        "appointment": {"type": "boolean"},
        "appointment_minutes": _MINUTES,
        "bookable_online": {"type": "boolean"},
        "max_quantity": {"type": "integer", "minimum": 1, "maximum": 100},
        "links": _list(_LINK, 200),
        "forms": _list(_LINK, 200),
        "categories": _list({"type": "string", "pattern": _SLUG, "maxLength": 80}, 50),
        "life_situations": _list({"type": "string", "pattern": _SLUG, "maxLength": 80}, 50),
        "locations": _list(
            _object(
                {
                    "source": {"type": "string", "pattern": _SOURCE},
                    "source_id": _text(64, min_length=1),
                    "appointment_minutes": _MINUTES,
                },
                required=["source", "source_id"],
            ),
            2000,
        ),
        "combinable": _list(_REFERENCE, 500),
        "is_public": {"type": "boolean"},
        "attribution": _text(300),
        "licence": _text(100),
        "licence_url": _url(max_length=300),
    },
    # Without a slug a new service gets one from its German name, and keeps it.
    required=["source", "source_id", "name_de"],
)

DOCUMENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://rathaus.example/schemas/catalog-format-1.json",
    "title": "rathaus service catalogue, version 1",
    "description": (
        "Categories, life situations, locations and services of one municipality. "
        "See docs/catalog-format.md."
    ),
    **_object(
        {
            "format": {"const": FORMAT_NAME},
            "version": {"const": FORMAT_VERSION},
            "municipality": _text(63),
            "exported_at": _text(40),
            "categories": _list(TAXON_SCHEMA, 1000),
            "life_situations": _list(TAXON_SCHEMA, 1000),
            "locations": _list(LOCATION_SCHEMA, 10_000),
            "services": _list(SERVICE_SCHEMA, 10_000),
        },
        required=["format", "version", "categories", "life_situations", "locations", "services"],
    ),
}

# Defaults of the optional fields: what a record means when it leaves them out.
TAXON_DEFAULTS: dict[str, Any] = {
    "name_en": "",
    "description_de": "",
    "description_en": "",
    "position": 0,
}
LOCATION_DEFAULTS: dict[str, Any] = {
    "name_en": "",
    "internal_name": "",
    "alternative_names": [],
    "organisation": "",
    "street": "",
    "house_number": "",
    "postal_code": "",
    "city": "",
    "latitude": None,
    "longitude": None,
    "opening_hours": [],
    "opening_hours_note_de": "",
    "opening_hours_note_en": "",
    "wheelchair_accessible": None,
    "accessibility_de": "",
    "accessibility_en": "",
    "phone": "",
    "fax": "",
    "email": "",
    "url": "",
    "is_public": True,
    "attribution": "",
    "licence": "",
    "licence_url": "",
}
SERVICE_DEFAULTS: dict[str, Any] = {
    "source_url": "",
    "name_en": "",
    "leika": [],
    "synonyms": [],
    "keywords": [],
    "summary_de": "",
    "summary_en": "",
    "description_de": "",
    "description_en": "",
    "documents": [],
    "fees": [],
    "fees_text_de": "",
    "fees_text_en": "",
    "processing_time_de": "",
    "processing_time_en": "",
    "legal_basis_de": "",
    "legal_basis_en": "",
    "responsible_unit": None,
    "authority": "",
    "online_mode": "in_person",
    "online_url": "",
    "appointment": False,
    "appointment_minutes": None,
    "bookable_online": False,
    "max_quantity": 1,
    "links": [],
    "forms": [],
    "categories": [],
    "life_situations": [],
    "locations": [],
    "combinable": [],
    "is_public": True,
    "attribution": "",
    "licence": "",
    "licence_url": "",
}
FEE_DEFAULTS: dict[str, Any] = {
    "amount_cents": None,
    "amount_max_cents": None,
    "currency": "EUR",
    "unit_de": "",
    "unit_en": "",
    "label_de": "",
    "label_en": "",
    "note_de": "",
    "note_en": "",
}
DOCUMENT_DEFAULTS: dict[str, Any] = {"name_en": "", "note_de": "", "note_en": ""}


class CatalogImportError(ValidationFailed):
    """A file that cannot be imported; ``errors`` lists every problem found (up to 50)."""

    default_code = "catalog_import_invalid"

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors[:MAX_ERRORS]
        super().__init__(
            _("The file cannot be imported: %(count)d problem(s) found.") % {"count": len(errors)},
            fields={"file": self.errors},
        )


def read_json(path: Path | str, *, max_bytes: int = MAX_IMPORT_BYTES) -> Any:
    """Parse a JSON file defensively; raise ``CatalogImportError`` with a clear reason."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise CatalogImportError(
                [
                    _("The file has %(size)d bytes; at most %(limit)d are accepted.")
                    % {"size": size, "limit": max_bytes}
                ]
            )
        with path.open("rb") as handle:
            # A file that grows after the check (a pipe, a device) is cut at the limit.
            raw = handle.read(max_bytes + 1)
    except OSError as error:
        raise CatalogImportError(
            [_("The file cannot be read: %(reason)s") % {"reason": error.strerror or error}]
        ) from error
    if len(raw) > max_bytes:
        raise CatalogImportError(
            [_("The file is larger than %(limit)d bytes.") % {"limit": max_bytes}]
        )
    return parse_json(raw)


def _no_constants(name: str) -> None:
    raise ValueError(_("%(name)s is not a JSON number") % {"name": name})


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(_("the key %(key)s appears twice in one object") % {"key": key[:80]})
        result[key] = value
    return result


def parse_json(raw: bytes) -> Any:
    """Strict JSON from bytes: UTF-8, no NaN or Infinity, no duplicate keys, bounded depth."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CatalogImportError(
            [_("The file is not UTF-8 text (byte %(position)d).") % {"position": error.start}]
        ) from error
    try:
        data = json.loads(text, parse_constant=_no_constants, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise CatalogImportError(
            [
                _("The file is not valid JSON: %(reason)s (line %(line)d, column %(column)d).")
                % {"reason": error.msg, "line": error.lineno, "column": error.colno}
            ]
        ) from error
    except ValueError as error:
        raise CatalogImportError(
            [_("The file is not valid JSON: %(reason)s.") % {"reason": error}]
        ) from error
    except RecursionError as error:
        raise CatalogImportError([_("The file is nested too deeply.")]) from error
    if _depth(data) > MAX_DEPTH:
        raise CatalogImportError(
            [_("The file is nested deeper than %(depth)d levels.") % {"depth": MAX_DEPTH}]
        )
    return data


def _depth(value: Any, level: int = 1) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(item, level + 1) for item in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(item, level + 1) for item in value), default=level)
    return level


def control_characters(value: Any, path: str = "") -> Iterator[str]:
    """Paths of strings holding control characters (NUL and others but tab and newlines).

    PostgreSQL refuses NUL in text, and no catalogue text has a reason to hold any of them.
    """
    if isinstance(value, str):
        if any(ord(char) < 32 and char not in "\t\n\r" for char in value) or "\x7f" in value:
            yield path or "(document)"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from control_characters(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from control_characters(item, f"{path}[{index}]")


def _field_path(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _record_label(document: Any, path: list[Any]) -> tuple[str, list[Any]]:
    """The label of the record a path points into ("service 1063423", or "services[3]" when
    it has no id) and the rest of the path."""
    if len(path) >= 2 and isinstance(path[1], int):
        collection, index = path[0], path[1]
        singular = {
            "services": _("service"),
            "locations": _("location"),
            "categories": _("category"),
            "life_situations": _("life situation"),
        }.get(str(collection), str(collection))
        record = document.get(collection, [None])[index] if isinstance(document, dict) else None
        key = ""
        if isinstance(record, dict):
            key = record.get("source_id") or record.get("slug") or ""
        if isinstance(key, str) and key:
            return f"{singular} {key[:64]}", path[2:]
        return f"{collection}[{index}]", path[2:]
    return _("document"), path


def _schema_message(error: SchemaError) -> str:
    """A short message for a schema error, never echoing a long value."""
    validator, expected = error.validator, error.validator_value
    if validator == "maxLength":
        return _("is longer than %(limit)d characters") % {"limit": expected}
    if validator == "minLength":
        return _("must not be empty")
    if validator == "maxItems":
        return _("has more than %(limit)d entries") % {"limit": expected}
    if validator == "type":
        names = expected if isinstance(expected, list) else [expected]
        return _("must be of type %(types)s") % {"types": " or ".join(names)}
    if validator == "pattern":
        if expected == r"^99\d{12}$":
            return _("is not a LeiKa key (14 digits starting with 99)")
        return _("does not have the expected form")
    if validator in ("enum", "const"):
        allowed = expected if isinstance(expected, list) else [expected]
        return _("must be one of: %(values)s") % {"values": ", ".join(map(str, allowed))}
    if validator in ("minimum", "maximum"):
        return _("is out of range")
    if validator == "required":
        missing = [name for name in expected if name not in (error.instance or {})]
        return _("is missing the field(s) %(fields)s") % {"fields": ", ".join(missing)}
    if validator == "additionalProperties":
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        extra = sorted(str(key)[:40] for key in error.instance if key not in known)[:5]
        return _("has unknown field(s) %(fields)s") % {"fields": ", ".join(extra)}
    if validator == "uniqueItems":
        return _("has duplicate entries")
    if validator == "anyOf":
        return _("is not a valid web address") if "url" in str(error.path) else _("is not valid")
    return error.message[:200]


def schema_errors(document: Any) -> list[str]:
    """Every schema violation of ``document``, as "service 1063423: leika[0]: ..."."""
    validator = Draft202012Validator(DOCUMENT_SCHEMA)
    messages = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
        label, inner = _record_label(document, list(error.path))
        where = _field_path(inner)
        messages.append(
            f"{label}: {where}: {_schema_message(error)}"
            if where
            else (f"{label}: {_schema_message(error)}")
        )
        if len(messages) >= MAX_ERRORS:
            break
    return messages


def reference_errors(document: dict[str, Any]) -> list[str]:
    """Duplicate ids and references that do not resolve within the document."""
    errors: list[str] = []
    for collection, key_of in (
        ("categories", lambda r: r["slug"]),
        ("life_situations", lambda r: r["slug"]),
        ("locations", lambda r: (r["source"], r["source_id"])),
        ("services", lambda r: (r["source"], r["source_id"])),
    ):
        seen: set[object] = set()
        for record in document[collection]:
            key = key_of(record)
            if key in seen:
                shown = key if isinstance(key, str) else "/".join(key)
                errors.append(
                    _("%(collection)s: %(key)s appears twice")
                    % {"collection": collection, "key": shown[:100]}
                )
            seen.add(key)
    slugs: set[str] = set()
    for record in document["services"]:
        if "slug" not in record:
            continue
        if record["slug"] in slugs:
            errors.append(_("services: the slug %(slug)s appears twice") % {"slug": record["slug"]})
        slugs.add(record["slug"])
    categories = {record["slug"] for record in document["categories"]}
    life_situations = {record["slug"] for record in document["life_situations"]}
    locations = {(record["source"], record["source_id"]) for record in document["locations"]}
    services = {(record["source"], record["source_id"]) for record in document["services"]}
    for record in document["services"]:
        label = _("service %(id)s") % {"id": record["source_id"][:64]}
        for slug in record.get("categories", []):
            if slug not in categories:
                errors.append(
                    f"{label}: categories: " + _("unknown category %(slug)s") % {"slug": slug}
                )
        for slug in record.get("life_situations", []):
            if slug not in life_situations:
                errors.append(
                    f"{label}: life_situations: "
                    + _("unknown life situation %(slug)s") % {"slug": slug}
                )
        for offer in record.get("locations", []):
            if (offer["source"], offer["source_id"]) not in locations:
                errors.append(
                    f"{label}: locations: "
                    + _("unknown location %(id)s") % {"id": offer["source_id"][:64]}
                )
        for other in record.get("combinable", []):
            if (other["source"], other["source_id"]) not in services:
                errors.append(
                    f"{label}: combinable: "
                    + _("unknown service %(id)s") % {"id": other["source_id"][:64]}
                )
        for fee in record.get("fees", []):
            low, high = fee.get("amount_cents"), fee.get("amount_max_cents")
            if fee["kind"] in ("fixed", "per_unit") and low is None:
                errors.append(
                    f"{label}: fees: "
                    + _("a %(kind)s fee needs amount_cents") % {"kind": fee["kind"]}
                )
            if fee["kind"] == "range" and (
                (low is None and high is None)
                or (low is not None and high is not None and low > high)
            ):
                errors.append(
                    f"{label}: fees: " + _("a range needs a lower and/or upper amount, lower first")
                )
    return errors


def document_validated(data: Any) -> dict[str, Any]:
    """The document with defaults filled in, or ``CatalogImportError`` listing every problem."""
    errors = [
        _("%(path)s: contains control characters") % {"path": path}
        for path in control_characters(data)
    ][:MAX_ERRORS]
    if errors:
        raise CatalogImportError(errors)
    errors = schema_errors(data)
    if errors:
        raise CatalogImportError(errors)
    errors = reference_errors(data)
    if errors:
        raise CatalogImportError(errors)
    return {
        "categories": [{**TAXON_DEFAULTS, **record} for record in data["categories"]],
        "life_situations": [{**TAXON_DEFAULTS, **record} for record in data["life_situations"]],
        "locations": [{**LOCATION_DEFAULTS, **record} for record in data["locations"]],
        "services": [
            {
                **SERVICE_DEFAULTS,
                **record,
                "fees": [{**FEE_DEFAULTS, **fee} for fee in record.get("fees", [])],
                "documents": [{**DOCUMENT_DEFAULTS, **doc} for doc in record.get("documents", [])],
                "locations": [
                    {"appointment_minutes": None, **offer} for offer in record.get("locations", [])
                ],
            }
            for record in data["services"]
        ],
    }
