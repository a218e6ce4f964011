from django.db.models import QuerySet

from rathaus.core.models import Municipality
from rathaus.legal.models import AccessibilityFeedback, LegalPage


def legal_page_list(*, municipality: Municipality) -> QuerySet[LegalPage]:
    return LegalPage.objects.filter(municipality=municipality).order_by("kind")


def feedback_list(*, municipality: Municipality) -> QuerySet[AccessibilityFeedback]:
    return AccessibilityFeedback.objects.filter(municipality=municipality).order_by("-created_at")
