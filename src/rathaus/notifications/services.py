"""Telling a person that something happened: by e-mail, text message or in their account.

Modules call ``notify``. It renders the texts in the recipient's language, applies the
person's preferences, stores one row per channel and queues delivery after commit.
Calling it again for the same event and key sends nothing new, so modules can call it
from retried work without double messages.
"""

import json
import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from rathaus.audit.services import audit_record
from rathaus.core.models import Municipality
from rathaus.core.schedule import EPOCH
from rathaus.notifications import tasks
from rathaus.notifications.channels import (
    DeliveryError,
    TransientDeliveryError,
    email_send,
    sms_available,
    sms_send,
)
from rathaus.notifications.models import (
    Channel,
    DigestFrequency,
    Notification,
    NotificationPreference,
    SmsTestMessage,
    Status,
)
from rathaus.notifications.rendering import (
    TEMPLATE_NAME,
    NotificationTemplateError,
    notification_render,
)
from rathaus.notifications.selectors import notification_preference_get

if TYPE_CHECKING:
    from rathaus.accounts.models import User

logger = logging.getLogger(__name__)

EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
KEY_MAX_CHARS = 200
# Delivery: at most five attempts; the waits between them grow, bridging an outage of the
# mail server or SMS provider of about 2.5 hours without hammering it meanwhile.
MAX_ATTEMPTS = 5
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
# Work that should have happened this long ago is queued again (see notifications_requeue).
STALE_AFTER = timedelta(hours=1)
DIGEST_EVENT = "notifications.digest"
DIGEST_TEMPLATE = "digest"
# (every, offset from 2000-01-01 00:00 UTC): the periodic tasks' own schedule.
DIGEST_SCHEDULE = {
    DigestFrequency.DAILY: (tasks.DAILY_EVERY, tasks.DAILY_OFFSET),
    DigestFrequency.WEEKLY: (tasks.WEEKLY_EVERY, tasks.WEEKLY_OFFSET),
}
DEFAULT_RETENTION_DAYS = 365
SMS_TEST_RETENTION = timedelta(days=30)


# Creating notifications.


def _language_of(recipient: "User") -> str:
    language = getattr(recipient, "language", "") or ""
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _json_safe(context: dict[str, Any]) -> dict[str, Any]:
    try:
        result: dict[str, Any] = json.loads(json.dumps(context, cls=DjangoJSONEncoder))
    except TypeError as error:
        raise ValueError(f"notification context must be JSON data: {error}") from error
    return result


def _check_url(url: str) -> None:
    # Set by code, not by people; still, only our own pages or web addresses.
    if url and not (
        (url.startswith("/") and not url.startswith("//")) or url.startswith("https://")
    ):
        raise ValueError(f"notification url must be a path or an https address: {url!r}")


def _address(recipient: "User", channel: str) -> str:
    if channel == Channel.EMAIL:
        return str(getattr(recipient, "email", "") or "")
    if channel == Channel.SMS:
        return str(getattr(recipient, "phone", "") or "")
    return ""


def _decide(
    *,
    recipient: "User",
    channel: str,
    address: str,
    preference: NotificationPreference,
    mandatory: bool,
    digestible: bool,
) -> tuple[str, str]:
    """The status a new row starts in, and why."""
    if not getattr(recipient, "is_active", True):
        return Status.SKIPPED, "account inactive"
    if channel == Channel.INAPP:
        return Status.SENT, ""
    if channel == Channel.SMS and not sms_available():
        return Status.SKIPPED, "text messages are not set up"
    if not address:
        return Status.SKIPPED, (
            "no e-mail address" if channel == Channel.EMAIL else "no mobile number"
        )
    if not mandatory:
        if channel == Channel.EMAIL and not preference.email_enabled:
            return Status.SKIPPED, "e-mail turned off by the recipient"
        if channel == Channel.SMS and not preference.sms_enabled:
            return Status.SKIPPED, "text messages turned off by the recipient"
        if (
            channel == Channel.EMAIL
            and digestible
            and preference.digest_frequency != DigestFrequency.IMMEDIATE
        ):
            return Status.DIGEST, ""
    return Status.PENDING, ""


def _enqueue_delivery(notification_id: int, run_after: datetime | None = None) -> None:
    task = tasks.notification_deliver
    if run_after is not None:
        task = task.using(run_after=run_after)
    task.enqueue(notification_id=notification_id)


def notify(
    *,
    recipient: "User",
    event: str,
    key: str,
    template: str,
    context: dict[str, Any] | None = None,
    channels: Sequence[str] = (Channel.EMAIL, Channel.INAPP),
    mandatory: bool = False,
    digestible: bool = False,
    url: str = "",
) -> list[Notification]:
    """Tell ``recipient`` about ``event`` on ``channels``; one row per channel, in that order.

    ``event`` is a dotted name (``accounts.verify_email``); ``key`` identifies this
    occurrence (an id, a date): a second call with the same recipient, event, key and
    channel returns the existing row and sends nothing. ``template`` names the folder
    ``notifications/<template>/`` (see ``rendering``); ``context`` (JSON data) is passed
    to it together with ``recipient`` and ``municipality``, and kept on the row.

    Preferences are respected unless ``mandatory`` (security messages such as a password
    reset). ``digestible`` e-mails wait for the person's daily or weekly digest if they
    chose one; mandatory ones never do. ``url`` is a page the message refers to (a path,
    or an https address), linked from the in-app list and digests.

    Rows start as ``pending`` (delivery is queued after commit), ``sent`` (in-app),
    ``digest``, ``skipped`` (no address, turned off, inactive account) or ``failed``
    (a text message too long for one SMS; logged). A missing template raises
    ``TemplateDoesNotExist``.
    """
    if getattr(recipient, "pk", None) is None:
        raise ValueError("the recipient must be a saved user")
    if not EVENT_NAME.match(event):
        raise ValueError(f"event must be a dotted lower-case name: {event!r}")
    if not key or len(key) > KEY_MAX_CHARS:
        raise ValueError(f"key must have 1 to {KEY_MAX_CHARS} characters")
    if not TEMPLATE_NAME.match(template):
        raise ValueError(
            f"template must be a folder name like 'accounts_verify_email': {template!r}"
        )
    wanted = list(dict.fromkeys(channels))
    unknown = set(wanted) - set(Channel.values)
    if unknown or not wanted:
        raise ValueError(f"unknown channels: {sorted(unknown)}")
    _check_url(url)
    context = dict(context or {})
    stored_context = _json_safe(context)

    existing = {
        row.channel: row
        for row in Notification.objects.filter(
            recipient_id=recipient.pk, event=event, key=key, channel__in=wanted
        )
    }
    missing = [channel for channel in wanted if channel not in existing]
    if not missing:
        return [existing[channel] for channel in wanted]

    language = _language_of(recipient)
    preference = notification_preference_get(user=recipient)
    render_context = {
        **context,
        "recipient": recipient,
        "municipality": SimpleLazyObject(lambda: getattr(recipient, "municipality", None)),
    }
    rows = dict(existing)
    with transaction.atomic():
        for channel in missing:
            address = _address(recipient, channel)
            status, detail = _decide(
                recipient=recipient,
                channel=channel,
                address=address,
                preference=preference,
                mandatory=mandatory,
                digestible=digestible,
            )
            try:
                text = notification_render(
                    template=template, channel=channel, context=render_context, language=language
                )
                subject, body, body_html = text.subject, text.body, text.body_html
            except NotificationTemplateError as error:
                # Depends on the data (a long name); the module's other channels still go out.
                logger.error(
                    "notification not rendered", extra={"event": event, "error": str(error)}
                )
                subject, body, body_html = "", "", ""
                status, detail = Status.FAILED, str(error)[:500]
            now = timezone.now()
            row = Notification(
                municipality_id=getattr(recipient, "municipality_id", None),
                recipient_id=recipient.pk,
                event=event,
                key=key,
                channel=channel,
                template=template,
                context=stored_context,
                language=language,
                address=address,
                subject=subject,
                body=body,
                body_html=body_html,
                url=url,
                mandatory=mandatory,
                digestible=digestible,
                status=status,
                detail=detail,
                sent_at=now if status == Status.SENT else None,
                next_attempt_at=now if status == Status.PENDING else None,
            )
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
            except IntegrityError:
                # The same event was notified concurrently; that call's row stands.
                rows[channel] = Notification.objects.get(
                    recipient_id=recipient.pk, event=event, key=key, channel=channel
                )
                continue
            if status == Status.PENDING:
                # robust: a queue that is down must not undo the caller's committed work;
                # notifications_requeue picks the row up later.
                transaction.on_commit(partial(_enqueue_delivery, row.pk), robust=True)
            rows[channel] = row
    return [rows[channel] for channel in wanted]


# Delivery.


def notification_send(*, notification_id: int) -> str:
    """Make one delivery attempt for a pending e-mail or text message.

    The row is claimed with a conditional update (pending and due → sending), so a
    duplicate task run does nothing. A transient failure is retried with growing delays
    up to ``MAX_ATTEMPTS``; a permanent one fails the row at once. Returns what happened:
    ``sent``, ``retry``, ``failed`` or ``not_due``.
    """
    now = timezone.now()
    claimed = (
        Notification.objects.filter(
            pk=notification_id,
            status=Status.PENDING,
            channel__in=[Channel.EMAIL, Channel.SMS],
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=Status.SENDING, attempts=F("attempts") + 1, updated_at=now)
    )
    if not claimed:
        return "not_due"  # gone, already handled, or a duplicate run
    notification = Notification.objects.get(pk=notification_id)
    try:
        if notification.channel == Channel.EMAIL:
            provider_id = email_send(
                to=notification.address,
                subject=notification.subject,
                body=notification.body,
                body_html=notification.body_html,
            )
        else:
            provider_id = sms_send(to=notification.address, text=notification.body)
    except DeliveryError as error:
        return _delivery_failed(notification, error, now=now)
    except Exception as error:
        # A bug or an unexpected library error: keep the trace, retry like a transient error.
        logger.exception("notification delivery crashed", extra={"notification": notification.pk})
        return _delivery_failed(
            notification, TransientDeliveryError(f"unexpected {type(error).__name__}"), now=now
        )
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.SENT,
        sent_at=timezone.now(),
        provider_id=provider_id[:200],
        detail="",
        next_attempt_at=None,
        updated_at=timezone.now(),
    )
    return "sent"


def _delivery_failed(notification: Notification, error: DeliveryError, *, now: datetime) -> str:
    detail = str(error)[:500]
    extra = {
        "notification": notification.pk,
        "event": notification.event,
        "channel": notification.channel,
        "attempt": notification.attempts,
        "error": detail,
    }
    if error.transient and notification.attempts < MAX_ATTEMPTS:
        retry_at = now + RETRY_DELAYS[min(notification.attempts, len(RETRY_DELAYS)) - 1]
        with transaction.atomic():
            Notification.objects.filter(pk=notification.pk).update(
                status=Status.PENDING, detail=detail, next_attempt_at=retry_at, updated_at=now
            )
            transaction.on_commit(
                partial(_enqueue_delivery, notification.pk, retry_at), robust=True
            )
        logger.warning("notification delivery will be retried", extra=extra)
        return "retry"
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.FAILED, detail=detail, next_attempt_at=None, updated_at=now
    )
    logger.error("notification delivery failed", extra=extra)
    return "failed"


def notifications_requeue(*, now: datetime | None = None) -> int:
    """Queue deliveries again whose task was lost (the queue was down, a worker died).

    Pending rows overdue by ``STALE_AFTER`` are queued again (the claim makes an extra
    task harmless). Rows stuck in ``sending`` that long were interrupted mid-send; they
    are sent again, since a rare duplicate beats a person never being told.
    """
    now = now or timezone.now()
    cutoff = now - STALE_AFTER
    outgoing = [Channel.EMAIL, Channel.SMS]
    with transaction.atomic():
        Notification.objects.filter(
            status=Status.SENDING, channel__in=outgoing, updated_at__lte=cutoff
        ).update(
            status=Status.PENDING,
            detail="interrupted while sending",
            next_attempt_at=cutoff,
            updated_at=now,
        )
        overdue = list(
            Notification.objects.filter(
                status=Status.PENDING, channel__in=outgoing, next_attempt_at__lte=cutoff
            ).values_list("pk", flat=True)
        )
        # Moved forward, so a lost task is queued again once per STALE_AFTER, not every run.
        Notification.objects.filter(pk__in=overdue).update(next_attempt_at=now, updated_at=now)
        for pk in overdue:
            transaction.on_commit(partial(_enqueue_delivery, pk), robust=True)
    return len(overdue)


# Reading and preferences.


def notification_mark_read(*, notification: Notification, user: "User") -> Notification:
    """Mark one of ``user``'s in-app messages as read (once; later calls keep the time)."""
    if notification.recipient_id != user.pk or notification.channel != Channel.INAPP:
        raise ValueError("only the recipient can mark an in-app message as read")
    now = timezone.now()
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=now, updated_at=now
    )
    notification.refresh_from_db(fields=["read_at", "updated_at"])
    return notification


def notifications_mark_all_read(*, user: "User") -> int:
    """Mark all of ``user``'s in-app messages as read; returns how many were unread."""
    now = timezone.now()
    return Notification.objects.filter(
        recipient_id=user.pk, channel=Channel.INAPP, read_at__isnull=True
    ).update(read_at=now, updated_at=now)


def notification_preference_update(
    *,
    user: "User",
    email_enabled: bool,
    sms_enabled: bool,
    digest_frequency: str,
    ip: str | None = None,
) -> NotificationPreference:
    """Store how ``user`` wants to be told; a change is written to the audit trail."""
    if digest_frequency not in DigestFrequency.values:
        raise ValueError(f"unknown digest frequency {digest_frequency!r}")
    with transaction.atomic():
        preference, _ = NotificationPreference.objects.select_for_update().get_or_create(
            user_id=user.pk
        )
        before = (preference.email_enabled, preference.sms_enabled, preference.digest_frequency)
        after = (email_enabled, sms_enabled, digest_frequency)
        if before != after:
            preference.email_enabled = email_enabled
            preference.sms_enabled = sms_enabled
            preference.digest_frequency = digest_frequency
            preference.save()
            municipality_id = getattr(user, "municipality_id", None)
            audit_record(
                municipality=(
                    Municipality.objects.filter(pk=municipality_id).first()
                    if municipality_id is not None
                    else None
                ),
                action="notifications.preferences.changed",
                actor=user,
                target=preference,
                data={
                    "email_enabled": email_enabled,
                    "sms_enabled": sms_enabled,
                    "digest_frequency": digest_frequency,
                },
                ip=ip,
            )
    return preference


# Digests.


def digest_period_start(*, frequency: str, now: datetime) -> datetime:
    """Start of the digest period ``now`` falls in (the time that period's digest runs)."""
    every, offset = DIGEST_SCHEDULE[DigestFrequency(frequency)]
    return EPOCH + offset + ((now - EPOCH - offset) // every) * every


def notification_digests_send(*, frequency: str, now: datetime | None = None) -> int:
    """Collect waiting digest e-mails into one e-mail per person; returns how many.

    ``daily`` collects for everyone who did not choose ``weekly`` (so messages left
    waiting after someone switched back to "at once" still go out), ``weekly`` for
    those who chose it. Each person gets at most one digest per period (its key is the
    period's start): running again in the same period sends nothing twice, and what
    arrived meanwhile waits for the next period. The collected rows become ``sent`` and
    point to the digest, whose own row carries the delivery status.
    """
    if frequency not in DIGEST_SCHEDULE:
        raise ValueError(f"digests are daily or weekly, not {frequency!r}")
    frequency = DigestFrequency(frequency).value
    now = now or timezone.now()
    period = digest_period_start(frequency=frequency, now=now)
    key = f"{frequency}:{period:%Y-%m-%dT%H:%MZ}"
    weekly = NotificationPreference.objects.filter(digest_frequency=DigestFrequency.WEEKLY).values(
        "user_id"
    )
    waiting = Notification.objects.filter(
        status=Status.DIGEST, channel=Channel.EMAIL, created_at__lte=now
    )
    if frequency == DigestFrequency.WEEKLY:
        waiting = waiting.filter(recipient_id__in=weekly)
    else:
        waiting = waiting.exclude(recipient_id__in=weekly)
    recipient_ids = set(waiting.values_list("recipient_id", flat=True))
    sent = 0
    for recipient in get_user_model().objects.filter(pk__in=recipient_ids).order_by("pk"):
        already = Notification.objects.filter(
            recipient_id=recipient.pk, event=DIGEST_EVENT, key=key, channel=Channel.EMAIL
        ).exists()
        if already:
            continue
        with transaction.atomic():
            items = list(
                waiting.filter(recipient_id=recipient.pk)
                .select_for_update()
                .order_by("created_at", "pk")
            )
            if not items:
                continue
            [digest] = notify(
                recipient=recipient,
                event=DIGEST_EVENT,
                key=key,
                template=DIGEST_TEMPLATE,
                context={
                    "frequency": frequency,
                    "count": len(items),
                    "items": [
                        {
                            "subject": item.subject,
                            "created_at": item.created_at,
                            "url": item.url if item.url.startswith("https://") else "",
                        }
                        for item in items
                    ],
                },
                channels=[Channel.EMAIL],
            )
            collected = Notification.objects.filter(pk__in=[item.pk for item in items])
            if digest.status == Status.SKIPPED:
                collected.update(status=Status.SKIPPED, detail=digest.detail, updated_at=now)
                continue
            collected.update(
                status=Status.SENT, sent_at=now, digest=digest, detail="", updated_at=now
            )
            sent += 1
    return sent


# Housekeeping.


def notifications_prune(*, now: datetime | None = None) -> int:
    """Forget finished notifications after the retention period; returns how many.

    ``RATHAUS_NOTIFICATION_RETENTION_DAYS`` (default 365) bounds how long texts with
    personal data are kept. The SMS test outbox is kept 30 days.
    """
    now = now or timezone.now()
    days = int(getattr(settings, "RATHAUS_NOTIFICATION_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))
    deleted, _ = Notification.objects.filter(
        created_at__lt=now - timedelta(days=days),
        status__in=[Status.SENT, Status.FAILED, Status.SKIPPED],
    ).delete()
    SmsTestMessage.objects.filter(created_at__lt=now - SMS_TEST_RETENTION).delete()
    return deleted
