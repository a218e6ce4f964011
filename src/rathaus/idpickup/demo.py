"""Demo data of ID documents picked up from a locker terminal.

Loaded idempotently by ``rathaus load_demo`` for Musterstadt: a simulator terminal in the
foyer of the first catalogue location, a role "Ausweisterminal" for the demo clerk and the
demo administrator (the two people of the four-eyes loading) with terminal cards, and
orders in several states. The device key is not printed: staff open the simulator page
(/kiosk/ausweisabholung/<id>/), which signs with it.
"""

import datetime
import logging

from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.catalog.models import Location
from rathaus.core.models import Municipality
from rathaus.idpickup import services
from rathaus.idpickup.models import IdOrder, Size, StaffCredential, Terminal
from rathaus.organisation.models import OrgUnit, Role, RoleGrant
from rathaus.organisation.services import role_grant

logger = logging.getLogger(__name__)

TERMINAL_NAME = "Abholterminal Foyer"
ROLE_KEY = "ausweisterminal"
# Demo terminal cards (card token, PIN) of the demo clerk and the demo administrator.
DEMO_CARDS = {
    "sachbearbeitung": ("DEMO-CARD-SAM-0000000001", "1234"),
    "admin": ("DEMO-CARD-ADA-0000000002", "5678"),
}
LAYOUT = [
    (Size.SMALL, 40),
    (Size.SMALL, 80),
    (Size.SMALL, 120),
    (Size.SMALL, 160),
    (Size.MEDIUM, 60),
    (Size.MEDIUM, 100),
    (Size.MEDIUM, 140),
    (Size.LARGE, 40),
]


def _staff(municipality: Municipality) -> list[User]:
    users = []
    for local in DEMO_CARDS:
        user = User.objects.filter(
            municipality=municipality, email__startswith=f"{local}@", is_staff=True
        ).first()
        if user is not None:
            users.append(user)
    return users


def _role(municipality: Municipality) -> Role:
    role, _created = Role.objects.get_or_create(
        municipality=municipality,
        key=ROLE_KEY,
        defaults={
            "name_de": "Ausweisterminal",
            "name_en": "ID pickup terminal",
            "description": "Verwaltet Ausweisaufträge und bestückt das Abholterminal.",
        },
    )
    role.permissions.set(
        Permission.objects.filter(
            content_type__app_label="idpickup",
            codename__in=["manage_idorder", "operate_terminal"],
        )
    )
    return role


def idpickup_demo_load(*, municipality: Municipality) -> None:
    """Terminal, role, cards and sample orders for the demo (safe to rerun)."""
    location = Location.objects.filter(municipality=municipality).order_by("pk").first()
    if location is None:
        logger.warning("no catalogue location: idpickup demo skipped")
        return
    with transaction.atomic():
        role = _role(municipality)
        unit = OrgUnit.objects.filter(municipality=municipality, code="BB").first()
        staff = _staff(municipality)
        for user in staff:
            if unit and not RoleGrant.objects.filter(user=user, role=role, org_unit=unit).exists():
                role_grant(granted_by=None, user=user, role=role, org_unit=unit)
        terminal = Terminal.objects.filter(municipality=municipality, name=TERMINAL_NAME).first()
        if terminal is None:
            terminal, _key = services.terminal_register(
                municipality=municipality,
                actor=None,
                location=location,
                name=TERMINAL_NAME,
                compartments=LAYOUT,
                simulator=True,
            )
    for user in staff:
        local = user.email.split("@", 1)[0]
        if not StaffCredential.objects.filter(user=user).exists():
            user = User.objects.get(pk=user.pk)  # fresh permission cache after the grant
            card, pin = DEMO_CARDS[local]
            services.staff_credential_set(user=user, card_token=card, pin=pin)
    if IdOrder.objects.filter(municipality=municipality).exists():
        return
    citizen = User.objects.filter(
        municipality=municipality, email__startswith="buerger@", is_staff=False
    ).first()
    samples = [
        ("Max", "Mustermann", IdOrder.Kind.ID_CARD, "DEMOPA000001", "arrived", citizen),
        ("Erika", "Musterfrau", IdOrder.Kind.PASSPORT, "DEMORP000002", "arrived", None),
        ("Jonas", "Beispiel", IdOrder.Kind.CHILD_PASSPORT, "DEMOKP000003", "production", None),
        ("Aylin", "Demir", IdOrder.Kind.ID_CARD, "", "applied", None),
    ]
    for given, family, kind, barcode, target, account in samples:
        order = services.order_create(
            municipality=municipality,
            actor=None,
            kind=kind,
            given_name=given,
            family_name=family,
            date_of_birth=datetime.date(1985, 5, 17),
            location=location,
            size=Size.MEDIUM if kind == IdOrder.Kind.PASSPORT else Size.SMALL,
            citizen=account,
            terminal_opt_in=True,
            consent=True,
            contact_channel=IdOrder.Channel.EMAIL,
            contact_address=f"{given.lower()}.{family.lower()}@example.org",
            fingerprint_ref=f"FP-DEMO-{given.upper()}",
        )
        if barcode:
            services.order_production_start(order=order, actor=None, document_barcode=barcode)
        if target == "arrived":
            services.orders_arrive(
                municipality=municipality, actor=None, barcodes=[barcode], now=timezone.now()
            )
