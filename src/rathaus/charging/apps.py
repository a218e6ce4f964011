from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChargingConfig(AppConfig):
    name = "rathaus.charging"
    label = "charging"
    verbose_name = _("Charging stations")

    def ready(self) -> None:
        from rathaus.core import daemons
        from rathaus.core.municipal_settings import SettingSpec, register

        register(
            SettingSpec(
                "charging.silent_minutes",
                _("Alert when a charging station is silent for"),
                15,
                3,
                1440,
                _("minutes"),
            )
        )
        # The command queue lives in the database, so the central system needs nothing
        # beyond the embedded default and starts with ``rathaus serve`` (ADR 0023).
        daemons.register(
            daemons.Daemon("ocpp", ("ocpp", "serve"), "OCPP central system", default=True)
        )
