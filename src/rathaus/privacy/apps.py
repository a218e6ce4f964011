from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "rathaus.privacy"
    label = "privacy"
    verbose_name = _("Data protection")

    def ready(self) -> None:
        # Providers of the apps below this one in the layers (they may not use the registry).
        from rathaus.privacy import audit_data, notifications_data  # noqa: F401
