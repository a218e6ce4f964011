from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "rathaus.privacy"
    label = "privacy"
    verbose_name = _("Data protection")

    def ready(self) -> None:
        # The audit trail's provider (the audit app itself may not use this registry).
        from rathaus.privacy import audit_data  # noqa: F401
