from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParkingConfig(AppConfig):
    name = "rathaus.parking"
    label = "parking"
    verbose_name = _("Parking")

    def ready(self) -> None:
        from rathaus.core import daemons
        from rathaus.core.municipal_settings import SettingSpec, register

        # Needs an MQTT broker, so not started by default: RATHAUS_SERVE_DAEMONS=parking-ingest
        daemons.register(
            daemons.Daemon(
                name="parking-ingest",
                argv=("parking", "ingest"),
                description="MQTT ingester of parking sensors and garage systems",
            )
        )

        register(
            SettingSpec(
                "parking.reservation_grace_minutes",
                _("Minutes a reserved parking space is held after its start"),
                15,
                5,
                120,
                _("minutes"),
            )
        )
