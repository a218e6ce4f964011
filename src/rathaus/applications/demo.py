"""Demo application forms for services of the demo catalogue (``rathaus load_demo``).

The demo catalogue is the City of Munich's (``catalog.services.catalog_demo_load``); the
forms attach to its services by their id there, and to a dog-tax service where the
catalogue has one (found by its short name). Services that are missing are skipped.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from rathaus.applications import services
from rathaus.applications.models import FormDefinition
from rathaus.catalog.models import Service
from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit

logger = logging.getLogger(__name__)

_NAME = {
    "id": "name",
    "type": "text",
    "label_de": "Vor- und Nachname",
    "label_en": "First and last name",
    "required": True,
    "constraints": {"min_length": 2, "max_length": 200},
}
_ADDRESS = {
    "id": "anschrift",
    "type": "text",
    "label_de": "Anschrift (Straße, Hausnummer, PLZ, Ort)",
    "label_en": "Address (street, number, postcode, town)",
    "required": True,
    "constraints": {"max_length": 300, "multiline": True},
}
_BIRTH = {
    "id": "geburtsdatum",
    "type": "date",
    "label_de": "Geburtsdatum",
    "label_en": "Date of birth",
    "required": True,
    "constraints": {"min_date": "1900-01-01", "max_date": "today"},
}

DOG_TAX: dict[str, Any] = {
    "title_de": "Hundesteuer \u2013 Anmeldung",
    "title_en": "Dog tax \u2013 registration",
    "pages": [
        {
            "id": "halter",
            "title_de": "Halterin oder Halter",
            "title_en": "Owner",
            "fields": [_NAME, _ADDRESS, _BIRTH],
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
                    "max": 5,
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
                            "type": "text",
                            "label_de": "Rasse",
                            "label_en": "Breed",
                        },
                        {
                            "id": "seit",
                            "type": "date",
                            "label_de": "Gehalten seit",
                            "label_en": "Kept since",
                            "required": True,
                            "constraints": {"max_date": "today"},
                        },
                    ],
                },
                {
                    "id": "versicherung",
                    "type": "file",
                    "label_de": "Nachweis der Hundehaftpflichtversicherung",
                    "label_en": "Proof of dog liability insurance",
                    "help_de": "Ein Foto oder Scan der Versicherungsbestätigung.",
                    "help_en": "A photo or scan of the insurance certificate.",
                    "required": True,
                },
            ],
        },
    ],
    "fee": {"item": 0, "quantity_field": "hunde"},
}

RESIDENT_PARKING: dict[str, Any] = {
    "title_de": "Bewohnerparkausweis beantragen",
    "title_en": "Apply for a resident parking permit",
    "pages": [
        {
            "id": "person",
            "title_de": "Antragstellerin oder Antragsteller",
            "title_en": "Applicant",
            "fields": [_NAME, _ADDRESS],
        },
        {
            "id": "fahrzeug",
            "title_de": "Fahrzeug",
            "title_en": "Vehicle",
            "fields": [
                {
                    "id": "kennzeichen",
                    "type": "text",
                    "label_de": "Amtliches Kennzeichen",
                    "label_en": "Registration number",
                    "help_de": "Zum Beispiel M-AB 1234",
                    "help_en": "For example M-AB 1234",
                    "required": True,
                    "constraints": {
                        "pattern": "[A-ZÄÖÜ]{1,3}-[A-Z]{1,2} ?[0-9]{1,4}[EH]?",
                        "pattern_message_de": "Bitte wie M-AB 1234 angeben.",
                        "pattern_message_en": "Please give it like M-AB 1234.",
                    },
                },
                {
                    "id": "halter",
                    "type": "boolean",
                    "label_de": "Das Fahrzeug ist auf mich zugelassen",
                    "label_en": "The vehicle is registered in my name",
                },
                {
                    "id": "fahrzeugschein",
                    "type": "file",
                    "label_de": "Zulassungsbescheinigung Teil I (Fahrzeugschein)",
                    "label_en": "Registration certificate part I",
                    "required": True,
                },
            ],
        },
    ],
    "fee": {"item": 0},
}

DISABLED_PARKING: dict[str, Any] = {
    "title_de": "Parkausweis für Menschen mit Behinderung",
    "title_en": "Parking permit for disabled people",
    "pages": [
        {
            "id": "person",
            "title_de": "Angaben",
            "title_en": "Details",
            "fields": [
                _NAME,
                _ADDRESS,
                _BIRTH,
                {
                    "id": "merkzeichen",
                    "type": "select",
                    "label_de": "Merkzeichen im Schwerbehindertenausweis",
                    "label_en": "Mark in the severely disabled person's pass",
                    "required": True,
                    "options": [
                        {"value": "aG", "label_de": "aG", "label_en": "aG"},
                        {"value": "Bl", "label_de": "Bl", "label_en": "Bl"},
                        {"value": "TBl", "label_de": "TBl", "label_en": "TBl"},
                    ],
                },
                {
                    "id": "ausweis",
                    "type": "file",
                    "label_de": "Schwerbehindertenausweis (Vorder- und Rückseite)",
                    "label_en": "Severely disabled person's pass (both sides)",
                    "required": True,
                    "constraints": {"max_files": 2},
                },
            ],
        }
    ],
}

# (form key, how to find the service, schema)
DEMO_FORMS: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("hundesteuer-anmeldung", {"slug__startswith": "hundesteuer"}, DOG_TAX),
    (
        "bewohnerparkausweis",
        {"source": "dldb-muenchen", "source_id": "1072043"},
        RESIDENT_PARKING,
    ),
    (
        "parkausweis-behinderte",
        {"source": "dldb-muenchen", "source_id": "1072009"},
        DISABLED_PARKING,
    ),
]


def _handling_unit(municipality: Municipality, service: Service) -> OrgUnit | None:
    if service.responsible_unit_id is not None:
        return service.responsible_unit
    # The demo organisation's Bürgerbüro, where the demo case worker works.
    return (
        OrgUnit.objects.filter(municipality=municipality, code="BB", is_active=True).first()
        or OrgUnit.objects.filter(municipality=municipality, parent__isnull=True).first()
    )


def applications_demo_load(*, municipality: Municipality) -> list[FormDefinition]:
    """Create and publish the demo forms for the services the catalogue has; safe to rerun.

    Also deploys the generic application process. Returns the forms created this time.
    """
    created = []
    with transaction.atomic():
        services.generic_process_ensure(municipality=municipality)
        for key, lookup, schema in DEMO_FORMS:
            service = (
                Service.objects.filter(municipality=municipality, **lookup).order_by("pk").first()
            )
            if service is None:
                logger.info("applications demo: no service for %s", key)
                continue
            if FormDefinition.objects.filter(service=service).exists() or (
                FormDefinition.objects.filter(municipality=municipality, key=key).exists()
            ):
                continue
            unit = _handling_unit(municipality, service)
            if unit is None:
                logger.info("applications demo: no org unit for %s", key)
                continue
            definition = services.form_definition_create(
                municipality=municipality,
                service=service,
                key=key,
                org_unit=unit,
                schema=schema,
                user=None,
            )
            services.form_version_publish(version=definition.versions.get(), user=None)
            created.append(definition)
    return created
