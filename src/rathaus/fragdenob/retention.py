"""How long Frag den OB keeps what it stores.

Published questions and their answers are a public record of the dialogue and stay
(their author is removed with the account, see ``personal_data``). Questions that were
never published (rejected, waiting for a rephrase, merged) are deleted a year after
their last change.
"""

from rathaus.fragdenob.models import Question
from rathaus.privacy import retention

UNPUBLISHED_DAYS = 365

retention.register(
    retention.RetentionRule(
        key="fragdenob.unpublished",
        model=Question,
        date_field="updated_at",
        default_days=UNPUBLISHED_DAYS,
        action="delete",
        only={"status__in": ["rejected", "rephrase", "merged"]},
    )
)
