"""Reads of notifications and preferences."""

from typing import TYPE_CHECKING

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from rathaus.notifications.models import Channel, Notification, NotificationPreference

if TYPE_CHECKING:
    from rathaus.accounts.models import User


def notification_preference_get(*, user: "User") -> NotificationPreference:
    """The person's preferences; an unsaved row with the defaults if they never chose."""
    preference = NotificationPreference.objects.filter(user_id=user.pk).first()
    return preference if preference is not None else NotificationPreference(user_id=user.pk)


def inapp_notification_list(*, user: "User") -> QuerySet[Notification]:
    """The person's in-app messages: unread first, then newest first."""
    return (
        Notification.objects.filter(recipient_id=user.pk, channel=Channel.INAPP)
        .annotate(unread=ExpressionWrapper(Q(read_at__isnull=True), output_field=BooleanField()))
        .order_by("-unread", "-created_at", "-pk")
    )


def inapp_unread_count(*, user: "User") -> int:
    """How many in-app messages the person has not read yet."""
    return Notification.objects.filter(
        recipient_id=user.pk, channel=Channel.INAPP, read_at__isnull=True
    ).count()
