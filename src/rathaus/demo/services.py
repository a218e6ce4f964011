"""The demo municipalities, loaded idempotently by ``rathaus load_demo``.

Demo accounts have published passwords: never load the demo into a production database.
"""

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from rathaus.accounts.models import User
from rathaus.accounts.services import user_create
from rathaus.core.models import Municipality
from rathaus.legal.services import legal_pages_ensure

DEMO_PASSWORD = "rathaus-demo-2026"  # noqa: S105 - a published demo password


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

EDITOR_GROUP = "Redaktion"


@dataclass(frozen=True)
class DemoLogin:
    municipality: str
    email: str
    role: str


def _editor_group() -> Group:
    group, _ = Group.objects.get_or_create(name=EDITOR_GROUP)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="legal", codename__in=["change_legalpage", "view_legalpage"]
        )
    )
    return group


def _ensure_user(
    *, municipality: Municipality, email: str, first: str, last: str, staff: bool
) -> User:
    user = User.objects.filter(municipality=municipality, email__iexact=email).first()
    if user is None:
        user = user_create(
            municipality=municipality,
            email=email,
            password=DEMO_PASSWORD,
            first_name=first,
            last_name=last,
            is_staff=staff,
        )
    return user


def demo_load() -> list[DemoLogin]:
    """Create or complete the demo tenants, their pages and accounts; safe to rerun."""
    logins = []
    with transaction.atomic():
        editors = _editor_group()
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
            domain = spec.email.split("@", 1)[1]
            staff = _ensure_user(
                municipality=municipality,
                email=f"redaktion@{domain}",
                first="Erika",
                last="Redakteurin",
                staff=True,
            )
            staff.groups.add(editors)
            _ensure_user(
                municipality=municipality,
                email=f"buerger@{domain}",
                first="Max",
                last="Mustermann",
                staff=False,
            )
            logins += [
                DemoLogin(spec.slug, f"redaktion@{domain}", "staff (editor)"),
                DemoLogin(spec.slug, f"buerger@{domain}", "citizen"),
            ]
    return logins
