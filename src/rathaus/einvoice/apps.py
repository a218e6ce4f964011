from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EinvoiceConfig(AppConfig):
    name = "rathaus.einvoice"
    label = "einvoice"
    verbose_name = _("E-invoices (E-Rechnung)")

    def ready(self) -> None:
        from rathaus.core.municipal_settings import SettingSpec, register

        register(
            SettingSpec(
                "einvoice.extra_approval_eur",
                _("Invoices above this amount need a third approval"),
                25000,
                0,
                10_000_000,
                "EUR",
            )
        )
        from rathaus.einvoice import tasks, workflow_handlers  # noqa: F401
