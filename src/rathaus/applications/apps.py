from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    name = "rathaus.applications"
    label = "applications"
    verbose_name = _("Online applications")

    def ready(self) -> None:
        from rathaus.applications import (  # noqa: F401  (registers the check, the receivers)
            checks,
            signals,
        )
