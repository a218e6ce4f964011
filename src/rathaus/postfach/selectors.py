"""Reads of the mailbox: the citizen's inbox, a conversation, the staff lists."""

from typing import Any

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When

from rathaus.accounts.models import ConsentRecord, User
from rathaus.core.models import Municipality
from rathaus.organisation.permissions import units_where
from rathaus.postfach.models import SEND_PERMISSION, Attachment, DeliveryFollowUp, Message


def inbox_list(*, user: Any) -> QuerySet[Message]:
    """The messages sent to ``user``: unread first, then newest first."""
    return (
        Message.objects.filter(
            citizen=user,
            municipality_id=user.municipality_id,
            direction=Message.Direction.OUTBOUND,
        )
        .select_related("org_unit", "delivery")
        .annotate(
            unread=Case(
                When(read_at__isnull=True, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            attachment_count=Count("attachments"),
        )
        .order_by("-unread", "-created_at", "-pk")
    )


def inbox_unread_count(*, user: Any) -> int:
    """How many messages ``user`` has not opened yet."""
    return Message.objects.filter(
        citizen=user,
        municipality_id=user.municipality_id,
        direction=Message.Direction.OUTBOUND,
        read_at__isnull=True,
    ).count()


def postfach_consent_active(*, user: Any) -> ConsentRecord | None:
    """The citizen's active consent to receiving notices in the mailbox, if any."""
    return ConsentRecord.objects.filter(
        user=user, purpose=ConsentRecord.Purpose.POSTFACH, withdrawn_at__isnull=True
    ).first()


def citizen_by_email(*, municipality: Municipality, email: str) -> User | None:
    """The active citizen account of ``municipality`` signing in with ``email``."""
    return (
        User.objects.filter(
            municipality=municipality,
            email__iexact=email.strip(),
            is_active=True,
            is_staff=False,
            deleted_at__isnull=True,
        )
        .order_by("pk")
        .first()
    )


def conversation_list(*, message: Message) -> list[Message]:
    """Every message of ``message``'s conversation, oldest first, with their files."""
    root_id = message.thread_id or message.pk
    return list(
        Message.objects.filter(
            Q(pk=root_id) | Q(thread_id=root_id),
            municipality_id=message.municipality_id,
            citizen_id=message.citizen_id,
        )
        .select_related("org_unit", "delivery")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("pk")))
        .order_by("created_at", "pk")
    )


def staff_message_list(*, user: Any, municipality: Municipality) -> QuerySet[Message]:
    """Messages of the units where ``user`` may act, newest first, with delivery records."""
    return (
        Message.objects.filter(
            municipality=municipality,
            org_unit__in=units_where(user=user, permission=SEND_PERMISSION).values("pk"),
        )
        .select_related("citizen", "org_unit", "delivery")
        .order_by("-created_at", "-pk")
    )


def follow_up_list(*, user: Any, municipality: Municipality) -> QuerySet[DeliveryFollowUp]:
    """Notices to deliver another way in the units where ``user`` may act: open ones
    first (the most urgent first), then the done ones, latest first."""
    return (
        DeliveryFollowUp.objects.filter(
            municipality=municipality,
            org_unit__in=units_where(user=user, permission=SEND_PERMISSION).values("pk"),
        )
        .select_related("org_unit", "message", "message__citizen", "message__delivery", "done_by")
        .annotate(
            open=Case(
                When(done_at__isnull=True, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("-open", "due", "-done_at", "pk")
    )
