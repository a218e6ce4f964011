"""Importing DLDB exports: the real Munich catalogue, idempotence, changes, the command."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from rathaus.audit.models import AuditEvent
from rathaus.catalog.models import (
    Category,
    LeikaKey,
    LifeSituation,
    Location,
    Service,
    ServiceLocation,
)
from rathaus.catalog.services import ImportReport, catalog_demo_load, catalog_import_dldb
from rathaus.catalog.text import fold
from rathaus.core.models import Municipality
from tests.catalog.conftest import (
    LOCATION_COUNT,
    SERVICE_COUNT,
    SERVICES_WITH_LEIKA,
    dldb_export,
    dldb_service,
    write_json,
)

pytestmark = pytest.mark.django_db


def test_the_munich_export_imports_completely(
    municipality: Municipality, munich_catalog: ImportReport
) -> None:
    # Given the real export (287 services, 132 with a LeiKa key, 109 offices), imported once
    report = munich_catalog
    # Then every record was created, and the counts are exact
    assert report.services.counts() == {
        "created": SERVICE_COUNT,
        "updated": 0,
        "unchanged": 0,
        "unpublished": 0,
    }
    assert report.locations.counts() == {
        "created": LOCATION_COUNT,
        "updated": 0,
        "unchanged": 0,
        "unpublished": 0,
    }
    services = Service.objects.filter(municipality=municipality)
    assert services.count() == SERVICE_COUNT
    assert services.filter(source="dldb-muenchen", is_public=True).count() == SERVICE_COUNT
    assert services.filter(leika_keys__isnull=False).distinct().count() == SERVICES_WITH_LEIKA
    # One service carries four keys as one comma-separated string; all four are kept.
    assert LeikaKey.objects.filter(municipality=municipality).count() == SERVICES_WITH_LEIKA + 3
    imported_car = services.get(source_id="1064076")
    assert [key.key for key in imported_car.leika_keys.all()] == [
        "99036008007003",
        "99036008007004",
        "99036008007006",
        "99036008007007",
    ]
    # LeiKa keys are shared between variants of one service (Beglaubigung bis 5/20/mehr).
    assert LeikaKey.objects.filter(key="99014002035000").count() == 3
    assert Location.objects.filter(municipality=municipality).count() == LOCATION_COUNT
    assert ServiceLocation.objects.filter(municipality=municipality).count() == 526
    # And every service is sorted into at least one category
    assert not services.filter(categories__isnull=True).exists()
    assert Category.objects.filter(municipality=municipality).count() == 16
    assert LifeSituation.objects.filter(municipality=municipality).count() == 11


def test_a_service_is_mapped_field_by_field(munich_catalog: ImportReport) -> None:
    # Given the imported catalogue, when we look at "Gewerbe-Anmeldung"
    service = Service.objects.get(source_id="1063423")
    # Then the DLDB fields landed where ADR 0012 says
    assert service.slug == "gewerbe-anmeldung"
    assert service.name_de == "Gewerbe-Anmeldung"
    assert service.source_url.endswith("#/services/1063423")
    assert [key.key for key in service.leika_keys.all()] == ["99050012104000"]
    assert "Gewerbeanmeldung" in service.keywords
    assert service.authority == "Stadtverwaltung München"
    assert service.appointment is True
    assert service.appointment_minutes == 20
    assert service.max_quantity == 3
    assert service.online_mode == "online"  # "So funktioniert die Online-Anmeldung"
    assert service.fees == [
        {
            "kind": "range",
            "amount_cents": 5000,
            "amount_max_cents": 6000,
            "currency": "EUR",
            "unit_de": "",
            "unit_en": "",
            "label_de": "",
            "label_en": "",
            "note_de": "abhängig von der Rechtsform",
            "note_en": "",
        }
    ]
    assert service.fees_text_de == ""
    assert service.attribution == "Landeshauptstadt München, Servicedatenbank"
    assert (service.licence, service.licence_url) == (
        "CC BY 4.0",
        "https://creativecommons.org/licenses/by/4.0/",
    )
    assert [offer.location.source_id for offer in service.offered_at.all()] == ["10546"]
    assert [group.slug for group in service.categories.all()] == ["gewerbe"]
    assert "unternehmen" in [group.slug for group in service.life_situations.all()]
    # An office keeps its public name, its unit code and its coordinates
    office = Location.objects.get(source_id="10546")
    assert (office.name_de, office.internal_name) == ("Gewerbeamt", "Gewerbeamt (KVR-III/21)")
    assert office.address_line == "Implerstraße 11, 81371 München"
    assert (str(office.latitude), str(office.longitude)) == ("48.122797", "11.548818")
    assert office.organisation == "Landeshauptstadt München, Kreisverwaltungsreferat"


def test_links_that_are_documents_become_forms(munich_catalog: ImportReport) -> None:
    service = Service.objects.get(source_id="1063441")  # Personalausweis
    assert all(form["url"].lower().endswith(".pdf") for form in service.forms)
    assert {
        "title": "Zustimmungserklärung",
        "url": (
            "https://stadt.muenchen.de/dms/Home/Stadtverwaltung/Kreisverwaltungsreferat/"
            "fachspezifisch/HA-II/Buergerbuero/Dokumente/zustimmung-bei-mdj.pdf"
        ),
    } in service.forms
    assert not any(link["url"].lower().endswith(".pdf") for link in service.links)
    # Munich lists every entry twice (forms and links); each is kept once.
    urls = [item["url"] for item in service.forms + service.links]
    assert len(urls) == len(set(urls))


def test_a_second_import_changes_nothing(
    municipality: Municipality, munich_catalog: ImportReport, munich_files: tuple[Path, Path]
) -> None:
    # Given the imported catalogue
    before = Service.objects.filter(municipality=municipality).values_list("pk", "updated_at")
    before_rows = dict(before)
    # When the same files are imported again
    services, locations = munich_files
    report = catalog_import_dldb(
        municipality=municipality, services_path=services, locations_path=locations
    )
    # Then nothing is created, updated or unpublished, and no row was written
    assert report.services.counts() == {
        "created": 0,
        "updated": 0,
        "unchanged": SERVICE_COUNT,
        "unpublished": 0,
    }
    assert report.locations.counts() == {
        "created": 0,
        "updated": 0,
        "unchanged": LOCATION_COUNT,
        "unpublished": 0,
    }
    assert report.changed is False
    assert (
        dict(Service.objects.filter(municipality=municipality).values_list("pk", "updated_at"))
        == before_rows
    )


def test_offers_at_a_location_of_another_source_are_kept(
    municipality: Municipality, munich_catalog: ImportReport, munich_files: tuple[Path, Path]
) -> None:
    from tests.catalog.factories import LocationFactory

    # Given the town offers an imported service at its own office too
    service = Service.objects.filter(municipality=municipality).order_by("pk").first()
    assert service is not None
    own = LocationFactory(municipality=municipality, source="local", source_id="rathaus")
    ServiceLocation.objects.create(
        municipality=municipality, service=service, location=own, appointment_minutes=15
    )
    # When the source is imported again
    services, locations = munich_files
    report = catalog_import_dldb(
        municipality=municipality, services_path=services, locations_path=locations
    )
    # Then the town's offer stays and the service counts as unchanged
    assert report.services.counts()["updated"] == 0
    assert ServiceLocation.objects.filter(service=service, location=own).exists()


def test_changes_are_reported_and_editor_fields_kept(
    municipality: Municipality, tmp_path: Path
) -> None:
    # Given two imported services, one of which an editor translated
    first = write_json(tmp_path / "v1.json", dldb_export(dldb_service("1"), dldb_service("2")))
    catalog_import_dldb(municipality=municipality, services_path=first)
    Service.objects.filter(source_id="1").update(name_en="Test service", synonyms=["Probe"])
    # When the source renames service 1 and drops service 2
    second = write_json(tmp_path / "v2.json", dldb_export(dldb_service("1", name="Neuer Name")))
    report = catalog_import_dldb(municipality=municipality, services_path=second)
    # Then 1 is updated (only what the source owns), 2 is unpublished, not deleted
    assert report.services.updated == {"1": ["name_de"]}
    assert report.services.unpublished == ["2"]
    renamed = Service.objects.get(source_id="1")
    assert (renamed.name_de, renamed.name_en, renamed.synonyms) == (
        "Neuer Name",
        "Test service",
        ["Probe"],
    )
    assert renamed.slug == "testleistung-1"  # the public URL stays
    assert fold("Neuer Name") in renamed.search_name
    assert "test service" in renamed.search_name
    assert Service.objects.get(source_id="2").is_public is False
    # When the source brings service 2 back, it is published again
    report = catalog_import_dldb(municipality=municipality, services_path=first)
    assert report.services.updated == {"1": ["name_de"], "2": ["is_public"]}
    assert Service.objects.get(source_id="2").is_public is True


def test_a_dry_run_reports_but_saves_nothing(
    municipality: Municipality, munich_files: tuple[Path, Path]
) -> None:
    services, locations = munich_files
    report = catalog_import_dldb(
        municipality=municipality, services_path=services, locations_path=locations, dry_run=True
    )
    assert report.dry_run is True
    assert len(report.services.created) == SERVICE_COUNT
    assert Service.objects.count() == 0
    assert Location.objects.count() == 0
    assert Category.objects.count() == 0
    assert not AuditEvent.objects.filter(action="catalog.imported").exists()


def test_an_import_is_audited(municipality: Municipality, tmp_path: Path) -> None:
    path = write_json(tmp_path / "s.json", dldb_export(dldb_service("1")))
    catalog_import_dldb(municipality=municipality, services_path=path)
    event = AuditEvent.objects.get(action="catalog.imported")
    assert (event.target_id, event.data["services"]["created"]) == ("dldb-muenchen", 1)


def test_html_is_sanitised(municipality: Municipality, tmp_path: Path) -> None:
    hostile = dldb_service(
        "1",
        description=(
            '<p onclick="steal()">Text<script>alert(1)</script>'
            '<a href="javascript:alert(2)">x</a><a href="https://ok.example/">ok</a>'
            '<img src=x onerror="alert(3)"><iframe src="https://evil.example/"></iframe></p>'
        ),
        fees="<p>5 Euro<script>alert(4)</script></p><style>p{}</style>",
    )
    catalog_import_dldb(
        municipality=municipality,
        services_path=write_json(tmp_path / "s.json", dldb_export(hostile)),
    )
    service = Service.objects.get(source_id="1")
    for text in (service.description_de, service.fees_text_de):
        assert "script" not in text
        assert "alert" not in text
        assert "onclick" not in text
        assert "javascript:" not in text
        assert "<img" not in text
        assert "<iframe" not in text
        assert "<style" not in text
    assert (
        '<a href="https://ok.example/" rel="noopener noreferrer">ok</a>' in service.description_de
    )


def test_services_of_another_source_are_left_alone(
    municipality: Municipality, tmp_path: Path
) -> None:
    from tests.catalog.factories import ServiceFactory

    local = ServiceFactory(municipality=municipality, source="local", source_id="own")
    path = write_json(tmp_path / "s.json", dldb_export(dldb_service("1")))
    report = catalog_import_dldb(municipality=municipality, services_path=path)
    assert report.services.unpublished == []
    local.refresh_from_db()
    assert local.is_public is True


def test_an_unknown_publisher_needs_source_and_attribution(
    municipality: Municipality, tmp_path: Path
) -> None:
    record = dldb_service("1", meta={"url": "https://service.example.org/x", "keywords": ""})
    path = write_json(tmp_path / "s.json", dldb_export(record))
    # When the command is run without naming the source
    with pytest.raises(CommandError, match="--source, --attribution"):
        call_command("catalog", "import-dldb", str(path), "--municipality", municipality.slug)
    assert Service.objects.count() == 0
    # Then with --source and --attribution it imports, and attributes as told
    out = StringIO()
    call_command(
        "catalog",
        "import-dldb",
        str(path),
        "--municipality",
        municipality.slug,
        "--source",
        "dldb-beispiel",
        "--attribution",
        "Stadt Beispiel",
        "--licence",
        "CC BY 4.0",
        "--licence-url",
        "https://creativecommons.org/licenses/by/4.0/",
        "--json",
        stdout=out,
    )
    assert json.loads(out.getvalue())["services"]["created"] == 1
    assert Service.objects.get().attribution == "Stadt Beispiel"


def test_the_command_prints_the_report_and_is_idempotent(
    municipality: Municipality, munich_files: tuple[Path, Path]
) -> None:
    services, locations = munich_files
    arguments = [
        "catalog",
        "import-dldb",
        str(services),
        "--locations",
        str(locations),
        "--municipality",
        municipality.slug,
        "--json",
    ]
    out = StringIO()
    call_command(*arguments, stdout=out)
    first = json.loads(out.getvalue())
    assert (first["services"]["created"], first["locations"]["created"]) == (287, 109)
    out = StringIO()
    call_command(*arguments, stdout=out)
    second = json.loads(out.getvalue())
    assert (second["services"]["created"], second["services"]["updated"]) == (0, 0)
    assert second["services"]["unchanged"] == 287


def test_the_command_refuses_an_unknown_municipality(munich_files: tuple[Path, Path]) -> None:
    with pytest.raises(CommandError, match="No municipality"):
        call_command("catalog", "import-dldb", str(munich_files[0]), "--municipality", "nirgendwo")


def test_the_demo_loads_the_munich_catalogue(
    municipality: Municipality, munich_files: tuple[Path, Path]
) -> None:
    report = catalog_demo_load(municipality=municipality)
    assert report is not None
    assert len(report.services.created) == SERVICE_COUNT


def test_the_demo_skips_quietly_without_shared_data(
    municipality: Municipality,
    settings: object,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.RATHAUS_SHARED_DIR = tmp_path  # type: ignore[attr-defined]
    with caplog.at_level("INFO", logger="rathaus.catalog.services"):
        assert catalog_demo_load(municipality=municipality) is None
    assert Service.objects.count() == 0
    assert "no catalogue loaded" in caplog.text
