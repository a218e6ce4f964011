"""The mailbox in the citizen's data export, on account deletion and under retention."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.accounts.services import account_delete, account_deletion_preview
from rathaus.accounts.trust import TrustLevel
from rathaus.postfach.models import Attachment, Delivery, Message
from rathaus.postfach.personal_data import PostfachData
from rathaus.postfach.services import message_reply
from rathaus.privacy.retention import retention_apply, rules
from tests.postfach.conftest import pdf

pytestmark = pytest.mark.django_db

KEPT_WHAT = "Notices (Bescheide) delivered to your mailbox, with their delivery records"


def test_export_holds_the_messages_but_not_the_content_of_protected_ones(
    send: Callable[..., Message], consenting: User
) -> None:
    notice = send(consenting, attachments=[pdf()])
    send(consenting, kind="information", subject="Geheim", body="eID only", min_trust_level=3)
    message_reply(message=notice, user=consenting, body="Danke.", trust_level=TrustLevel.BASIC)
    exported = PostfachData().export(consenting)
    assert [(m["direction"], m["kind"], m["subject"]) for m in exported] == [
        ("outbound", "notice", "Grundsteuerbescheid 2026"),
        ("outbound", "information", None),
        ("inbound", "reply", "Re: Grundsteuerbescheid 2026"),
    ]
    assert exported[0]["text"] == "Die Grundsteuer für Flurstück 4711 beträgt 412,00 EUR."
    assert exported[0]["attachments"][0]["name"] == "bescheid.pdf"
    assert exported[0]["delivery"]["formal"] is True
    assert exported[1]["text"] == "Shown in your mailbox after a sign-in at the required level."
    assert exported[2]["delivery"] is None


def test_closing_the_account_keeps_notices_and_deletes_the_rest_with_their_files(
    send: Callable[..., Message],
    consenting: User,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    notice = send(consenting, attachments=[pdf("bescheid.pdf")])
    info = send(consenting, kind="information", attachments=[pdf("info.pdf")])
    info_file = info.attachments.get().file.name
    notice_file = notice.attachments.get().file.name
    # Before closing, the citizen is told what stays and why
    assert [str(k.what) for k in account_deletion_preview(user=consenting)].count(KEPT_WHAT) == 1
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        result = account_delete(user=consenting)
    # Then the notice stays with its delivery record and file, the information is gone
    assert list(Message.objects.values_list("pk", flat=True)) == [notice.pk]
    assert Delivery.objects.filter(message=notice).exists()
    assert list(Attachment.objects.values_list("file", flat=True)) == [notice_file]
    assert default_storage.exists(notice_file)
    assert not default_storage.exists(info_file)
    kept = [k for k in result.kept if str(k.what) == KEPT_WHAT]
    assert str(kept[0].until) == "10 years after the notice was sent"


def test_retention_deletes_other_messages_after_three_years_and_notices_after_ten(
    send: Callable[..., Message], consenting: User
) -> None:
    assert {r.key for r in rules()} >= {"postfach.notices", "postfach.other_messages"}
    notice = send(consenting)
    info = send(consenting, kind="information")
    now = timezone.now()
    retention_apply(now=now + timedelta(days=3 * 365 + 1))
    assert list(Message.objects.values_list("pk", flat=True)) == [notice.pk]
    assert Message.objects.filter(pk=info.pk).count() == 0
    retention_apply(now=now + timedelta(days=10 * 365 + 1))
    assert not Message.objects.exists()
    assert not Delivery.objects.exists()
