"""How long mailbox messages are kept.

Notices (Bescheide) with their delivery records prove when a decision took effect, which
matters as long as it can be challenged and for the municipality's records: ten years.
Everything else in the mailbox (information, requests, replies) goes after three years:
the mailbox is a channel, not the case file; what a case needs, staff put into its file.
"""

from rathaus.postfach.models import Message
from rathaus.privacy import retention

NOTICE_DAYS = 10 * 365
OTHER_DAYS = 3 * 365

retention.register(
    retention.RetentionRule(
        key="postfach.notices",
        model=Message,
        date_field="created_at",
        default_days=NOTICE_DAYS,
        action="delete",
        only={"kind": Message.Kind.NOTICE},
    )
)
retention.register(
    retention.RetentionRule(
        key="postfach.other_messages",
        model=Message,
        date_field="created_at",
        default_days=OTHER_DAYS,
        action="delete",
        only={"kind__in": [Message.Kind.REQUEST, Message.Kind.INFORMATION, Message.Kind.REPLY]},
    )
)
