"""How long the assistant's anonymous question statistics are kept.

They hold no person, but a visitor may type a name into a question: a year of statistics
is enough to see seasons and to extend the lexicon, so older days are deleted.
"""

from rathaus.assistant.models import QuestionStat
from rathaus.privacy import retention

STATISTICS_DAYS = 365

retention.register(
    retention.RetentionRule(
        key="assistant.question_statistics",
        model=QuestionStat,
        date_field="created_at",
        default_days=STATISTICS_DAYS,
        action="delete",
    )
)
