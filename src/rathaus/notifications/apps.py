from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "rathaus.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        checks.register(sms_gateway_check, checks.Tags.compatibility, deploy=True)


def sms_gateway_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``check --deploy``: text messages must not end in the test outbox, or nowhere."""
    gateway = getattr(settings, "RATHAUS_SMS_GATEWAY", None)
    if gateway and gateway.endswith(".TestSmsGateway"):
        return [
            checks.Warning(
                "Text messages are kept by the test gateway and never sent.",
                hint="Set RATHAUS_SMS_GATEWAY to rathaus.notifications.channels.HttpSmsGateway "
                "and RATHAUS_SMS_GATEWAY_URL (and _TOKEN) to the provider's endpoint, or to "
                "an empty value to send no text messages.",
                id="notifications.W001",
            )
        ]
    if (
        gateway
        and gateway.endswith(".HttpSmsGateway")
        and not getattr(settings, "RATHAUS_SMS_GATEWAY_URL", "")
    ):
        return [
            checks.Error(
                "RATHAUS_SMS_GATEWAY_URL is not set; no text message can be sent.",
                id="notifications.E001",
            )
        ]
    return []
