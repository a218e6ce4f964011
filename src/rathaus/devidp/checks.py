"""Deployment check: the dev IdP must not be on in production."""

from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register

from rathaus.devidp import registration


@register(Tags.security, deploy=True)
def dev_idp_off_in_production(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy`` warns while anyone can sign in as a made-up person."""
    if not registration.enabled():
        return []
    return [
        Warning(
            "The development identity provider is enabled (RATHAUS_DEV_IDP): anyone can "
            "sign in as a made-up person at trust level 'high'.",
            hint="Set RATHAUS_DEV_IDP=false outside development and demonstrations.",
            id="rathaus_devidp.W001",
        )
    ]
