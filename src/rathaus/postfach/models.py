"""The citizen's mailbox (Postfach): messages, their attachments and delivery records.

A ``Message`` lies in one citizen's mailbox and belongs to one org unit: the unit sent it
(outbound: a notice, a request, information) or the citizen wrote to it (inbound: a reply).
Every outbound message has one ``Delivery``, the record of sending, announcing by e-mail
and retrieval; for a notice (Bescheid) it is the proof of delivery under § 41 (2a)
VwVfG (ADR 0013). A notice that is not retrieved in time gets a ``DeliveryFollowUp``:
staff of the unit must deliver it another way.
"""

import secrets

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rathaus.accounts.trust import TrustLevel
from rathaus.core.models import TenantModel
from rathaus.organisation.models import OrgUnit

SEND_PERMISSION = "postfach.send_message"


class Message(TenantModel):
    """One message in a citizen's mailbox, to or from one org unit."""

    class Kind(models.TextChoices):
        NOTICE = "notice", _("Notice (Bescheid)")
        REQUEST = "request", _("Request")
        INFORMATION = "information", _("Information")
        REPLY = "reply", _("Reply")

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", _("to the citizen")
        INBOUND = "inbound", _("from the citizen")

    # The citizen whose mailbox holds the message: its recipient (outbound) or its author
    # (inbound). PROTECT: closing an account anonymises the user row, it never deletes it,
    # and notices must outlive the account (see personal_data.py).
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="postfach_messages",
        verbose_name=_("citizen"),
    )
    # The unit that sent the message (outbound) or that it is addressed to (inbound). Named
    # ``org_unit`` so that ``user.has_perm(SEND_PERMISSION, message)`` checks this unit.
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("org unit")
    )
    # The staff member who wrote an outbound message; None for messages a process sent.
    staff_sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    # True when ``body`` is HTML, sanitised with core.html.clean_html when it was stored.
    body_is_html = models.BooleanField(_("HTML text"), default=False)
    min_trust_level = models.PositiveSmallIntegerField(
        _("minimum trust level"), choices=TrustLevel.choices, default=TrustLevel.BASIC
    )
    reference = models.CharField(
        _("reference"), max_length=100, blank=True, help_text=_("E.g. the case number.")
    )
    business_object_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    business_object_id = models.CharField(_("business object id"), max_length=64, blank=True)
    business_object = GenericForeignKey("business_object_type", "business_object_id")
    # The first message of the conversation (None for that first message itself) and the
    # message this one answers.
    thread = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    # First opening by the addressee: the citizen (outbound, at a sufficient trust level)
    # or any staff member of the unit (inbound). Drives "unread" in the lists.
    read_at = models.DateTimeField(_("opened at"), null=True, blank=True)

    class Meta:
        verbose_name = _("mailbox message")
        verbose_name_plural = _("mailbox messages")
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("send_message", "Can send mailbox messages and handle replies and deliveries"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction="inbound", kind="reply")
                | (Q(direction="outbound") & ~Q(kind="reply")),
                name="postfach_message_kind_fits_direction",
            ),
            models.CheckConstraint(
                condition=Q(min_trust_level__gte=1, min_trust_level__lte=3),
                name="postfach_message_trust_level_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["citizen", "direction", "read_at", "-created_at"], name="postfach_inbox"
            ),
            models.Index(
                fields=["municipality", "org_unit", "-created_at"], name="postfach_unit_list"
            ),
            models.Index(
                fields=["business_object_type", "business_object_id"], name="postfach_object"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} → {self.citizen_id}"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None

    @property
    def is_outbound(self) -> bool:
        return self.direction == self.Direction.OUTBOUND


def attachment_path(instance: "Attachment", filename: str) -> str:
    """A storage name nobody can guess: no id, no original name, 256 random bits."""
    return f"postfach/{secrets.token_hex(16)}/{secrets.token_hex(16)}"


class Attachment(TenantModel):
    """A file attached to a message; its type was sniffed from its content, not its name."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("message")
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.original_name


class Delivery(TenantModel):
    """How an outbound message reached the citizen: sent, announced, retrieved (or not).

    ``is_formal`` marks a notice delivered under § 41 (2a) VwVfG: only with consent
    (recorded here), deemed delivered on the day after retrieval, failed if not retrieved
    within ``postfach.retrieval_days`` days of the announcement.
    """

    class Status(models.TextChoices):
        ANNOUNCED = "announced", _("waiting to be opened")
        RETRIEVED = "retrieved", _("opened")
        FAILED = "failed", _("not opened in time")

    class FailureReason(models.TextChoices):
        NOT_RETRIEVED = "not_retrieved", _("not opened within the retrieval period")
        ANNOUNCEMENT_FAILED = "announcement_failed", _("the e-mail could not be sent")

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="delivery", verbose_name=_("message")
    )
    is_formal = models.BooleanField(_("formal delivery of a notice"), default=False)
    # The consent the delivery relied on, copied so the record proves it on its own.
    consent_recorded = models.BooleanField(_("consent recorded"), default=False)
    consent_record_id = models.BigIntegerField(_("consent record"), null=True, blank=True)
    consent_text_version = models.CharField(_("consent text version"), max_length=20, blank=True)
    consent_granted_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"))
    # When the announcement e-mail was queued; the retrieval period runs from this day.
    announced_at = models.DateTimeField(_("announced at"), null=True, blank=True)
    announcement = models.ForeignKey(
        "notifications.Notification",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("announcement e-mail"),
    )
    retrieved_at = models.DateTimeField(_("retrieved at"), null=True, blank=True)
    # Calendar day (Europe/Berlin) after the retrieval; only for formal deliveries.
    deemed_delivered_on = models.DateField(_("deemed delivered on"), null=True, blank=True)
    failed_at = models.DateTimeField(_("not delivered since"), null=True, blank=True)
    failure_reason = models.CharField(
        _("reason"), max_length=20, choices=FailureReason.choices, blank=True
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ANNOUNCED
    )

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.CheckConstraint(
                condition=Q(is_formal=False) | Q(consent_recorded=True),
                name="postfach_formal_delivery_needs_consent",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "is_formal", "announced_at"], name="postfach_open")
        ]

    def __str__(self) -> str:
        return f"delivery of {self.message_id} ({self.status})"


class DeliveryFollowUp(TenantModel):
    """A notice that must be delivered another way (by post), for staff of its unit.

    TODO(workflow): becomes a workflow user task once the engine lands (ADR 0013).
    """

    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("org unit")
    )
    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="follow_up", verbose_name=_("message")
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Delivery.FailureReason.choices)
    due = models.DateField(_("due"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )
    note = models.TextField(_("how it was delivered"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("delivery follow-up")
        verbose_name_plural = _("delivery follow-ups")
        ordering = ["due", "pk"]
        indexes = [
            models.Index(fields=["municipality", "org_unit", "done_at"], name="postfach_followups")
        ]

    def __str__(self) -> str:
        return f"follow-up of {self.message_id}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
