"""How long applications are kept.

Drafts nobody touched for half a year are abandoned: deleted with their files (unless a
payment was made for them: that is a financial record and stays with the application).
Submitted applications are the case file of an administrative decision: kept ten years
after submission, like the notices in the Postfach, then deleted with their documents and
payments.
"""

from rathaus.applications.models import Application
from rathaus.privacy import retention

DRAFT_DAYS = 180
CASE_DAYS = 10 * 365

retention.register(
    retention.RetentionRule(
        key="applications.drafts",
        model=Application,
        date_field="updated_at",
        default_days=DRAFT_DAYS,
        action="delete",
        only={"status": Application.Status.DRAFT, "payments__isnull": True},
    )
)
retention.register(
    retention.RetentionRule(
        key="applications.cases",
        model=Application,
        date_field="submitted_at",
        default_days=CASE_DAYS,
        action="delete",
        only={"submitted_at__isnull": False},
    )
)
