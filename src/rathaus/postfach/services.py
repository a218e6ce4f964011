"""Writes of the mailbox: sending, opening, replying, the delivery check, follow-ups.

The legal rules of § 41 (2a) VwVfG live here (ADR 0013): a notice goes to the mailbox
only with the citizen's consent; an e-mail without content announces it; its first
retrieval is recorded and it counts as delivered on the next calendar day (Europe/Berlin);
unretrieved after ``postfach.retrieval_days`` days of the announcement it is not
delivered, and staff of the sending unit get a follow-up to deliver it another way.
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rathaus.accounts.models import User
from rathaus.accounts.trust import TrustLevel
from rathaus.audit.services import audit_personal_data_read, audit_record
from rathaus.core.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from rathaus.core.html import clean_html
from rathaus.core.models import Municipality
from rathaus.core.municipal_settings import SPECS, municipal_setting
from rathaus.core.tenancy import municipality_site_url
from rathaus.notifications.models import Status as NotificationStatus
from rathaus.notifications.services import notify
from rathaus.oidc.trust import trust_require
from rathaus.organisation.models import OrgUnit
from rathaus.organisation.permissions import user_can
from rathaus.postfach import selectors
from rathaus.postfach.files import CheckedFile, check_files
from rathaus.postfach.models import (
    SEND_PERMISSION,
    Attachment,
    Delivery,
    DeliveryFollowUp,
    Message,
)

logger = logging.getLogger(__name__)

BERLIN = ZoneInfo("Europe/Berlin")
SUBJECT_MAX_CHARS = 200
BODY_MAX_CHARS = 50_000
REPLY_MAX_CHARS = 10_000
NOTE_MAX_CHARS = 2_000
REFERENCE_MAX_CHARS = 100
# Calendar days staff have to deliver a failed notice another way.
FOLLOW_UP_DAYS = 3
RETRIEVAL_DAYS = "postfach.retrieval_days"
ANNOUNCEMENT_EVENT = "postfach.new_message"
ANNOUNCEMENT_TEMPLATE = "postfach_new_message"
OUTBOUND_KINDS = (Message.Kind.NOTICE, Message.Kind.REQUEST, Message.Kind.INFORMATION)
# Line breaks and tabs are text; other control characters are noise or an attack.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class NoConsent(ApplicationError):
    """The citizen has not agreed to receive notices in the mailbox: send it by post."""

    status = 409
    default_code = "no_consent"
    default_message = _(
        "This citizen has not agreed to receive notices digitally. Send the notice by post instead."
    )


# --- Small helpers -------------------------------------------------------------------


def berlin_date(moment: datetime) -> date:
    """The calendar day in Germany at ``moment``."""
    return moment.astimezone(BERLIN).date()


def retrieval_deadline(*, announced_at: datetime, days: int) -> date:
    """The last calendar day (Europe/Berlin) on which a notice announced at
    ``announced_at`` can be retrieved: the announcement day does not count (§ 31 (1)
    VwVfG with § 187 (1) BGB), the period ends with the end of its last day."""
    return berlin_date(announced_at) + timedelta(days=days)


def site_url_of(municipality: Municipality) -> str:
    """The public address of the municipality's portal (see ``municipality_site_url``)."""
    return municipality_site_url(municipality)


def _clean_text(value: str) -> str:
    return _CONTROL.sub("", value.replace("\r\n", "\n")).strip()


def _business_object_ref(
    municipality: Municipality, business_object: models.Model | None
) -> tuple[ContentType | None, str]:
    if business_object is None:
        return None, ""
    owner = getattr(business_object, "municipality_id", municipality.pk)
    if owner != municipality.pk or business_object.pk is None:
        raise ValidationFailed(_("The business object belongs to another municipality."))
    return ContentType.objects.get_for_model(business_object), str(business_object.pk)


def _store_attachments(
    message: Message, files: Sequence[CheckedFile], saved: list[str]
) -> list[Attachment]:
    """Store the files and their rows; ``saved`` collects the storage names, so a
    transaction that fails later can remove them again (``_discard``)."""
    stored = []
    for checked in files:
        attachment = Attachment(
            municipality_id=message.municipality_id,
            message=message,
            original_name=checked.name,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
        )
        # The storage name is random (models.attachment_path); the name given is ignored.
        attachment.file.save("upload", checked.upload, save=False)
        saved.append(attachment.file.name)
        attachment.save()
        stored.append(attachment)
    return stored


def _discard(saved: list[str]) -> None:
    """Remove the files of a message whose transaction did not commit."""
    storage = Attachment._meta.get_field("file").storage
    for name in saved:
        try:
            storage.delete(name)
        except Exception:
            logger.exception("attachment file could not be removed", extra={"file": name})


# --- Sending ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Draft:
    subject: str
    body: str
    reference: str
    files: list[CheckedFile]


def _draft_validate(
    *,
    kind: str,
    subject: str,
    body: str,
    html: bool,
    reference: str,
    min_trust_level: int,
    attachments: Sequence[UploadedFile],
) -> _Draft:
    errors: dict[str, list[Any]] = {}
    if kind not in OUTBOUND_KINDS:
        errors["kind"] = [_("Choose what kind of message this is.")]
    if min_trust_level not in (TrustLevel.BASIC, TrustLevel.SUBSTANTIAL, TrustLevel.HIGH):
        errors["min_trust_level"] = [_("Choose a trust level.")]
    subject = " ".join(_clean_text(subject).split())
    if not subject:
        errors["subject"] = [_("The subject is required.")]
    elif len(subject) > SUBJECT_MAX_CHARS:
        errors["subject"] = [_("The subject may have at most 200 characters.")]
    body = clean_html(body).strip() if html else _clean_text(body)
    if not body:
        errors["body"] = [_("The text is required.")]
    elif len(body) > BODY_MAX_CHARS:
        errors["body"] = [_("The text may have at most 50,000 characters.")]
    reference = " ".join(_clean_text(reference).split())
    if len(reference) > REFERENCE_MAX_CHARS:
        errors["reference"] = [_("The reference may have at most 100 characters.")]
    files, file_errors = check_files(attachments)
    if file_errors:
        errors["attachments"] = file_errors
    if errors:
        raise ValidationFailed(fields=errors)
    return _Draft(subject=subject, body=body, reference=reference, files=files)


def message_send(
    *,
    sender: User | None,
    sender_unit: OrgUnit,
    recipient: User,
    kind: str,
    subject: str,
    body: str,
    attachments: Sequence[UploadedFile] = (),
    min_trust_level: int = TrustLevel.BASIC,
    reference: str = "",
    business_object: models.Model | None = None,
    parent: Message | None = None,
    html: bool = False,
    site_url: str = "",
    ip: str | None = None,
    now: datetime | None = None,
) -> Message:
    """Put a message from ``sender_unit`` into ``recipient``'s mailbox and announce it.

    ``sender`` is the staff member acting; they need ``postfach.send_message`` in
    ``sender_unit`` (else ``PermissionDenied``). ``sender=None`` is for processes acting
    on the unit's behalf (their caller answers for the right). ``kind`` is one of
    ``Message.Kind`` except ``reply``; a notice (``Kind.NOTICE``) is delivered formally
    under § 41 (2a) VwVfG and needs the recipient's active consent to digital delivery:
    without it ``NoConsent`` (code ``no_consent``) is raised and the refusal audited, so
    the caller sends the notice by post. ``body`` is plain text, or HTML with
    ``html=True`` (sanitised). ``attachments``: PDF, PNG, JPEG, plain text (see
    ``files``); refused files raise ``ValidationFailed`` with a reason per file.
    ``parent`` continues a conversation of the same citizen. ``site_url``
    (``https://host``) is the base of the link in the announcement e-mail; without it
    the municipality's address is used.

    Writes the message, its files and its delivery record, audits
    ``postfach.message.sent`` and ``postfach.message.announced``, and queues the
    announcement e-mail (no content of the message, only a link) after commit.
    """
    now = now or timezone.now()
    municipality = sender_unit.municipality
    if sender is not None and not user_can(
        user=sender, permission=SEND_PERMISSION, org_unit=sender_unit
    ):
        raise PermissionDenied(_("You may not send messages for this unit."))
    if (
        recipient.municipality_id != municipality.pk
        or not recipient.is_active
        or recipient.is_staff
        or recipient.deleted_at is not None
    ):
        raise ValidationFailed(
            fields={"recipient": [_("There is no citizen account with this address.")]}
        )
    if recipient.email_verified_at is None and recipient.last_login is None:
        # Never confirmed, never used: no proven way to announce anything, and the account
        # is removed by the accounts retention rule for abandoned registrations.
        raise ValidationFailed(
            fields={"recipient": [_("This citizen has not confirmed the account yet.")]}
        )
    if parent is not None and (
        parent.citizen_id != recipient.pk or parent.municipality_id != municipality.pk
    ):
        raise ValidationFailed(_("The message answered belongs to another citizen."))
    draft = _draft_validate(
        kind=kind,
        subject=subject,
        body=body,
        html=html,
        reference=reference,
        min_trust_level=int(min_trust_level),
        attachments=attachments,
    )
    object_type, object_id = _business_object_ref(municipality, business_object)
    formal = kind == Message.Kind.NOTICE
    consent = selectors.postfach_consent_active(user=recipient)
    if formal and consent is None:
        # Recorded outside the (not yet started) transaction: the refusal is a fact
        # worth keeping even though nothing is sent.
        audit_record(
            municipality=municipality,
            action="postfach.notice.refused",
            actor=sender,
            target=recipient,
            data={
                "reason": "no_consent",
                "org_unit": sender_unit.pk,
                "reference": draft.reference,
            },
            ip=ip,
        )
        raise NoConsent()
    saved: list[str] = []
    try:
        with transaction.atomic():
            message = Message.objects.create(
                municipality=municipality,
                citizen=recipient,
                org_unit=sender_unit,
                staff_sender=sender,
                direction=Message.Direction.OUTBOUND,
                kind=kind,
                subject=draft.subject,
                body=draft.body,
                body_is_html=html,
                min_trust_level=int(min_trust_level),
                reference=draft.reference,
                business_object_type=object_type,
                business_object_id=object_id,
                thread=(parent.thread or parent) if parent is not None else None,
                parent=parent,
            )
            stored = _store_attachments(message, draft.files, saved)
            delivery = Delivery.objects.create(
                municipality=municipality,
                message=message,
                is_formal=formal,
                consent_recorded=consent is not None,
                consent_record_id=consent.pk if consent else None,
                consent_text_version=consent.text_version if consent else "",
                consent_granted_at=consent.granted_at if consent else None,
                sent_at=now,
                status=Delivery.Status.ANNOUNCED,
            )
            audit_record(
                municipality=municipality,
                action="postfach.message.sent",
                actor=sender,
                target=message,
                data={
                    "kind": kind,
                    "citizen": recipient.pk,
                    "org_unit": sender_unit.pk,
                    "reference": draft.reference,
                    "min_trust_level": int(min_trust_level),
                    "attachments": [a.sha256 for a in stored],
                    "formal": formal,
                    "consent_record": consent.pk if consent else None,
                },
                ip=ip,
            )
            _announce(message=message, delivery=delivery, site_url=site_url, now=now)
    except BaseException:
        _discard(saved)
        raise
    return message


def _announce(*, message: Message, delivery: Delivery, site_url: str, now: datetime) -> None:
    """Queue the e-mail that says a message is waiting; it carries no content, only a link.

    A notice's announcement is mandatory (the citizen's consent covers it); other messages
    follow the person's e-mail preference.
    """
    base = (site_url or site_url_of(message.municipality)).rstrip("/")
    link = base + reverse("postfach:message", args=[message.pk])
    [notification] = notify(
        recipient=message.citizen,
        event=ANNOUNCEMENT_EVENT,
        key=f"message-{message.pk}",
        template=ANNOUNCEMENT_TEMPLATE,
        context={"link": link},
        channels=("email",),
        mandatory=delivery.is_formal,
        url=reverse("postfach:message", args=[message.pk]),
    )
    delivery.announcement = notification
    announced = notification.status not in (NotificationStatus.SKIPPED, NotificationStatus.FAILED)
    if announced:
        delivery.announced_at = now
    delivery.save(update_fields=["announcement", "announced_at", "updated_at"])
    audit_record(
        municipality=message.municipality,
        action="postfach.message.announced" if announced else "postfach.message.not_announced",
        target=message,
        data={"notification": notification.pk, "channel": "email", "detail": notification.detail},
    )


# --- Opening and replying (the citizen) -------------------------------------------------


def _owned_by(message: Message, user: Any) -> bool:
    return (
        getattr(user, "is_authenticated", False)
        and message.citizen_id == user.pk
        and message.municipality_id == getattr(user, "municipality_id", None)
    )


def message_open(
    *,
    message: Message,
    user: User,
    trust_level: TrustLevel,
    ip: str | None = None,
    now: datetime | None = None,
) -> Message:
    """The citizen opens an outbound message of their mailbox.

    Anyone but the recipient gets ``NotFound`` and nothing is recorded. A session below
    the message's minimum trust level gets ``oidc.trust.TrustLevelTooLow`` (views send
    the person to the step-up page). The first opening is the retrieval: recorded once,
    with ``deemed_delivered_on`` = the next calendar day in Europe/Berlin for a notice
    whose delivery has not failed, and audited as ``postfach.message.retrieved``.
    """
    if not _owned_by(message, user) or not message.is_outbound:
        raise NotFound()
    trust_require(
        request_level=TrustLevel(trust_level), required=TrustLevel(message.min_trust_level)
    )
    if message.read_at is not None:
        return message
    now = now or timezone.now()
    with transaction.atomic():
        # Lock order message, then delivery: the same as the delivery check's.
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.read_at is not None:
            return locked  # opened in a parallel request a moment ago
        locked.read_at = now
        locked.save(update_fields=["read_at", "updated_at"])
        delivery = Delivery.objects.select_for_update().filter(message=locked).first()
        data: dict[str, Any] = {"trust_level": int(trust_level)}
        if delivery is not None and delivery.retrieved_at is None:
            if delivery.is_formal and delivery.failed_at is None:
                days = municipal_setting(locked.municipality, RETRIEVAL_DAYS)
                if delivery.announced_at is not None and berlin_date(now) > retrieval_deadline(
                    announced_at=delivery.announced_at, days=days
                ):
                    # Opened after the period, before the nightly check noticed: the
                    # provision has already ended, so this opening cannot deliver.
                    _fail_locked(
                        delivery,
                        locked,
                        reason=Delivery.FailureReason.NOT_RETRIEVED,
                        now=now,
                        days=days,
                    )
            delivery.retrieved_at = now
            if delivery.failed_at is None:
                delivery.status = Delivery.Status.RETRIEVED
                if delivery.is_formal:
                    delivery.deemed_delivered_on = berlin_date(now) + timedelta(days=1)
            delivery.save(
                update_fields=["retrieved_at", "status", "deemed_delivered_on", "updated_at"]
            )
            data.update(
                formal=delivery.is_formal,
                deemed_delivered_on=(
                    delivery.deemed_delivered_on.isoformat()
                    if delivery.deemed_delivered_on
                    else None
                ),
                after_failure=delivery.failed_at is not None,
            )
        audit_record(
            municipality=locked.municipality,
            action="postfach.message.retrieved",
            actor=user,
            target=locked,
            data=data,
            ip=ip,
        )
    return locked


def message_reply(
    *,
    message: Message,
    user: User,
    body: str,
    attachments: Sequence[UploadedFile] = (),
    trust_level: TrustLevel,
    ip: str | None = None,
) -> Message:
    """The citizen answers an outbound message of their mailbox.

    Only the recipient (else ``NotFound``), at the message's trust level (else
    ``TrustLevelTooLow``). ``body`` is plain text of 1 to 10,000 characters (stored as
    typed, shown escaped); ``attachments`` follow the same rules as for staff. The reply
    goes to the message's unit, in the same conversation; audited as
    ``postfach.reply.received``.
    """
    if not _owned_by(message, user) or not message.is_outbound:
        raise NotFound()
    trust_require(
        request_level=TrustLevel(trust_level), required=TrustLevel(message.min_trust_level)
    )
    errors: dict[str, list[Any]] = {}
    text = _clean_text(body)
    if not text:
        errors["body"] = [_("Write your answer.")]
    elif len(text) > REPLY_MAX_CHARS:
        errors["body"] = [_("Your answer may have at most 10,000 characters.")]
    files, file_errors = check_files(attachments)
    if file_errors:
        errors["attachments"] = file_errors
    if errors:
        raise ValidationFailed(fields=errors)
    saved: list[str] = []
    try:
        with transaction.atomic():
            reply = Message.objects.create(
                municipality=message.municipality,
                citizen=user,
                org_unit=message.org_unit,
                direction=Message.Direction.INBOUND,
                kind=Message.Kind.REPLY,
                subject=("Re: " + message.subject)[:SUBJECT_MAX_CHARS],
                body=text,
                min_trust_level=message.min_trust_level,
                reference=message.reference,
                thread=message.thread or message,
                parent=message,
            )
            stored = _store_attachments(reply, files, saved)
            audit_record(
                municipality=message.municipality,
                action="postfach.reply.received",
                actor=user,
                target=reply,
                data={
                    "parent": message.pk,
                    "org_unit": message.org_unit_id,
                    "attachments": [a.sha256 for a in stored],
                },
                ip=ip,
            )
    except BaseException:
        _discard(saved)
        raise
    return reply


# --- Staff reading ---------------------------------------------------------------------


def message_staff_read(
    *, message: Message, user: User, purpose: str = "", ip: str | None = None
) -> Message:
    """A staff member of the message's unit reads it: recorded as a read of the citizen's
    personal data (``privacy.personal_data.read``, target the citizen). The first staff
    reading of a citizen's reply marks it as read."""
    if not user_can(user=user, permission=SEND_PERMISSION, org_unit=message.org_unit):
        raise NotFound()
    with transaction.atomic():
        audit_personal_data_read(
            municipality=message.municipality,
            actor=user,
            subject=message.citizen,
            purpose=purpose or f"Postfach-Nachricht {message.pk} lesen",
            ip=ip,
        )
        if not message.is_outbound and message.read_at is None:
            Message.objects.filter(pk=message.pk, read_at__isnull=True).update(
                read_at=timezone.now()
            )
    return message


# --- The delivery check and the follow-ups ---------------------------------------------


def _fail_locked(
    delivery: Delivery, message: Message, *, reason: str, now: datetime, days: int
) -> DeliveryFollowUp:
    """Mark a formal delivery as failed, open its follow-up and audit it; the caller holds
    the locks of the message and the delivery."""
    delivery.failed_at = now
    delivery.failure_reason = reason
    delivery.status = Delivery.Status.FAILED
    delivery.save(update_fields=["failed_at", "failure_reason", "status", "updated_at"])
    follow_up = DeliveryFollowUp.objects.create(
        municipality_id=delivery.municipality_id,
        org_unit_id=message.org_unit_id,
        message=message,
        reason=reason,
        due=berlin_date(now) + timedelta(days=FOLLOW_UP_DAYS),
    )
    audit_record(
        municipality=message.municipality,
        action="postfach.delivery.failed",
        target=message,
        data={
            "reason": reason,
            "announced_at": delivery.announced_at.isoformat() if delivery.announced_at else None,
            "retrieval_days": days,
            "follow_up": follow_up.pk,
            "org_unit": message.org_unit_id,
        },
    )
    return follow_up


def _delivery_fail(delivery: Delivery, *, reason: str, now: datetime, days: int) -> bool:
    """Fail one formal delivery; False if it was retrieved or failed meanwhile."""
    with transaction.atomic():
        # Lock order message, then delivery, as in message_open; "of self" keeps the
        # joined rows (unit, municipality) unlocked.
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("municipality")
            .get(pk=delivery.message_id)
        )
        locked = (
            Delivery.objects.select_for_update()
            .filter(pk=delivery.pk, retrieved_at__isnull=True, failed_at__isnull=True)
            .first()
        )
        if locked is None:
            return False
        _fail_locked(locked, message, reason=reason, now=now, days=days)
    return True


def deliveries_check(*, now: datetime | None = None) -> int:
    """Mark formal deliveries as failed that can no longer succeed; returns how many.

    A notice fails when it was not retrieved by the end of the last day of the retrieval
    period (``postfach.retrieval_days`` calendar days after the announcement day,
    Europe/Berlin), or when its announcement e-mail could not be sent. Each failure opens
    a ``DeliveryFollowUp`` for the sending unit and is audited as
    ``postfach.delivery.failed``. Safe to run again: failed deliveries stay as they are.
    """
    now = now or timezone.now()
    today = berlin_date(now)
    failed = 0
    # Only candidates: no period of any municipality ends before ``shortest`` days have
    # passed; unannounced deliveries fail at once.
    shortest = SPECS[RETRIEVAL_DAYS].minimum
    open_deliveries = (
        Delivery.objects.filter(is_formal=True, retrieved_at__isnull=True, failed_at__isnull=True)
        .filter(
            Q(announced_at__isnull=True)
            | Q(announced_at__lt=now - timedelta(days=shortest))
            | Q(announcement__status__in=[NotificationStatus.SKIPPED, NotificationStatus.FAILED])
        )
        .select_related("municipality", "announcement")
        .order_by("pk")
    )
    for delivery in open_deliveries.iterator(chunk_size=500):
        days = municipal_setting(delivery.municipality, RETRIEVAL_DAYS)
        announcement = delivery.announcement
        if delivery.announced_at is None or (
            announcement is not None
            and announcement.status in (NotificationStatus.SKIPPED, NotificationStatus.FAILED)
        ):
            reason = Delivery.FailureReason.ANNOUNCEMENT_FAILED
        elif today > retrieval_deadline(announced_at=delivery.announced_at, days=days):
            reason = Delivery.FailureReason.NOT_RETRIEVED
        else:
            continue
        if _delivery_fail(delivery, reason=reason, now=now, days=days):
            failed += 1
    if failed:
        logger.info("postfach deliveries failed", extra={"count": failed})
    return failed


def follow_up_complete(
    *,
    follow_up: DeliveryFollowUp,
    user: User,
    note: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> DeliveryFollowUp:
    """Staff of the unit record how the notice was delivered instead (e.g. "by post with
    a delivery certificate on 3 March"). Needs ``postfach.send_message`` in the unit;
    done once (``Conflict`` after); audited as ``postfach.followup.done``."""
    if not user_can(user=user, permission=SEND_PERMISSION, org_unit=follow_up.org_unit):
        raise PermissionDenied(_("You may not handle deliveries of this unit."))
    text = _clean_text(note)
    if not text:
        raise ValidationFailed(fields={"note": [_("Say how the notice was delivered.")]})
    if len(text) > NOTE_MAX_CHARS:
        raise ValidationFailed(fields={"note": [_("The note may have at most 2,000 characters.")]})
    now = now or timezone.now()
    with transaction.atomic():
        locked = DeliveryFollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if locked.done_at is not None:
            raise Conflict(_("This delivery was already recorded as done."))
        locked.done_at, locked.done_by, locked.note = now, user, text
        locked.save(update_fields=["done_at", "done_by", "note", "updated_at"])
        audit_record(
            municipality=locked.municipality,
            action="postfach.followup.done",
            actor=user,
            target=locked.message,
            data={"follow_up": locked.pk, "note": text},
            ip=ip,
        )
    return locked
