"""Notifications to a person: exported on request, deleted with the account.

Lives in the privacy app because notifications sits below it in the layers."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from rathaus.notifications.models import Notification, NotificationPreference
from rathaus.privacy import personal_data
from rathaus.privacy.personal_data import Erasure, Kept


@personal_data.register
class NotificationData:
    key = "notifications.notifications"
    title = _("Messages and notifications sent to you")

    def export(self, user: Any) -> dict[str, Any]:
        preference = NotificationPreference.objects.filter(user=user).first()
        return {
            "preferences": {
                "email_enabled": preference.email_enabled,
                "sms_enabled": preference.sms_enabled,
                "digest_frequency": preference.digest_frequency,
            }
            if preference
            else None,
            "notifications": [
                {
                    "channel": n.channel,
                    "event": n.event,
                    "subject": n.subject,
                    "body": n.body,
                    "status": n.status,
                    "created_at": n.created_at,
                    "sent_at": n.sent_at,
                    "read_at": n.read_at,
                }
                for n in Notification.objects.filter(recipient=user)
                .order_by("created_at")
                .iterator(chunk_size=500)
            ],
        }

    def erase(self, user: Any) -> Erasure:
        deleted, _ = Notification.objects.filter(recipient=user).delete()
        preferences, _ = NotificationPreference.objects.filter(user=user).delete()
        return Erasure(deleted=deleted + preferences)

    def retained(self, user: Any) -> list[Kept]:
        return []
