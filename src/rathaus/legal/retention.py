"""How long reported barriers are kept: answered or not, three years suffice to show
the monitoring body how feedback was handled."""

from rathaus.legal.models import AccessibilityFeedback
from rathaus.privacy import retention

retention.register(
    retention.RetentionRule(
        key="legal.accessibility_feedback",
        model=AccessibilityFeedback,
        date_field="created_at",
        default_days=3 * 365,
        action="delete",
    )
)
