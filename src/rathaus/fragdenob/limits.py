"""Per-municipality settings of Frag den OB (registered from ``FragdenobConfig.ready``).

The two text limits are declared by the platform (``core.municipal_settings.SPECS``);
these are the module's own.
"""

from django.utils.translation import gettext_lazy as _

from rathaus.core.municipal_settings import SettingSpec

QUESTION_MAX = "fragdenob.question_max_chars"
BACKGROUND_MAX = "fragdenob.background_max_chars"
TRUST_LEVEL = "fragdenob.min_trust_level"
SUPPORT_DAYS = "fragdenob.support_days"
PER_ACCOUNT_DAY = "fragdenob.questions_per_account_day"
PER_IP_HOUR = "fragdenob.questions_per_ip_hour"

SPECS = (
    # 1 basic (password), 2 substantial, 3 high (eID); a verified e-mail is always needed.
    SettingSpec(TRUST_LEVEL, _("Trust level needed to ask the mayor"), 1, 1, 3),
    SettingSpec(SUPPORT_DAYS, _("Support phase of a published question"), 14, 1, 90, _("days")),
    SettingSpec(
        PER_ACCOUNT_DAY,
        _("Questions to the mayor per account and day"),
        3,
        1,
        50,
        _("questions"),
    ),
    SettingSpec(
        PER_IP_HOUR,
        _("Questions to the mayor per network address and hour"),
        10,
        1,
        500,
        _("questions"),
    ),
)
