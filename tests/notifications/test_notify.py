"""notify(): what it stores, in which language, and what it refuses."""

import pytest
from django.template import TemplateDoesNotExist

from rathaus.accounts.models import User
from rathaus.notifications.models import Channel, Notification, Status
from rathaus.notifications.services import notify
from tests.factories import UserFactory
from tests.notifications.conftest import CONTEXT

pytestmark = pytest.mark.django_db

VALID: dict[str, object] = {
    "event": "tests.request_received",
    "key": "A-17",
    "template": "test_message",
    "context": CONTEXT,
}


def _notify(user: User, **kwargs: object) -> list[Notification]:
    return notify(recipient=user, **{**VALID, **kwargs})  # type: ignore[arg-type]


def test_in_app_message_is_stored_as_sent_with_its_link(citizen: User) -> None:
    [inapp] = _notify(citizen, channels=["inapp"], url="/konto/antraege/17/")
    assert (inapp.status, inapp.url, inapp.municipality_id) == (
        Status.SENT,
        "/konto/antraege/17/",
        citizen.municipality_id,
    )
    assert inapp.sent_at is not None
    assert inapp.read_at is None
    assert (inapp.address, inapp.body_html) == ("", "")


def test_rows_come_back_in_the_order_of_the_channels(citizen: User) -> None:
    rows = _notify(citizen, channels=["inapp", "sms", "email", "inapp"])
    assert [r.channel for r in rows] == [Channel.INAPP, Channel.SMS, Channel.EMAIL]
    # asking again, in another order, gives the same rows
    again = _notify(citizen, channels=["email", "inapp"])
    assert [r.pk for r in again] == [rows[2].pk, rows[0].pk]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event", "NoDots"),
        ("event", "tests.Bad-Name"),
        ("event", ""),
        ("key", ""),
        ("key", "k" * 201),
        ("template", "../../etc/passwd"),
        ("template", "Test_Message"),
        ("channels", ["fax"]),
        ("channels", []),
        ("url", "javascript:alert(1)"),
        ("url", "//evil.example/"),
        ("url", "http://plain.example/"),
        ("context", {"when": object()}),
    ],
)
def test_programming_errors_are_refused_and_nothing_is_stored(
    citizen: User, field: str, value: object
) -> None:
    with pytest.raises(ValueError, match=r".+"):
        _notify(citizen, **{field: value})
    assert not Notification.objects.exists()


def test_an_unsaved_recipient_is_refused(municipality: object) -> None:
    with pytest.raises(ValueError, match="saved user"):
        notify(recipient=User(email="x@example.org"), **VALID)  # type: ignore[arg-type]


def test_a_missing_template_raises_and_stores_nothing(citizen: User) -> None:
    with pytest.raises(TemplateDoesNotExist):
        _notify(citizen, template="no_such_template")
    assert not Notification.objects.exists()


def test_line_breaks_cannot_reach_the_subject(english_citizen: User) -> None:
    [email] = _notify(
        english_citizen,
        channels=["email"],
        context={"name": "X", "reference": "A\r\nBcc: victim@example.org"},
    )
    assert email.subject == "Your request A Bcc: victim@example.org has been received"


def test_an_unknown_language_falls_back_to_german(citizen: User) -> None:
    User.objects.filter(pk=citizen.pk).update(language="fr")
    citizen.refresh_from_db()
    [inapp] = _notify(citizen, channels=["inapp"])
    assert (inapp.language, inapp.subject) == ("de", "Ihr Antrag A-17 ist eingegangen")


def test_a_language_folder_is_used_whole_never_mixed(citizen: User, english_citizen: User) -> None:
    # test_partial has a German subject and text but no German HTML part
    [german] = _notify(citizen, template="test_partial", channels=["email"])
    [english] = _notify(english_citizen, template="test_partial", channels=["email"])
    assert (german.subject, german.body, german.body_html) == (
        "Hallo",
        "Hallo Erika <Mustermann>\n",
        "",
    )
    assert (english.subject, english.body, english.body_html) == (
        "Hello",
        "Hello Erika <Mustermann>\n",
        "<p>Hello Erika &lt;Mustermann&gt;</p>",
    )


def test_platform_operators_without_municipality_are_notified(db: None) -> None:
    operator = UserFactory(municipality=None, email="ops@example.org", language="en")
    [inapp] = _notify(operator, channels=["inapp"])
    assert inapp.municipality_id is None
    assert inapp.body == (
        "Hello Erika <Mustermann>,\n\nwe have received your request A-17 & will answer soon.\n"
    )
