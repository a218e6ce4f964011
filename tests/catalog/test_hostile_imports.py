"""Bad files: every one is refused with a clear report naming record and field, and the
stored catalogue is exactly as it was (one transaction per file, nothing half-imported)."""

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from rathaus.catalog.catalog_format import MAX_IMPORT_BYTES, CatalogImportError
from rathaus.catalog.models import Category, LeikaKey, Location, Service, ServiceLocation
from rathaus.catalog.selectors import catalog_document
from rathaus.catalog.services import catalog_import, catalog_import_dldb
from rathaus.core.models import Municipality
from tests.catalog.conftest import dldb_export, dldb_service, write_json

pytestmark = pytest.mark.django_db

LOCATION = {
    "id": "501",
    "name": "Bürgerbüro Mitte (KVR-1)",
    "displayName": "Bürgerbüro Mitte",
    "displayNameAlternatives": [],
    "organization": "Landeshauptstadt München",
    "organizationUnit": "Kreisverwaltungsreferat",
    "public": True,
    "address": {
        "street": "Marienplatz",
        "house_number": "8",
        "postal_code": "80331",
        "city": "München",
    },
    "geo": {"lat": "48.137", "lon": "11.575"},
    "contact": {"email": "buergerbuero@muenchen.example", "phone": "089 1", "fax": ""},
    "services": [{"service": "1", "duration": 20}],
}


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in the source language.
    with translation.override("en"):
        yield


@pytest.fixture
def stored(municipality: Municipality, tmp_path: Path) -> dict[str, Any]:
    """A small catalogue already imported; hostile files must leave it exactly so."""
    services = write_json(
        tmp_path / "ok-services.json",
        dldb_export(
            dldb_service("1", leika="99008001000000", locations=[{"location": "501"}]),
            dldb_service("2"),
        ),
    )
    locations = write_json(tmp_path / "ok-locations.json", dldb_export(LOCATION))
    catalog_import_dldb(municipality=municipality, services_path=services, locations_path=locations)
    return _snapshot(municipality)


def _snapshot(municipality: Municipality) -> dict[str, Any]:
    document = catalog_document(municipality=municipality)
    document.pop("exported_at")
    return {
        "document": document,
        "rows": [
            model.objects.count()
            for model in (Service, Location, Category, LeikaKey, ServiceLocation)
        ],
        "updated": sorted(Service.objects.values_list("pk", "updated_at")),
    }


def _refused(
    municipality: Municipality, stored: dict[str, Any], run: Callable[[], object]
) -> list[str]:
    with pytest.raises(CatalogImportError) as caught:
        run()
    assert _snapshot(municipality) == stored
    errors = caught.value.errors
    assert errors
    # A report never echoes a long hostile value back.
    assert all(len(line) < 400 for line in errors)
    return errors


def _dldb(record_changes: dict[str, Any]) -> dict[str, Any]:
    return dldb_export(dldb_service("1", **record_changes))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"data": [', "not valid JSON"),
        (b'{"data": [{"id": "1", "name": "Ausweis"', "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"data": [{"id": NaN}]}', "NaN is not a JSON number"),
        (b'{"data": [], "data": []}', "appears twice"),
        (b"[" * 5000 + b"]" * 5000, "nested"),
        (b'[{"id": "1"}]', "not a DLDB services export"),
        (b'{"data": {"id": "1"}}', "not a DLDB services export"),
        (b'{"data": ["1063423"]}', "data[0]: must be an object"),
        (b"", "not valid JSON"),
    ],
)
def test_malformed_dldb_files(
    municipality: Municipality,
    stored: dict[str, Any],
    tmp_path: Path,
    content: bytes,
    expected: str,
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    errors = _refused(
        municipality,
        stored,
        lambda: catalog_import_dldb(municipality=municipality, services_path=path),
    )
    assert any(expected in error for error in errors), errors


def test_a_truncated_real_export(
    municipality: Municipality,
    stored: dict[str, Any],
    tmp_path: Path,
    munich_files: tuple[Path, Path],
) -> None:
    path = tmp_path / "cut.json"
    path.write_bytes(munich_files[0].read_bytes()[:100_000])
    errors = _refused(
        municipality,
        stored,
        lambda: catalog_import_dldb(municipality=municipality, services_path=path),
    )
    assert "not valid JSON" in errors[0]


def test_an_oversized_file_is_not_read(
    municipality: Municipality, stored: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_IMPORT_BYTES + 1)  # sparse: no 20 MB written to disk
    errors = _refused(
        municipality,
        stored,
        lambda: catalog_import_dldb(municipality=municipality, services_path=path),
    )
    assert errors == [
        f"The file has {MAX_IMPORT_BYTES + 1} bytes; at most {MAX_IMPORT_BYTES} are accepted."
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name": 123}, "service 1: name: must be a string"),
        ({"name": "   "}, "service 1: name: must not be empty"),
        ({"name": "x" * 100_000}, "service 1: name: is longer than 200 characters"),
        ({"description": "<p>" + "x" * 300_000}, "service 1: description: is longer than 200000"),
        ({"duration": "15"}, "service 1: duration: must be a whole number"),
        ({"duration": 10**12}, "service 1: duration: must be between 0 and 1440"),
        ({"maxQuantity": True}, "service 1: maxQuantity: must be a whole number"),
        ({"public": "yes"}, "service 1: public: must be true or false"),
        ({"links": "https://example.org"}, "service 1: links: must be a list"),
        (
            {"links": [{"name": "x", "link": "javascript:alert(1)"}]},
            "service 1: links[0].link: is not an http(s) web address",
        ),
        (
            {"forms": [{"name": "x", "link": "data:text/html,<script>"}]},
            "service 1: forms[0].link: is not an http(s) web address",
        ),
        (
            {"links": [{"name": "", "link": "https://ok.example/"}]},
            "service 1: links[0].name: must be a text of 1 to 300 characters",
        ),
        ({"leika": 99008001000000}, "service 1: leika: must be a string of LeiKa keys"),
        ({"leika": "9900800100000"}, "service 1: leika: 9900800100000 is not a LeiKa key"),
        ({"leika": "990080010000000"}, "service 1: leika: 990080010000000 is not a LeiKa key"),
        ({"leika": "12008001000000"}, "service 1: leika: 12008001000000 is not a LeiKa key"),
        ({"leika": "99008001000000, 99abc"}, "service 1: leika: 99abc is not a LeiKa key"),
        ({"combinable": [{"id": 1}]}, "service 1: combinable[0]: is not a service id"),
        (
            {"locations": [{"location": "../etc"}]},
            "service 1: locations[0].location: is not a location id",
        ),
        ({"meta": "x"}, "service 1: meta: must be an object"),
        ({"name": "Ausweis\u0000"}, "service 1: name: contains control characters"),
        ({"id": "<script>"}, "service [0]: id: must be an id"),
        ({"id": True}, "service [0]: id: must be an id"),
    ],
)
def test_hostile_dldb_records(
    municipality: Municipality,
    stored: dict[str, Any],
    tmp_path: Path,
    changes: dict[str, Any],
    expected: str,
) -> None:
    path = write_json(tmp_path / "bad.json", _dldb(changes))
    errors = _refused(
        municipality,
        stored,
        lambda: catalog_import_dldb(municipality=municipality, services_path=path),
    )
    assert any(error.startswith(expected) for error in errors), errors


def test_duplicate_ids_are_refused(
    municipality: Municipality, stored: dict[str, Any], tmp_path: Path
) -> None:
    path = write_json(
        tmp_path / "dup.json", dldb_export(dldb_service("7"), dldb_service("8"), dldb_service("7"))
    )
    errors = _refused(
        municipality,
        stored,
        lambda: catalog_import_dldb(municipality=municipality, services_path=path),
    )
    assert errors == ["service 7: id: appears twice in the file"]
    locations = write_json(tmp_path / "dup-loc.json", dldb_export(LOCATION, LOCATION))
    errors = _refused(
        municipality,
        stored,
        lambda: catalog_import_dldb(
            municipality=municipality,
            services_path=write_json(tmp_path / "one.json", _dldb({})),
            locations_path=locations,
        ),
    )
    assert errors == ["location 501: id: appears twice in the file"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"geo": {"lat": "91", "lon": "11"}}, "location 501: geo.lat: is out of range"),
        ({"geo": {"lat": "NaN", "lon": "11"}}, "location 501: geo.lat: is out of range"),
        ({"geo": {"lat": "north", "lon": "11"}}, "location 501: geo.lat: must be a number"),
        ({"contact": {"email": "<script>@x"}}, "location 501: contact: email: is not an e-mail"),
        (
            {"contact": {"webinfo": "javascript:alert(1)"}},
            "location 501: contact: webinfo: is not an http(s) web address",
        ),
        (
            {"address": {"street": ["Marienplatz"]}},
            "location 501: address: street: must be a string",
        ),
        ({"public": 1}, "location 501: public: must be true or false"),
    ],
)
def test_hostile_location_records(
    municipality: Municipality,
    stored: dict[str, Any],
    tmp_path: Path,
    changes: dict[str, Any],
    expected: str,
) -> None:
    locations = write_json(tmp_path / "loc.json", dldb_export({**LOCATION, **changes}))
    services = write_json(tmp_path / "s.json", _dldb({}))
    errors = _refused(
        municipality,
        stored,
        lambda: catalog_import_dldb(
            municipality=municipality, services_path=services, locations_path=locations
        ),
    )
    assert any(error.startswith(expected) for error in errors), errors


def test_every_problem_is_listed_at_once(
    municipality: Municipality, stored: dict[str, Any], tmp_path: Path
) -> None:
    path = write_json(
        tmp_path / "many.json",
        dldb_export(
            dldb_service("1", leika="123"),
            dldb_service("2", duration=-1),
            dldb_service("3", links=[{"name": "x", "link": "javascript:x"}]),
        ),
    )
    errors = _refused(
        municipality,
        stored,
        lambda: catalog_import_dldb(municipality=municipality, services_path=path),
    )
    assert [error.split(":")[0] for error in errors] == ["service 1", "service 2", "service 3"]


def test_the_command_exits_with_status_1_and_lists_the_problems(
    municipality: Municipality, stored: dict[str, Any], tmp_path: Path
) -> None:
    path = write_json(tmp_path / "bad.json", _dldb({"leika": "42"}))
    with pytest.raises(CommandError) as caught:
        call_command("catalog", "import-dldb", str(path), "--municipality", municipality.slug)
    assert caught.value.returncode == 1
    assert "service 1: leika: 42 is not a LeiKa key" in str(caught.value)
    assert _snapshot(municipality) == stored


# The own format.


def _own_document(municipality: Municipality) -> dict[str, Any]:
    document = catalog_document(municipality=municipality)
    document.pop("exported_at")
    return document


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(format="dldb"), "document: format: must be one of: rathaus-catalog"),
        (lambda d: d.update(version=2), "document: version: must be one of: 1"),
        (lambda d: d.pop("services"), "document: is missing the field(s) services"),
        (lambda d: d.update(services={}), "document: services: must be of type array"),
        (lambda d: d["services"][0].update(evil=1), "service 1: has unknown field(s) evil"),
        (
            lambda d: d["services"][0].update(name_de=None),
            "service 1: name_de: must be of type string",
        ),
        (
            lambda d: d["services"][0].update(name_de="x" * 5000),
            "service 1: name_de: is longer than 200 characters",
        ),
        (
            lambda d: d["services"][0].update(leika=["9900800100000"]),
            "service 1: leika[0]: is not a LeiKa key (14 digits starting with 99)",
        ),
        (
            lambda d: d["services"][0].update(leika=["99008001000000", "99008001000000"]),
            "service 1: leika: has duplicate entries",
        ),
        (
            lambda d: d["services"][0].update(links=[{"title": "x", "url": "javascript:alert(1)"}]),
            "service 1: links[0].url: is not a valid web address",
        ),
        (
            lambda d: d["services"][0].update(online_url="javascript:alert(1)"),
            "service 1: online_url: is not a valid web address",
        ),
        (
            lambda d: d["services"][0].update(online_mode="telepathy"),
            "service 1: online_mode: must be one of: online, online_with_visit, in_person",
        ),
        (
            lambda d: d["services"][0].update(slug="../../etc"),
            "service 1: slug: does not have the expected form",
        ),
        (
            lambda d: d["services"][0].update(appointment_minutes=-5),
            "service 1: appointment_minutes: is out of range",
        ),
        (
            lambda d: d["services"][0].update(categories=["gibt-es-nicht"]),
            "service 1: categories: unknown category gibt-es-nicht",
        ),
        (
            lambda d: d["services"][0].update(
                fees=[{"kind": "range", "amount_cents": 500, "amount_max_cents": 100}]
            ),
            "service 1: fees: a range needs a lower and/or upper amount, lower first",
        ),
        (
            lambda d: d["services"][0].update(fees=[{"kind": "fixed"}]),
            "service 1: fees: a fixed fee needs amount_cents",
        ),
        (
            lambda d: d["services"].append(copy.deepcopy(d["services"][0])),
            "services: dldb-muenchen/1 appears twice",
        ),
        (
            lambda d: d["services"][0]["locations"].append(
                {"source": "x", "source_id": "nirgends"}
            ),
            "service 1: locations: unknown location",
        ),
        (
            lambda d: d["locations"][0].update(latitude=1e308),
            "location 501: latitude: is out of range",
        ),
        (
            lambda d: d["locations"][0].update(
                opening_hours=[{"weekday": 7, "opens": "08:00", "closes": "25:00"}]
            ),
            "location 501: opening_hours[0].closes: does not have the expected form",
        ),
        (
            lambda d: d["locations"][0].update(name_de="Amt\u0000"),
            "locations[0].name_de: contains control characters",
        ),
    ],
)
def test_hostile_catalogue_files(
    municipality: Municipality,
    stored: dict[str, Any],
    tmp_path: Path,
    change: Callable[[dict[str, Any]], object],
    expected: str,
) -> None:
    document = _own_document(municipality)
    change(document)
    path = write_json(tmp_path / "bad.json", document)
    errors = _refused(
        municipality, stored, lambda: catalog_import(municipality=municipality, path=path)
    )
    assert any(error.startswith(expected) for error in errors), errors


def test_a_reserved_slug_is_refused(
    municipality: Municipality, stored: dict[str, Any], tmp_path: Path
) -> None:
    document = _own_document(municipality)
    document["services"][0]["slug"] = "suche"
    path = write_json(tmp_path / "bad.json", document)
    errors = _refused(
        municipality, stored, lambda: catalog_import(municipality=municipality, path=path)
    )
    assert errors == ["service 1: slug: suche is reserved"]


def test_a_failure_late_in_the_file_leaves_no_trace(
    municipality: Municipality, stored: dict[str, Any], tmp_path: Path
) -> None:
    # Given a valid-looking file whose last location fails the model's own checks (an
    # address the schema lets through, Django's e-mail validator does not), after the
    # other records of the file were already written in the transaction
    document = _own_document(municipality)
    document["services"][0]["name_de"] = "Geändert"
    document["services"].append({"source": "local", "source_id": "neu", "name_de": "Neu"})
    document["locations"].append(
        {"source": "local", "source_id": "z", "name_de": "Letztes Amt", "email": "x@y.z"}
    )
    path = write_json(tmp_path / "late.json", document)
    # Then the import is refused and the catalogue is exactly as before
    errors = _refused(
        municipality, stored, lambda: catalog_import(municipality=municipality, path=path)
    )
    assert errors == ["location z: email: Enter a valid email address."]


def test_an_unknown_org_unit_is_refused(
    municipality: Municipality, stored: dict[str, Any], tmp_path: Path
) -> None:
    document = _own_document(municipality)
    document["services"][0]["responsible_unit"] = "FB 99"
    path = write_json(tmp_path / "bad.json", document)
    errors = _refused(
        municipality, stored, lambda: catalog_import(municipality=municipality, path=path)
    )
    assert errors == ["service 1: responsible_unit: no org unit with the short name FB 99"]
