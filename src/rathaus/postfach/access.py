"""The one place that scopes mailbox rows to the asking municipality, citizen and unit.

A citizen reaches only their own messages. Staff reach the messages and follow-ups of
the units where they hold ``postfach.send_message``. Everything else is 404, also a
message of another unit of the same municipality: whether a citizen has mail from the
Standesamt is itself personal data, so its existence is not confirmed (ADR 0013). A staff
member without the permission anywhere is stopped earlier, by the page gate (403).
"""

from typing import Any

from django.http import Http404

from rathaus.core.access import is_member, one_or_404
from rathaus.core.models import Municipality
from rathaus.organisation.permissions import user_can
from rathaus.postfach.models import SEND_PERMISSION, Attachment, DeliveryFollowUp, Message


def message_for_citizen(*, user: Any, municipality: Municipality, message_id: int) -> Message:
    """A message sent to ``user`` (outbound, in their mailbox)."""
    if not is_member(user, municipality):
        raise Http404
    return one_or_404(
        Message.objects.select_related("org_unit", "delivery", "municipality").filter(
            municipality=municipality,
            citizen_id=user.pk,
            pk=message_id,
            direction=Message.Direction.OUTBOUND,
        )
    )


def attachment_for_citizen(
    *, user: Any, municipality: Municipality, message_id: int, attachment_id: int
) -> Attachment:
    """A file of a message in ``user``'s mailbox (one sent to them or one they sent)."""
    if not is_member(user, municipality):
        raise Http404
    return one_or_404(
        Attachment.objects.select_related(
            "message", "message__parent", "message__municipality"
        ).filter(
            municipality=municipality,
            pk=attachment_id,
            message_id=message_id,
            message__citizen_id=user.pk,
        )
    )


def message_for_staff(*, user: Any, municipality: Municipality, message_id: int) -> Message:
    """A message of a unit where ``user`` may act for the mailbox."""
    message = (
        Message.objects.select_related("org_unit", "citizen", "delivery", "municipality")
        .filter(municipality=municipality, pk=message_id)
        .first()
    )
    if message is None or not user_can(
        user=user, permission=SEND_PERMISSION, org_unit=message.org_unit
    ):
        raise Http404
    return message


def attachment_for_staff(
    *, user: Any, municipality: Municipality, message_id: int, attachment_id: int
) -> Attachment:
    """A file of a message of a unit where ``user`` may act for the mailbox."""
    message = message_for_staff(user=user, municipality=municipality, message_id=message_id)
    attachment = one_or_404(Attachment.objects.filter(message=message, pk=attachment_id))
    attachment.message = message
    return attachment


def follow_up_for_staff(
    *, user: Any, municipality: Municipality, follow_up_id: int
) -> DeliveryFollowUp:
    """A follow-up of a unit where ``user`` may act for the mailbox."""
    follow_up = (
        DeliveryFollowUp.objects.select_related(
            "org_unit", "message", "message__citizen", "message__delivery", "done_by"
        )
        .filter(municipality=municipality, pk=follow_up_id)
        .first()
    )
    if follow_up is None or not user_can(
        user=user, permission=SEND_PERMISSION, org_unit=follow_up.org_unit
    ):
        raise Http404
    return follow_up
