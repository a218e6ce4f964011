"""Demo data of the Bürgerbüro: an office in Musterstadt's town hall with four counters,
services from the catalogue, and the counter role for the demo clerk.

Loaded idempotently by ``rathaus load_demo``."""

from django.contrib.auth.models import Permission

from rathaus.buergerbuero.models import Counter, Office
from rathaus.catalog.models import Location, Service, ServiceLocation
from rathaus.core.models import Municipality

DEMO_SOURCE_ID = "buergerbuero-rathaus"
ROLE_KEY = "buergerbuero"
HOURS = [
    {"weekday": 0, "opens": "08:00", "closes": "16:00"},
    {"weekday": 1, "opens": "08:00", "closes": "16:00"},
    {"weekday": 2, "opens": "08:00", "closes": "13:00"},
    {"weekday": 3, "opens": "08:00", "closes": "18:00"},
    {"weekday": 4, "opens": "08:00", "closes": "13:00"},
]
# (words in the catalogue's German name, minutes, fallback name)
SERVICES = [
    (("personalausweis",), 15, "Personalausweis beantragen"),
    (("reisepass",), 15, "Reisepass beantragen"),
    (("anmeldung", "wohnsitz"), 10, "Wohnsitz anmelden"),
    (("meldebescheinigung",), 5, "Meldebescheinigung"),
    (("führungszeugnis",), 5, "Führungszeugnis beantragen"),
]


def _service(municipality: Municipality, words: tuple[str, ...], fallback: str) -> Service:
    for word in words:
        found = (
            Service.objects.filter(
                municipality=municipality, is_public=True, name_de__icontains=word
            )
            .order_by("name_de")
            .first()
        )
        if found is not None:
            return found
    service, _created = Service.objects.get_or_create(
        municipality=municipality,
        source="local",
        source_id=f"buergerbuero-{words[0]}",
        defaults={"slug": f"buergerbuero-{words[0]}"[:80], "name_de": fallback},
    )
    return service


def buergerbuero_demo_load(*, municipality: Municipality) -> None:
    """The demo office, counters, services and the clerk's counter role."""
    location, _created = Location.objects.get_or_create(
        municipality=municipality,
        source="local",
        source_id=DEMO_SOURCE_ID,
        defaults={
            "name_de": "Bürgerbüro im Rathaus",
            "name_en": "Citizens' office in the town hall",
            "street": "Marktplatz",
            "house_number": "1",
            "postal_code": "71634",
            "city": municipality.name,
            "opening_hours": HOURS,
            "wheelchair_accessible": True,
        },
    )
    office, _created = Office.objects.get_or_create(
        location=location, defaults={"municipality": municipality}
    )
    for number, room in enumerate(("E.01", "E.02", "E.03", "E.04"), start=1):
        Counter.objects.get_or_create(
            office=office,
            name=f"Schalter {number}",
            defaults={
                "municipality": municipality,
                "room": room,
                "floor": "EG",
                "position": number,
            },
        )
    for words, minutes, fallback in SERVICES:
        service = _service(municipality, words, fallback)
        ServiceLocation.objects.get_or_create(
            service=service,
            location=location,
            defaults={"municipality": municipality, "appointment_minutes": minutes},
        )
    _clerk_role(municipality)


def _clerk_role(municipality: Municipality) -> None:
    from rathaus.accounts.models import User
    from rathaus.organisation.models import OrgUnit, Role, RoleGrant
    from rathaus.organisation.services import role_grant

    role, created = Role.objects.get_or_create(
        municipality=municipality,
        key=ROLE_KEY,
        defaults={
            "name_de": "Bürgerbüro-Schalter",
            "name_en": "Citizen office counter",
            "description": "Ruft Wartende auf, bedient sie und sieht die Statistik.",
        },
    )
    if created:
        role.permissions.set(
            Permission.objects.filter(
                content_type__app_label="buergerbuero",
                codename__in=["serve_counter", "view_statistics", "manage_office"],
            )
        )
    unit = OrgUnit.objects.filter(municipality=municipality, code="BB").first()
    clerk = User.objects.filter(
        municipality=municipality, email__istartswith="sachbearbeitung@"
    ).first()
    if unit is None or clerk is None:
        return
    if not RoleGrant.objects.filter(user=clerk, role=role, org_unit=unit).exists():
        role_grant(granted_by=None, user=clerk, role=role, org_unit=unit)
