"""Per-municipality settings: deadlines and limits with defaults from the domain guide.

A municipality stores only what it changed (``Municipality.settings``); everything
else is the default here. Values are validated against their spec on write.
"""

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rathaus.core.errors import ValidationFailed
from rathaus.core.models import Municipality


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str | Promise
    default: int
    minimum: int
    maximum: int
    unit: str | Promise = ""


SPECS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in [
        # Accounts and sessions.
        SettingSpec(
            "accounts.session_idle_minutes",
            _("Sign out after inactivity"),
            30,
            5,
            480,
            _("minutes"),
        ),
        # Workflow: escalation of overdue tasks to the unit's lead.
        SettingSpec(
            "workflow.escalation_grace_days",
            _("Days an overdue task waits before its lead is told"),
            2,
            1,
            30,
            _("days"),
        ),
        # Postfach: a notice counts as not delivered if unread this long (§ 41 (2a) VwVfG).
        SettingSpec(
            "postfach.retrieval_days",
            _("Days to retrieve a notice from the mailbox"),
            10,
            10,
            10,
            _("days"),
        ),
        # Bürgerbüro.
        SettingSpec(
            "buergerbuero.booking_window_days",
            _("How far ahead appointments can be booked"),
            14,
            1,
            120,
            _("days"),
        ),
        SettingSpec(
            "buergerbuero.appointment_share_percent",
            _("Share of capacity for appointments"),
            40,
            0,
            100,
            "%",
        ),
        # ID document pickup terminal.
        SettingSpec(
            "idpickup.storage_days", _("Days a document waits in the locker"), 7, 1, 30, _("days")
        ),
        # Frag den OB.
        SettingSpec(
            "fragdenob.question_max_chars",
            _("Maximum length of a question"),
            200,
            50,
            1000,
            _("characters"),
        ),
        SettingSpec(
            "fragdenob.background_max_chars",
            _("Maximum length of the background"),
            1000,
            0,
            5000,
            _("characters"),
        ),
        # E-Rechnung.
        SettingSpec("einvoice.upload_max_mb", _("Largest invoice upload"), 15, 1, 50, "MB"),
        SettingSpec("einvoice.email_max_mb", _("Largest invoice e-mail"), 10, 1, 50, "MB"),
        SettingSpec(
            "einvoice.retention_years", _("Years invoices are kept"), 10, 8, 30, _("years")
        ),
    ]
}


def register(*specs: SettingSpec) -> None:
    """Add an app's own settings; call it from the app's ``AppConfig.ready``.

    A key is ``<app label>.<name>``; registering a key twice with another spec is a
    programming error and fails loudly at start-up.
    """
    for spec in specs:
        known = SPECS.get(spec.key)
        if known is not None and known != spec:
            raise ValueError(f"municipal setting {spec.key!r} is already registered")
        SPECS[spec.key] = spec


def _retention_spec(key: str) -> SettingSpec | None:
    # Retention periods are declared by the apps (rathaus.privacy.retention); any rule's
    # period may be overridden per municipality, from a day to a hundred years.
    if key.startswith("retention.") and key.endswith(".days") and key.count(".") >= 2:
        return SettingSpec(key, key, 0, 1, 36500, _("days"))
    return None


def municipal_setting(municipality: Municipality, key: str) -> int:
    """The value in force at ``municipality``."""
    spec = SPECS[key]
    value = (municipality.settings or {}).get(key)
    return (
        value if isinstance(value, int) and spec.minimum <= value <= spec.maximum else spec.default
    )


def municipal_settings_validate(values: dict[str, Any]) -> dict[str, int]:
    """Check changed values against their specs; raise ValidationFailed naming each field."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, int] = {}
    for key, value in values.items():
        spec = SPECS.get(key) or _retention_spec(key)
        if spec is None:
            errors[key] = [str(_("Unknown setting."))]
            continue
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not spec.minimum <= value <= spec.maximum
        ):
            errors[key] = [
                str(
                    _("A whole number from %(min)d to %(max)d.")
                    % {"min": spec.minimum, "max": spec.maximum}
                )
            ]
            continue
        clean[key] = value
    if errors:
        raise ValidationFailed(fields=errors)
    return clean
