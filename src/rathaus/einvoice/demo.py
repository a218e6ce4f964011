"""Demo data of the inbox for incoming XRechnung e-invoices.

Loaded idempotently by ``rathaus load_demo`` for Musterstadt: a role for invoice checks,
two clerks in the Bürgerbüro (so the four-eyes principle can be tried), the Kämmerei with
the rights to receive, export and keep the Leitweg-ID register, two Leitweg-IDs, and two
invoices from the official XRechnung test suite (if the rule artefacts are installed).
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Permission
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.einvoice.documents import leitweg_check_digits
from rathaus.einvoice.kosit import ArtefactError
from rathaus.einvoice.models import Invoice, LeitwegRoute
from rathaus.organisation.models import OrgUnit, Role, RoleGrant

logger = logging.getLogger(__name__)

SUITE_INVOICES = (
    "business-cases/standard/01.01a-INVOICE_ubl.xml",
    "business-cases/standard/01.02a-INVOICE_uncefact.xml",
)


def _role(municipality: Municipality, key: str, name: str, permissions: list[str]) -> Role:
    role, _created = Role.objects.get_or_create(
        municipality=municipality, key=key, defaults={"name_de": name, "name_en": name}
    )
    for dotted in permissions:
        app, codename = dotted.split(".")
        role.permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return role


def _person(municipality: Municipality, local: str, first: str, last: str) -> User:
    from rathaus.accounts.services import user_create
    from rathaus.demo.services import DEMO_PASSWORD

    domain = (municipality.email or "musterstadt.example").split("@")[-1]
    email = f"{local}@{domain}"
    user = User.objects.filter(municipality=municipality, email__iexact=email).first()
    if user is None:
        user = user_create(
            municipality=municipality,
            email=email,
            password=DEMO_PASSWORD,
            first_name=first,
            last_name=last,
            is_staff=True,
        )
        user.email_verified_at = timezone.now()
        user.save()
    return user


def _grant(user: User, role: Role, unit: OrgUnit) -> None:
    if not RoleGrant.objects.filter(user=user, role=role, org_unit=unit).exists():
        from rathaus.organisation.services import role_grant

        role_grant(granted_by=None, user=user, role=role, org_unit=unit)


def einvoice_demo_load(*, municipality: Municipality) -> None:
    """Roles, people, Leitweg-IDs and two sample invoices; safe to rerun."""
    from rathaus.einvoice import services

    units = {u.code: u for u in OrgUnit.objects.filter(municipality=municipality)}
    office, treasury = units.get("BB"), units.get("KÄM")
    if office is None or treasury is None:
        return
    check = _role(
        municipality,
        "rechnungspruefung",
        "Rechnungsprüfung",
        ["einvoice.approve_invoice", "workflow.work_on_tasks"],
    )
    finance = _role(
        municipality,
        "e-rechnung-eingang",
        "E-Rechnungseingang",
        ["einvoice.receive_invoice", "einvoice.export_invoice", "einvoice.manage_einvoice"],
    )
    _grant(_person(municipality, "rechnung1", "Rita", "Prüferin"), check, office)
    _grant(_person(municipality, "rechnung2", "Rolf", "Prüfer"), check, office)
    _grant(
        _person(municipality, "kaemmerei", "Karl", "Kämmerer"), finance, units.get("SV", treasury)
    )
    coarse = municipality.ags or "08999001"
    own = f"{coarse}-BB-{leitweg_check_digits(coarse, 'BB')}"
    for leitweg_id, unit in ((own, office), ("04011000-12345-03", office)):
        LeitwegRoute.objects.get_or_create(
            municipality=municipality, leitweg_id=leitweg_id, defaults={"org_unit": unit}
        )
    suite = Path(settings.RATHAUS_SHARED_DIR) / "data" / "xrechnung" / "testsuite"
    for name in SUITE_INVOICES:
        path = suite / name
        if (
            not path.is_file()
            or Invoice.objects.filter(municipality=municipality, file_name=path.name).exists()
        ):
            continue
        try:
            services.invoice_receive(
                municipality=municipality,
                data=path.read_bytes(),
                file_name=path.name,
                channel=Invoice.Channel.UPLOAD,
            )
        except ArtefactError as error:
            logger.warning("e-invoice demo: no sample invoices (%s)", error)
            return
