"""Writes on municipalities (tenants)."""

from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from rathaus.core.branding import (
    LOGO_MAX_BYTES,
    MIN_TEXT_CONTRAST,
    WHITE,
    contrast_ratio,
    logo_format,
)
from rathaus.core.errors import ValidationFailed, full_clean_or_fail
from rathaus.core.models import Municipality
from rathaus.core.municipal_settings import municipal_settings_validate
from rathaus.core.tenancy import forget_host

CONTACT_FIELDS = ["name", "email", "phone", "address"]


def municipality_update(
    *,
    municipality: Municipality,
    contact: dict[str, str],
    primary_colour: str,
    logo: UploadedFile | None = None,
    remove_logo: bool = False,
    settings: dict[str, Any] | None = None,
) -> Municipality:
    """Change contact data, branding and settings; colours must keep text readable.

    The primary colour carries white text and is used for links on white, so it needs
    a contrast of at least 4.5:1 against white (WCAG 2.1, 1.4.3).
    """
    errors: dict[str, list[str]] = {}
    colour = primary_colour.strip().lower()
    if len(colour) == 7 and colour.startswith("#"):
        try:
            ratio = contrast_ratio(colour, WHITE)
        except ValueError:
            ratio = 0.0
        if ratio < MIN_TEXT_CONTRAST:
            errors["primary_colour"] = [
                str(
                    _(
                        "Contrast with white is %(ratio).1f:1; at least 4.5:1 is needed. "
                        "Choose a darker colour."
                    )
                    % {"ratio": ratio}
                )
            ]
    if logo is not None:
        if logo.size is None or logo.size > LOGO_MAX_BYTES:
            errors["logo"] = [str(_("The logo may be at most 512 KB."))]
        else:
            head = logo.read(16)
            logo.seek(0)
            kind = logo_format(head)
            if kind is None:
                errors["logo"] = [str(_("Upload a PNG, JPEG or WebP image."))]
            else:
                logo.name = f"{municipality.slug}-logo.{kind}"
    clean_settings = {}
    if settings:
        try:
            clean_settings = municipal_settings_validate(settings)
        except ValidationFailed as error:
            errors.update(error.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        for name in CONTACT_FIELDS:
            if name in contact:
                setattr(municipality, name, contact[name].strip())
        municipality.primary_colour = colour
        if remove_logo and municipality.logo:
            municipality.logo.delete(save=False)
        if logo is not None:
            municipality.logo.save(logo.name, logo, save=False)
        municipality.settings = {**(municipality.settings or {}), **clean_settings}
        full_clean_or_fail(municipality)
        municipality.save()
    _forget_cached_hosts(municipality)
    return municipality


def _forget_cached_hosts(municipality: Municipality) -> None:
    # The tenant is cached per host name; drop every name this municipality answers to.
    from django.conf import settings as django_settings

    forget_host(f"{municipality.slug}.{django_settings.RATHAUS_BASE_DOMAIN}")
    for hostname in municipality.domains.values_list("hostname", flat=True):
        forget_host(hostname)
    if municipality.slug == django_settings.RATHAUS_DEFAULT_TENANT:
        for host in [
            django_settings.RATHAUS_BASE_DOMAIN,
            *django_settings.RATHAUS_DEFAULT_TENANT_HOSTS,
        ]:
            forget_host(host)
