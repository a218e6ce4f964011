"""Setting up a municipality across all apps (the back office is the top layer)."""

from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from rathaus.accounts.models import User
from rathaus.accounts.services import user_create
from rathaus.audit.services import audit_record
from rathaus.core.errors import ValidationFailed, full_clean_or_fail
from rathaus.core.models import Municipality, MunicipalityDomain
from rathaus.legal.services import legal_pages_ensure
from rathaus.organisation.defaults import ROOT_CODE
from rathaus.organisation.models import Role, RoleGrant
from rathaus.organisation.services import organisation_defaults_ensure, role_grant
from rathaus.workflow.services import process_shipped_deploy


@dataclass(frozen=True)
class FirstAdmin:
    email: str
    password: str
    first_name: str = ""
    last_name: str = ""


def municipality_setup(
    *,
    slug: str,
    name: str,
    ags: str,
    state: str,
    email: str = "",
    domains: list[str] | None = None,
    admin: FirstAdmin | None = None,
) -> Municipality:
    """Create a municipality with everything a new tenant needs: its domains, the legal
    pages, the default organisation (units and roles) and the process models shipped with
    rathaus; with ``admin``, also its first administrator (``municipality_admin_ensure``).
    All or nothing: a refused administrator password leaves no municipality behind.

    Idempotent for an existing slug: completes what is missing, changes nothing else.
    """
    with transaction.atomic():
        municipality = Municipality.objects.filter(slug=slug).first()
        created = municipality is None
        if municipality is None:
            municipality = Municipality(slug=slug, name=name, ags=ags, state=state, email=email)
            full_clean_or_fail(municipality)
            municipality.save()
        for hostname in domains or []:
            domain = MunicipalityDomain(municipality=municipality, hostname=hostname.lower())
            if not MunicipalityDomain.objects.filter(hostname=domain.hostname).exists():
                full_clean_or_fail(domain)
                domain.save()
            elif not MunicipalityDomain.objects.filter(
                hostname=domain.hostname, municipality=municipality
            ).exists():
                raise ValidationFailed(
                    fields={"domains": [f"{hostname} belongs to another municipality"]}
                )
        legal_pages_ensure(municipality=municipality)
        organisation_defaults_ensure(municipality=municipality)
        process_shipped_deploy(municipality=municipality)
        if admin is not None:
            municipality_admin_ensure(
                municipality=municipality,
                email=admin.email,
                password=admin.password,
                first_name=admin.first_name,
                last_name=admin.last_name,
            )
        if created:
            audit_record(
                municipality=None,
                action="core.municipality.created",
                target=municipality,
                data={"slug": slug},
            )
    return municipality


# The roles of a municipality's first administrator: everything needed to set up the
# rest (units, roles, staff, settings, processes) and to read the audit trail.
FIRST_ADMIN_ROLES = ("administration", "revision")


def municipality_admin_ensure(
    *, municipality: Municipality, email: str, password: str, first_name: str, last_name: str
) -> User:
    """Create the municipality's first administrator (staff, roles Administration and
    Revision in the root unit); an existing account of that address only gets missing
    roles, its password stays. They set up their second factor at the first sign-in.
    """
    with transaction.atomic():
        units = organisation_defaults_ensure(municipality=municipality)
        user = User.objects.filter(municipality=municipality, email__iexact=email.strip()).first()
        if user is None:
            try:
                validate_password(password)
            except ValidationError as error:
                raise ValidationFailed(fields={"password": list(error.messages)}) from error
            user = user_create(
                municipality=municipality,
                email=email,
                password=password,
                first_name=first_name,
                last_name=last_name,
                is_staff=True,
            )
        elif not user.is_staff:
            raise ValidationFailed(fields={"email": [f"{email} is a citizen account"]})
        root = units[ROOT_CODE]
        for key in FIRST_ADMIN_ROLES:
            role = Role.objects.get(municipality=municipality, key=key)
            if not RoleGrant.objects.filter(user=user, role=role, org_unit=root).exists():
                role_grant(granted_by=None, user=user, role=role, org_unit=root)
    return user
