"""The own catalogue format: export, import, round trip, and the published schema."""

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from jsonschema import Draft202012Validator

from rathaus.catalog.catalog_format import DOCUMENT_SCHEMA
from rathaus.catalog.models import Location, Service
from rathaus.catalog.selectors import catalog_document
from rathaus.catalog.services import ImportReport, catalog_import
from rathaus.core.models import Municipality
from tests.catalog.conftest import write_json
from tests.organisation.factories import OrgUnitFactory

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _without_header(document: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value for key, value in document.items() if key not in ("municipality", "exported_at")
    }


def small_catalogue() -> dict[str, Any]:
    """A catalogue written by hand, using every part of the format."""
    return {
        "format": "rathaus-catalog",
        "version": 1,
        "categories": [
            {"slug": "ausweise", "name_de": "Ausweise", "name_en": "ID documents", "position": 1}
        ],
        "life_situations": [{"slug": "reisen", "name_de": "Reisen", "name_en": "Travel"}],
        "locations": [
            {
                "source": "local",
                "source_id": "bb",
                "name_de": "Bürgerbüro",
                "name_en": "Citizens' office",
                "street": "Marktplatz",
                "house_number": "1",
                "postal_code": "71634",
                "city": "Musterstadt",
                "latitude": 48.8977,
                "longitude": 9.1916,
                "opening_hours": [
                    {"weekday": 3, "opens": "14:00", "closes": "18:00"},
                    {"weekday": 0, "opens": "08:00", "closes": "12:00"},
                ],
                "wheelchair_accessible": True,
                "accessibility_de": "Stufenloser Eingang am Markt.",
                "accessibility_en": "Step-free entrance on the market square.",
                "email": "buergerbuero@musterstadt.example",
            }
        ],
        "services": [
            {
                "source": "local",
                "source_id": "perso",
                "slug": "personalausweis",
                "name_de": "Personalausweis beantragen",
                "name_en": "Apply for an identity card",
                "leika": ["99008001000000"],
                "synonyms": ["Perso", "Ausweis"],
                "keywords": ["Identitätskarte"],
                "summary_de": "Den Personalausweis beantragen.",
                "summary_en": "Apply for the German identity card.",
                "description_de": "<p>Mit <strong>Foto</strong>.<script>x()</script></p>",
                "description_en": "<p>Bring a <strong>photo</strong>.</p>",
                "documents": [
                    {"name_de": "Biometrisches Passfoto", "name_en": "Biometric photo"},
                    {"name_de": "Alter Ausweis", "note_de": "falls vorhanden"},
                ],
                "fees": [
                    {
                        "kind": "fixed",
                        "amount_cents": 3700,
                        "label_de": "ab 24 Jahren",
                        "label_en": "aged 24 and over",
                    },
                    {"kind": "fixed", "amount_cents": 2280, "label_de": "unter 24 Jahren"},
                    {"kind": "range", "amount_cents": 1000, "amount_max_cents": 1500},
                    {
                        "kind": "per_unit",
                        "amount_cents": 500,
                        "unit_de": "Seite",
                        "unit_en": "page",
                    },
                    {"kind": "free", "label_de": "PIN-Rücksetzung"},
                ],
                "processing_time_de": "etwa drei Wochen",
                "processing_time_en": "about three weeks",
                "legal_basis_de": "§ 9 PAuswG",
                "responsible_unit": "bb",
                "online_mode": "online_with_visit",
                "online_url": "https://service.musterstadt.example/perso",
                "appointment": True,
                "appointment_minutes": 20,
                "links": [{"title": "Infos", "url": "https://www.personalausweisportal.de/"}],
                "forms": [{"title": "Vollmacht", "url": "https://musterstadt.example/v.pdf"}],
                "categories": ["ausweise"],
                "life_situations": ["reisen"],
                "locations": [{"source": "local", "source_id": "bb", "appointment_minutes": 25}],
                "combinable": [{"source": "local", "source_id": "pass"}],
            },
            {
                "source": "local",
                "source_id": "pass",
                "name_de": "Reisepass",
                "combinable": [{"source": "local", "source_id": "perso"}],
            },
        ],
    }


@pytest.fixture
def imported(municipality: Municipality, tmp_path: Path) -> ImportReport:
    OrgUnitFactory(municipality=municipality, code="BB", name_de="Bürgerbüro")
    path = write_json(tmp_path / "catalogue.json", small_catalogue())
    return catalog_import(municipality=municipality, path=path)


def test_a_hand_written_catalogue_imports(
    municipality: Municipality, imported: ImportReport
) -> None:
    assert (imported.services.created, imported.locations.created) == (["perso", "pass"], ["bb"])
    assert (imported.categories_created, imported.life_situations_created) == (
        ["ausweise"],
        ["reisen"],
    )
    service = Service.objects.get(source_id="perso")
    assert service.slug == "personalausweis"
    assert service.description_de == "<p>Mit <strong>Foto</strong>.</p>"
    assert service.responsible_unit is not None
    assert service.responsible_unit.code == "BB"
    assert [other.source_id for other in service.combinable.all()] == ["pass"]
    assert service.offered_at.get().appointment_minutes == 25
    # A service without a slug gets one from its name
    assert Service.objects.get(source_id="pass").slug == "reisepass"
    office = Location.objects.get(source_id="bb")
    assert [hours["weekday"] for hours in office.opening_hours] == [0, 3]


def test_importing_the_same_catalogue_again_changes_nothing(
    municipality: Municipality, imported: ImportReport, tmp_path: Path
) -> None:
    path = write_json(tmp_path / "again.json", small_catalogue())
    report = catalog_import(municipality=municipality, path=path)
    assert report.changed is False
    assert report.services.unchanged == ["perso", "pass"]


def test_services_missing_from_the_file_are_unpublished(
    municipality: Municipality, imported: ImportReport, tmp_path: Path
) -> None:
    document = small_catalogue()
    document["services"] = [document["services"][1]]
    document["services"][0]["combinable"] = []
    report = catalog_import(
        municipality=municipality, path=write_json(tmp_path / "x.json", document)
    )
    assert report.services.unpublished == ["perso"]
    assert Service.objects.get(source_id="perso").is_public is False


def test_export_then_import_elsewhere_gives_the_same_catalogue(
    municipality: Municipality,
    other_municipality: Municipality,
    munich_catalog: ImportReport,
    tmp_path: Path,
) -> None:
    # Given the real catalogue exported with the command
    out = StringIO()
    call_command("catalog", "export", "--municipality", municipality.slug, stdout=out)
    exported = json.loads(out.getvalue())
    assert len(exported["services"]) == 287
    assert not list(Draft202012Validator(DOCUMENT_SCHEMA).iter_errors(exported))
    # When it is imported into another municipality with the command
    path = tmp_path / "export.json"
    path.write_text(out.getvalue(), encoding="utf-8")
    out = StringIO()
    call_command(
        "catalog",
        "import",
        str(path),
        "--municipality",
        other_municipality.slug,
        "--json",
        stdout=out,
    )
    assert json.loads(out.getvalue())["services"]["created"] == 287
    # Then exporting that municipality gives the same document, but for the header
    again = catalog_document(municipality=other_municipality)
    assert again["municipality"] == "beispielheim"
    assert _without_header(again) == _without_header(exported)


def test_the_published_schema_is_the_one_in_the_code() -> None:
    out = StringIO()
    call_command("catalog", "schema", stdout=out)
    published = json.loads((DOCS / "catalog-format.schema.json").read_text(encoding="utf-8"))
    assert json.loads(out.getvalue()) == published == DOCUMENT_SCHEMA
    Draft202012Validator.check_schema(published)


def test_the_example_in_the_docs_is_valid() -> None:
    text = (DOCS / "catalog-format.md").read_text(encoding="utf-8")
    example = text.split("```json", 1)[1].split("```", 1)[0]
    assert not list(Draft202012Validator(DOCUMENT_SCHEMA).iter_errors(json.loads(example)))


def test_export_to_a_file(
    municipality: Municipality, imported: ImportReport, tmp_path: Path
) -> None:
    target = tmp_path / "out.json"
    call_command("catalog", "export", "--municipality", municipality.slug, "--output", str(target))
    document = json.loads(target.read_text(encoding="utf-8"))
    assert [service["source_id"] for service in document["services"]] == ["pass", "perso"]
    assert document["services"][1]["responsible_unit"] == "BB"
