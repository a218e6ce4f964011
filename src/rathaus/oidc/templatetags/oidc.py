"""The sign-in buttons of the configured providers, for the login page."""

import logging
from typing import Any

from django import template
from django.core.exceptions import ImproperlyConfigured

from rathaus.oidc.config import providers
from rathaus.oidc.links import start_url

register = template.Library()
logger = logging.getLogger(__name__)


@register.simple_tag(takes_context=True)
def oidc_login_options(context: template.Context, next_url: str = "") -> dict[str, list[Any]]:
    """``{"citizens": [...], "staff": [...]}``, each item with label, test flag and URL."""
    request = context.get("request")
    options: dict[str, list[Any]] = {"citizens": [], "staff": []}
    if request is None or getattr(request, "municipality", None) is None:
        return options
    try:
        configured = providers(request)
    except ImproperlyConfigured:
        # The system check reports the mistake; the password login must still work.
        logger.exception("RATHAUS_OIDC_PROVIDERS is invalid")
        return options
    # Only a path on this site is passed on; the login view has checked it already.
    next_url = next_url if next_url.startswith("/") and not next_url.startswith("//") else ""
    for config in configured.values():
        options["staff" if config.for_staff else "citizens"].append(
            {
                "name": config.name,
                "label": config.label,
                "is_test": config.is_test,
                "url": start_url(config.name, next_url=next_url),
            }
        )
    return options
