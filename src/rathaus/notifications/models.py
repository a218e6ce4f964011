"""What was sent to whom, how each person wants to be told, and the SMS test outbox.

A ``Notification`` is one message on one channel (e-mail, SMS, in-app) for one event.
Its subject and body are rendered when it is created, in the recipient's language, so
the row is the record of exactly what was (or would have been) sent.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rathaus.core.models import Municipality, TimeStampedModel


class Channel(models.TextChoices):
    EMAIL = "email", _("e-mail")
    SMS = "sms", _("text message")
    INAPP = "inapp", _("message in your account")


class Status(models.TextChoices):
    PENDING = "pending", _("waiting to be sent")
    SENDING = "sending", _("being sent")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    SKIPPED = "skipped", _("not sent")
    DIGEST = "digest", _("waiting for the digest")


class DigestFrequency(models.TextChoices):
    IMMEDIATE = "immediate", _("at once")
    DAILY = "daily", _("once a day")
    WEEKLY = "weekly", _("once a week")


class Notification(TimeStampedModel):
    """One message to one person on one channel; unique per event, key and channel."""

    # Nullable: platform operators belong to no municipality.
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    event = models.CharField(_("event"), max_length=100)
    key = models.CharField(_("idempotency key"), max_length=200)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    template = models.CharField(_("template"), max_length=100)
    context = models.JSONField(_("context"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=5)
    # The address used (e-mail or mobile number) as it was when the event happened.
    address = models.CharField(_("address"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("text"), blank=True)
    body_html = models.TextField(_("HTML text"), blank=True)
    # A page in rathaus the message refers to (shown in the in-app list and in digests).
    url = models.CharField(_("link"), max_length=500, blank=True)
    mandatory = models.BooleanField(_("mandatory"), default=False)
    digestible = models.BooleanField(_("may go into a digest"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # Why the row has its status: the last delivery error, or why it was not sent.
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # The id the SMS gateway or mail server gave the message.
    provider_id = models.CharField(_("provider message id"), max_length=200, blank=True)
    # The digest e-mail this row was delivered in.
    digest = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="digested",
        verbose_name=_("digest"),
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                "recipient", "event", "key", "channel", name="notifications_once_per_event"
            )
        ]
        indexes = [
            # The in-app list and the unread count in the header.
            models.Index(
                fields=["recipient", "channel", "read_at", "-created_at"],
                name="notifications_inbox",
            ),
            # The digest runs and the stale-work sweep.
            models.Index(fields=["status", "channel"], name="notifications_status"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.recipient_id} ({self.channel}, {self.status})"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class NotificationPreference(models.Model):
    """How one person wants to be told. Without a row, the defaults apply."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preference",
        verbose_name=_("user"),
    )
    email_enabled = models.BooleanField(_("e-mail"), default=True)
    # Text messages are opt-in: they go to a phone number and need consent.
    sms_enabled = models.BooleanField(_("text messages"), default=False)
    digest_frequency = models.CharField(
        _("news from the town hall"),
        max_length=10,
        choices=DigestFrequency.choices,
        default=DigestFrequency.IMMEDIATE,
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.digest_frequency}"


class SmsTestMessage(models.Model):
    """The outbox of ``TestSmsGateway``: a text message that was NOT really sent.

    Kept in the database so that the task worker and the tests (or a developer looking
    at the demo) see the same messages.
    """

    to = models.CharField(_("to"), max_length=20)
    text = models.TextField(_("text"))
    message_id = models.CharField(_("message id"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("test text message")
        verbose_name_plural = _("test text messages")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.to}: {self.text[:40]}"
