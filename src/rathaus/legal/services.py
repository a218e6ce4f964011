"""Writes on legal pages and accessibility feedback."""

import datetime

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rathaus.core.errors import RateLimited, ValidationFailed, full_clean_or_fail
from rathaus.core.html import clean_html
from rathaus.core.models import Municipality
from rathaus.legal import defaults, tasks
from rathaus.legal.models import AccessibilityFeedback, LegalPage

FEEDBACK_LIMIT_PER_HOUR = 5


def legal_pages_ensure(*, municipality: Municipality) -> list[LegalPage]:
    """Create the three pages with starting texts where missing; never overwrite edits."""
    pages = []
    with transaction.atomic():
        for kind in LegalPage.Kind.values:
            page = LegalPage.objects.filter(municipality=municipality, kind=kind).first()
            if page is None:
                text = defaults.default_text(kind=kind, municipality=municipality)
                page = LegalPage.objects.create(
                    municipality=municipality,
                    kind=kind,
                    title_de=text.title_de,
                    title_en=text.title_en,
                    body_de=clean_html(text.body_de),
                    body_en=clean_html(text.body_en),
                    **(
                        {
                            "conformance": LegalPage.Conformance.PARTIAL,
                            "prepared_on": timezone.localdate(),
                            "feedback_email": municipality.email,
                            "arbitration_name": defaults.DEFAULT_ARBITRATION_NAME,
                            "arbitration_url": defaults.DEFAULT_ARBITRATION_URL,
                        }
                        if kind == LegalPage.Kind.ACCESSIBILITY
                        else {}
                    ),
                )
            pages.append(page)
    return pages


def legal_page_update(
    *,
    page: LegalPage,
    title_de: str,
    title_en: str,
    body_de: str,
    body_en: str,
    conformance: str = "",
    prepared_on: datetime.date | None = None,
    feedback_email: str = "",
    arbitration_name: str = "",
    arbitration_url: str = "",
) -> LegalPage:
    """Store an edited page; HTML is sanitised, the statement keeps its required parts."""
    page.title_de, page.title_en = title_de.strip(), title_en.strip()
    page.body_de, page.body_en = clean_html(body_de), clean_html(body_en)
    if page.kind == LegalPage.Kind.ACCESSIBILITY:
        errors = {}
        if not conformance:
            errors["conformance"] = [_("The statement must say how far the site conforms.")]
        if not feedback_email:
            errors["feedback_email"] = [_("The statement must name a contact for feedback.")]
        if not arbitration_url:
            errors["arbitration_url"] = [_("The statement must link to the arbitration body.")]
        if errors:
            raise ValidationFailed(fields=errors)
        page.conformance, page.prepared_on = conformance, prepared_on
        page.feedback_email, page.arbitration_name = feedback_email, arbitration_name
        page.arbitration_url = arbitration_url
    if not page.body_de.strip():
        raise ValidationFailed(fields={"body_de": [_("The German text is required.")]})
    full_clean_or_fail(page)
    page.save()
    return page


def feedback_submit(
    *, municipality: Municipality, message: str, email: str, page_url: str, client_key: str
) -> AccessibilityFeedback:
    """Record a reported barrier and tell the municipality's contact in the background.

    ``client_key`` (e.g. the client address) bounds how often one sender can write.
    """
    rate_key = f"legal:feedback:{municipality.pk}:{client_key}"
    cache.add(rate_key, 0, 3600)
    if cache.incr(rate_key) > FEEDBACK_LIMIT_PER_HOUR:
        raise RateLimited()
    with transaction.atomic():
        feedback = AccessibilityFeedback(
            municipality=municipality,
            message=message.strip(),
            email=email.strip(),
            page_url=page_url[:500],
        )
        full_clean_or_fail(feedback)
        feedback.save()
        transaction.on_commit(lambda: tasks.feedback_notify.enqueue(feedback_id=feedback.pk))
    return feedback
