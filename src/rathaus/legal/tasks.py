"""Background work of the legal pages."""

from django.core.mail import send_mail
from django_tasks import task

from rathaus.legal.models import AccessibilityFeedback, LegalPage


@task()
def feedback_notify(*, feedback_id: int) -> bool:
    """E-mail a reported barrier to the contact named in the accessibility statement."""
    feedback = (
        AccessibilityFeedback.objects.select_related("municipality").filter(pk=feedback_id).first()
    )
    if feedback is None:
        return False
    statement = LegalPage.objects.filter(
        municipality=feedback.municipality, kind=LegalPage.Kind.ACCESSIBILITY
    ).first()
    recipient = (statement.feedback_email if statement else "") or feedback.municipality.email
    if not recipient:
        return False
    body = (
        f"Rückmeldung zur Barrierefreiheit ({feedback.municipality.name})\n\n"
        f"Seite: {feedback.page_url or '-'}\n"
        f"Antwort an: {feedback.email or '-'}\n\n"
        f"{feedback.message}\n"
    )
    send_mail(
        subject=f"Barriere gemeldet #{feedback.pk}",
        message=body,
        from_email=None,
        recipient_list=[recipient],
    )
    return True
