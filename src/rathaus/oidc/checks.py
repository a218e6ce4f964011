"""Startup check of ``RATHAUS_OIDC_PROVIDERS``: a typo must not surface at the first login."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from rathaus.oidc.config import provider_errors


@register()
def oidc_providers_valid(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """One error per mistake in ``RATHAUS_OIDC_PROVIDERS``."""
    setting = getattr(settings, "RATHAUS_OIDC_PROVIDERS", None)
    setting = {} if setting is None else setting
    return [
        Error(
            message,
            hint="See docs/adr/0009-oidc-and-dev-idp.md for the format.",
            id="rathaus_oidc.E001",
        )
        for message in provider_errors(setting)
    ]
