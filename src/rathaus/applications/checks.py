"""Deployment check: the test payment provider takes no real money."""

from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register

from rathaus.applications import payments


@register(Tags.security, deploy=True)
def test_payment_provider_off_in_production(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy`` warns while fees are "paid" on the test provider's page."""
    if not isinstance(payments.provider(), payments.TestPaymentProvider):
        return []
    return [
        Warning(
            "The test payment provider is configured (RATHAUS_PAYMENT_PROVIDER): citizens "
            "'pay' fees by pressing a button, no money moves.",
            hint="Configure the municipality's payment provider (e.g. ePayBL).",
            id="rathaus_applications.W001",
        )
    ]
