from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BuergerbueroConfig(AppConfig):
    name = "rathaus.buergerbuero"
    label = "buergerbuero"
    verbose_name = _("Citizen office (Bürgerbüro)")

    def ready(self) -> None:
        from rathaus.core.municipal_settings import SettingSpec, register

        minutes = _("minutes")
        register(
            SettingSpec(
                "buergerbuero.reservation_minutes",
                _("Minutes a reserved appointment waits for its confirmation"),
                15,
                5,
                120,
                minutes,
            ),
            SettingSpec(
                "buergerbuero.reminder_hours",
                _("Hours before an appointment that the reminder is sent"),
                24,
                1,
                96,
                _("hours"),
            ),
            SettingSpec(
                "buergerbuero.max_per_contact",
                _("Open appointments per e-mail address or mobile number"),
                2,
                1,
                20,
            ),
            SettingSpec(
                "buergerbuero.max_per_ip_hour",
                _("Reservations per network address and hour"),
                6,
                1,
                1000,
            ),
            SettingSpec(
                "buergerbuero.early_minutes",
                _("Minutes before its time an appointment is called first"),
                10,
                0,
                60,
                minutes,
            ),
            SettingSpec(
                "buergerbuero.late_minutes",
                _("Minutes late after which an appointment queues as a walk-in"),
                15,
                0,
                120,
                minutes,
            ),
            SettingSpec(
                "buergerbuero.max_wait_minutes",
                _("Waiting minutes after which a ticket is called before shorter concerns"),
                45,
                5,
                240,
                minutes,
            ),
            SettingSpec(
                "buergerbuero.checkin_early_minutes",
                _("Minutes before an appointment that check-in opens"),
                60,
                0,
                240,
                minutes,
            ),
            SettingSpec(
                "buergerbuero.online_ticket_minutes",
                _("Minutes before opening that tickets can be drawn online"),
                30,
                0,
                240,
                minutes,
            ),
            SettingSpec(
                "buergerbuero.ticket_stop_minutes",
                _("Minutes before closing that no more tickets are given"),
                15,
                0,
                240,
                minutes,
            ),
            SettingSpec(
                "buergerbuero.soon_minutes",
                _('Text message "you are next soon" this many minutes ahead'),
                10,
                1,
                60,
                minutes,
            ),
        )
