"""Setting up a municipality across all apps (the back office is the top layer)."""

from django.db import transaction

from rathaus.audit.services import audit_record
from rathaus.core.errors import ValidationFailed, full_clean_or_fail
from rathaus.core.models import Municipality, MunicipalityDomain
from rathaus.legal.services import legal_pages_ensure


def municipality_setup(
    *, slug: str, name: str, ags: str, state: str, email: str = "", domains: list[str] | None = None
) -> Municipality:
    """Create a municipality with everything a new tenant needs (legal pages, ...).

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
        if created:
            audit_record(
                municipality=None,
                action="core.municipality.created",
                target=municipality,
                data={"slug": slug},
            )
    return municipality
