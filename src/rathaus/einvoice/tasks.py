"""Background work of the e-invoice inbox: rejection e-mails, deadline reminders,
retention."""

from datetime import timedelta

from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django_tasks import task

from rathaus.core.schedule import periodic


@task()
def rejection_mail_send(*, invoice_id: int) -> bool:
    """Tell the sender of a rejected or invalid invoice why (German and English)."""
    from rathaus.einvoice.models import Invoice
    from rathaus.einvoice.services import rejection_recipient

    invoice = Invoice.objects.select_related("municipality").filter(pk=invoice_id).first()
    if invoice is None:
        return False
    recipient = rejection_recipient(invoice)
    if not recipient:
        return False
    errors = [m for m in (invoice.report or {}).get("messages", []) if m.get("level") == "error"]
    context = {"invoice": invoice, "municipality": invoice.municipality, "errors": errors[:30]}
    with translation.override("de"):
        subject = render_to_string("einvoice/mail/rejection_subject.txt", context).strip()
        body = str(render_to_string("einvoice/mail/rejection_body.txt", context))
    with translation.override("en"):
        body += "\n\n----\n\n" + render_to_string("einvoice/mail/rejection_body.txt", context)
    EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=invoice.municipality.email or None,
        to=[recipient],
    ).send()
    return True


@periodic(every=timedelta(days=1), offset=timedelta(hours=5, minutes=10))
@task()
def reminders_send() -> int:
    """Daily: remind of due dates and cash-discount deadlines."""
    from rathaus.einvoice import services

    return services.reminders_send()


@periodic(every=timedelta(days=1), offset=timedelta(hours=3, minutes=40))
@task()
def retention_purge() -> int:
    """Daily: delete invoices past their retention period."""
    from rathaus.einvoice import services

    return services.retention_purge()
