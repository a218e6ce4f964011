"""The demo municipalities, loaded idempotently by ``rathaus load_demo``.

Demo accounts have published passwords (and the administrator a published second
factor): never load the demo into a production database.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.accounts.services import user_create
from rathaus.applications.demo import applications_demo_load
from rathaus.assistant.demo import assistant_demo_load
from rathaus.buergerbuero.demo import buergerbuero_demo_load
from rathaus.catalog.services import catalog_demo_load
from rathaus.charging.demo import charging_demo_load
from rathaus.core.models import Municipality
from rathaus.einvoice.demo import einvoice_demo_load
from rathaus.fragdenob.demo import fragdenob_demo_load
from rathaus.idpickup.demo import idpickup_demo_load
from rathaus.legal.services import legal_pages_ensure
from rathaus.organisation.models import OrgUnit, Role, RoleGrant
from rathaus.organisation.services import organisation_defaults_ensure, role_grant
from rathaus.parking.demo import parking_demo_load
from rathaus.traffic.demo import traffic_demo_load

DEMO_PASSWORD = "rathaus-demo-2026"  # noqa: S105 - a published demo password
# The administrator's authenticator secret, published so that the demo can be tried:
# any TOTP app (or `python -c "import pyotp; print(pyotp.TOTP('...').now())"`) gives codes.
DEMO_TOTP_SECRET = "RATHAUSDEMOADMINSECONDFACTORXYZA"  # noqa: S105


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    ags: str
    state: str
    email: str
    phone: str
    address: str


TENANTS = [
    DemoTenant(
        slug="musterstadt",
        name="Musterstadt",
        ags="08999001",
        state="BW",
        email="buergerbuero@musterstadt.example",
        phone="+49 7141 000-0",
        address="Rathaus Musterstadt\nMarktplatz 1\n71634 Musterstadt",
    ),
    DemoTenant(
        slug="beispielheim",
        name="Beispielheim",
        ags="08999002",
        state="BW",
        email="rathaus@beispielheim.example",
        phone="+49 7142 000-0",
        address="Rathaus Beispielheim\nKirchstraße 2\n74321 Beispielheim",
    ),
]


@dataclass(frozen=True)
class DemoLogin:
    municipality: str
    email: str
    role: str


@dataclass(frozen=True)
class DemoPerson:
    local: str
    first: str
    last: str
    staff: bool
    roles: tuple[tuple[str, str], ...]  # (role key, org unit short name)
    label: str


PEOPLE = [
    DemoPerson(
        "redaktion",
        "Erika",
        "Redakteurin",
        True,
        (("redaktion", "SV"),),
        "staff: editor of legal pages",
    ),
    DemoPerson(
        "sachbearbeitung",
        "Sam",
        "Sachbearbeiter",
        True,
        (("sachbearbeitung", "BB"),),
        "staff: clerk, Bürgerbüro",
    ),
    DemoPerson(
        "admin",
        "Ada",
        "Administratorin",
        True,
        (("administration", "SV"), ("revision", "SV")),
        "staff: administrator and auditor (second factor required)",
    ),
    DemoPerson(
        "mobilitaet",
        "Moritz",
        "Mobil",
        True,
        (("verkehrstechnik", "SV"), ("mobilitaet", "SV")),
        "staff: traffic engineering, parking and charging stations",
    ),
    DemoPerson("buerger", "Max", "Mustermann", False, (), "citizen"),
]


def _ensure_user(*, municipality: Municipality, person: DemoPerson, domain: str) -> User:
    email = f"{person.local}@{domain}"
    user = User.objects.filter(municipality=municipality, email__iexact=email).first()
    if user is None:
        user = user_create(
            municipality=municipality,
            email=email,
            password=DEMO_PASSWORD,
            first_name=person.first,
            last_name=person.last,
            is_staff=person.staff,
        )
        user.email_verified_at = timezone.now()
        if person.local == "admin":
            user.totp_secret, user.totp_confirmed_at = DEMO_TOTP_SECRET, timezone.now()
        user.save()
    return user


def _ensure_grants(
    *, municipality: Municipality, user: User, person: DemoPerson, units: dict[str, OrgUnit]
) -> None:
    for role_key, unit_code in person.roles:
        role = Role.objects.get(municipality=municipality, key=role_key)
        unit = units[unit_code]
        # Granting again would renew the grant and write another audit event.
        if not RoleGrant.objects.filter(user=user, role=role, org_unit=unit).exists():
            role_grant(granted_by=None, user=user, role=role, org_unit=unit)


def demo_load() -> list[DemoLogin]:
    """Create or complete the demo tenants, organisation, pages and accounts; safe to rerun."""
    logins = []
    with transaction.atomic():
        for spec in TENANTS:
            municipality, _ = Municipality.objects.update_or_create(
                slug=spec.slug,
                defaults={
                    "name": spec.name,
                    "ags": spec.ags,
                    "state": spec.state,
                    "email": spec.email,
                    "phone": spec.phone,
                    "address": spec.address,
                },
            )
            legal_pages_ensure(municipality=municipality)
            units = organisation_defaults_ensure(municipality=municipality)
            if spec.slug == "musterstadt":
                # The real Munich service database (CC BY 4.0) from the shared data folder.
                catalog_demo_load(municipality=municipality)
                applications_demo_load(municipality=municipality)
            domain = spec.email.split("@", 1)[1]
            for person in PEOPLE:
                user = _ensure_user(municipality=municipality, person=person, domain=domain)
                _ensure_grants(municipality=municipality, user=user, person=person, units=units)
                logins.append(DemoLogin(spec.slug, user.email, person.label))
            if spec.slug == "musterstadt":
                # The modules' own demo data, after the accounts they may refer to.
                buergerbuero_demo_load(municipality=municipality)
                assistant_demo_load(municipality=municipality)
                idpickup_demo_load(municipality=municipality)
                fragdenob_demo_load(municipality=municipality)
                einvoice_demo_load(municipality=municipality)
                traffic_demo_load(municipality=municipality)
                parking_demo_load(municipality=municipality)
                charging_demo_load(municipality=municipality)
    return logins
