from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrafficConfig(AppConfig):
    name = "rathaus.traffic"
    label = "traffic"
    verbose_name = _("Traffic signals")

    def ready(self) -> None:
        from rathaus.core import daemons

        # Detector data and priority requests over MQTT; needs a broker, so off by default.
        daemons.register(
            daemons.Daemon(
                "traffic-mqtt", ("traffic", "mqtt"), "MQTT detector and priority ingester"
            )
        )
