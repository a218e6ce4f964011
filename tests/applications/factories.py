"""Factories and sample schemas of the applications tests.

Forms and applications come into being through the services where a rule is involved
(a schema must be valid to be stored); the factories here make the rows the tests need
around them.
"""

from typing import Any

import factory

from rathaus.applications.models import Application, Document, FormDefinition, FormVersion
from tests.catalog.factories import ServiceFactory
from tests.factories import MunicipalityFactory

__all__ = ["ServiceFactory", "full_schema", "simple_schema"]


def simple_schema() -> dict[str, Any]:
    """One page: a required name and a date of birth."""
    return {
        "title_de": "Hundesteuer \u2013 Anmeldung",
        "title_en": "Dog tax \u2013 registration",
        "pages": [
            {
                "id": "halter",
                "title_de": "Halter",
                "title_en": "Owner",
                "fields": [
                    {
                        "id": "name",
                        "type": "text",
                        "label_de": "Name",
                        "label_en": "Name",
                        "required": True,
                        "constraints": {"max_length": 100},
                    },
                ],
            }
        ],
    }


def full_schema() -> dict[str, Any]:
    """Two pages with every field type, a group (1 to 3 dogs) and a file field; the fee is
    per dog."""
    return {
        "title_de": "Hundesteuer \u2013 Anmeldung",
        "title_en": "Dog tax \u2013 registration",
        "fee": {"item": 0, "quantity_field": "hunde"},
        "pages": [
            {
                "id": "halter",
                "title_de": "Halterin oder Halter",
                "title_en": "Owner",
                "fields": [
                    {
                        "id": "name",
                        "type": "text",
                        "label_de": "Name",
                        "label_en": "Name",
                        "help_de": "Vor- und Nachname",
                        "help_en": "First and last name",
                        "required": True,
                        "constraints": {"min_length": 2, "max_length": 100},
                    },
                    {
                        "id": "plz",
                        "type": "text",
                        "label_de": "Postleitzahl",
                        "label_en": "Postcode",
                        "required": True,
                        "constraints": {
                            "pattern": "[0-9]{5}",
                            "pattern_message_de": "Fünf Ziffern, z. B. 71634.",
                            "pattern_message_en": "Five digits, e.g. 71634.",
                        },
                    },
                    {
                        "id": "geboren",
                        "type": "date",
                        "label_de": "Geburtsdatum",
                        "label_en": "Date of birth",
                        "required": True,
                        "constraints": {"min_date": "1900-01-01", "max_date": "today"},
                    },
                    {
                        "id": "land",
                        "type": "select",
                        "label_de": "Bundesland",
                        "label_en": "State",
                        "code_list": "de.bundeslaender",
                    },
                    {
                        "id": "einverstanden",
                        "type": "boolean",
                        "label_de": "Ich bestätige die Angaben",
                        "label_en": "I confirm my entries",
                        "required": True,
                    },
                ],
            },
            {
                "id": "hunde_seite",
                "title_de": "Hunde",
                "title_en": "Dogs",
                "fields": [
                    {
                        "id": "hunde",
                        "type": "group",
                        "label_de": "Hund",
                        "label_en": "Dog",
                        "min": 1,
                        "max": 3,
                        "fields": [
                            {
                                "id": "hundename",
                                "type": "text",
                                "label_de": "Name des Hundes",
                                "label_en": "Name of the dog",
                                "required": True,
                            },
                            {
                                "id": "rasse",
                                "type": "select",
                                "label_de": "Rasse",
                                "label_en": "Breed",
                                "required": True,
                                "options": [
                                    {
                                        "value": "mischling",
                                        "label_de": "Mischling",
                                        "label_en": "Mixed breed",
                                    },
                                    {
                                        "value": "dackel",
                                        "label_de": "Dackel",
                                        "label_en": "Dachshund",
                                    },
                                ],
                            },
                            {
                                "id": "gewicht",
                                "type": "number",
                                "label_de": "Gewicht (kg)",
                                "label_en": "Weight (kg)",
                                "constraints": {"min": 0.5, "max": 120, "decimal_places": 1},
                            },
                            {
                                "id": "alter",
                                "type": "integer",
                                "label_de": "Alter (Jahre)",
                                "label_en": "Age (years)",
                                "constraints": {"min": 0, "max": 30},
                            },
                        ],
                    },
                    {
                        "id": "spende",
                        "type": "currency",
                        "label_de": "Freiwillige Spende an das Tierheim",
                        "label_en": "Voluntary donation to the animal shelter",
                        "constraints": {"min": 0, "max": 1000},
                    },
                    {
                        "id": "nachweis",
                        "type": "file",
                        "label_de": "Nachweis der Haftpflichtversicherung",
                        "label_en": "Proof of liability insurance",
                        "required": True,
                        "constraints": {"max_files": 2},
                    },
                ],
            },
        ],
    }


class FormDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FormDefinition

    municipality = factory.SubFactory(MunicipalityFactory)
    service = factory.SubFactory(
        ServiceFactory, municipality=factory.SelfAttribute("..municipality")
    )
    key = factory.Sequence(lambda n: f"formular-{n}")


class FormVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FormVersion

    definition = factory.SubFactory(FormDefinitionFactory)
    municipality = factory.SelfAttribute("definition.municipality")
    number = 1
    schema = factory.LazyFunction(simple_schema)


class ApplicationFactory(factory.django.DjangoModelFactory):
    """A draft of ``form_version``'s form (give one and a citizen)."""

    class Meta:
        model = Application

    municipality = factory.SelfAttribute("form_version.municipality")
    service = factory.SelfAttribute("form_version.definition.service")
    org_unit = factory.SelfAttribute("form_version.definition.org_unit")
    idempotency_key = factory.Sequence(lambda n: f"key-{n:016d}")


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    municipality = factory.SelfAttribute("application.municipality")
    original_name = "nachweis.pdf"
    content_type = "application/pdf"
    size = 100
    sha256 = "0" * 64
    scan_status = Document.ScanStatus.NOT_SCANNED
    file = factory.django.FileField(filename="nachweis.pdf", data=b"%PDF-1.4 test")
