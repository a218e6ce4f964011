"""The one place that scopes a notification to the person asking for it."""

from typing import TYPE_CHECKING

from django.http import Http404

from rathaus.core.access import one_or_404
from rathaus.notifications.models import Channel, Notification

if TYPE_CHECKING:
    from rathaus.accounts.models import User


def inapp_notification_for_recipient(*, user: "User", notification_id: int) -> Notification:
    """One of the person's own in-app messages; anyone else's (or none) is a 404."""
    if not user.is_authenticated:
        raise Http404
    return one_or_404(
        Notification.objects.filter(pk=notification_id, recipient_id=user.pk, channel=Channel.INAPP)
    )
