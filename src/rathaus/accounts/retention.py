"""How long account data is kept when nobody uses it any more."""

from rathaus.accounts.models import ConsentRecord, User
from rathaus.privacy import retention

# A registration never confirmed within a week is abandoned (or someone else's address).
retention.register(
    retention.RetentionRule(
        key="accounts.unverified_registration",
        model=User,
        date_field="date_joined",
        default_days=7,
        action="delete",
        only={"email_verified_at__isnull": True, "is_staff": False, "last_login__isnull": True},
    )
)

# A withdrawn consent must be provable for the limitation period (three years, § 195 BGB).
retention.register(
    retention.RetentionRule(
        key="accounts.withdrawn_consent",
        model=ConsentRecord,
        date_field="withdrawn_at",
        default_days=3 * 365,
        action="delete",
        tenant_field="user__municipality",
    )
)
