"""Sending one message: e-mail over SMTP, text messages through a gateway.

Every failure is sorted into one of two kinds: ``TransientDeliveryError`` (the mail
server is down, the gateway answered 5xx: try again later) and
``PermanentDeliveryError`` (the address is invalid, the gateway refused the message:
trying again cannot help).

Text messages go through an ``SmsGateway`` named by the ``RATHAUS_SMS_GATEWAY`` setting
(a dotted path; empty: no text messages at all). ``TestSmsGateway`` keeps messages in a
table instead of sending them; ``HttpSmsGateway`` posts them to a provider's endpoint.
"""

import json
import logging
import re
import smtplib
import urllib.error
import urllib.request
import uuid
from email.utils import make_msgid
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.core.validators import validate_email
from django.utils.module_loading import import_string

from rathaus.notifications.models import SmsTestMessage

logger = logging.getLogger(__name__)

DEFAULT_SMS_GATEWAY = "rathaus.notifications.channels.TestSmsGateway"
# International format as accounts stores it ("+49 151 23456789"); spaces are dropped.
PHONE_NUMBER = re.compile(r"^\+[1-9][0-9]{6,18}$")
GATEWAY_RESPONSE_LIMIT = 64 * 1024


class DeliveryError(Exception):
    """A message could not be handed over."""

    transient: ClassVar[bool] = False


class TransientDeliveryError(DeliveryError):
    """Worth another try later: the other side is down, slow or overloaded."""

    transient = True


class PermanentDeliveryError(DeliveryError):
    """Another try cannot help: the address is invalid or the message was refused."""

    transient = False


# E-mail.


def email_send(*, to: str, subject: str, body: str, body_html: str = "") -> str:
    """Send one e-mail through Django's mail backend; returns its Message-ID."""
    try:
        validate_email(to)
    except ValidationError as error:
        raise PermanentDeliveryError("invalid e-mail address") from error
    message_id = make_msgid(domain=str(DNS_NAME))
    message = EmailMultiAlternatives(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            "Message-ID": message_id,
            # RFC 3834: tells mail servers and people's out-of-office rules not to answer.
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
        },
    )
    if body_html:
        message.attach_alternative(body_html, "text/html")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        text = f"recipient refused by the mail server ({', '.join(map(str, codes))})"
        if codes and all(code >= 500 for code in codes):
            raise PermanentDeliveryError(text) from error
        raise TransientDeliveryError(text) from error
    except smtplib.SMTPResponseException as error:
        text = f"mail server answered {error.smtp_code}"
        if error.smtp_code >= 500:
            raise PermanentDeliveryError(text) from error
        raise TransientDeliveryError(text) from error
    except (smtplib.SMTPException, OSError) as error:
        # Connection refused, timeouts, dropped connections.
        raise TransientDeliveryError(f"mail server not reachable ({error})") from error
    return message_id


# Text messages.


class SmsGateway(Protocol):
    """Hands a text message to a provider. ``to`` is ``+<digits>``; returns its id there."""

    def send(self, *, to: str, text: str) -> str: ...


def _gateway_path() -> str:
    # Unset: the test gateway (development). Empty: this installation sends no SMS.
    path = getattr(settings, "RATHAUS_SMS_GATEWAY", None)
    return DEFAULT_SMS_GATEWAY if path is None else str(path)


def sms_available() -> bool:
    """Whether this installation sends text messages at all."""
    return bool(_gateway_path())


def sms_gateway() -> SmsGateway:
    """The gateway named by ``RATHAUS_SMS_GATEWAY``."""
    path = _gateway_path()
    if not path:
        raise PermanentDeliveryError("text messages are not set up")
    gateway: SmsGateway = import_string(path)()
    return gateway


def sms_send(*, to: str, text: str) -> str:
    """Send one text message through the configured gateway; returns the gateway's id."""
    number = to.replace(" ", "")
    if not PHONE_NUMBER.match(number):
        raise PermanentDeliveryError("invalid mobile number")
    return sms_gateway().send(to=number, text=text)


class TestSmsGateway:
    """FOR TESTS AND DEMOS ONLY: keeps text messages in ``SmsTestMessage``, sends nothing."""

    __test__ = False  # not a pytest test class

    def send(self, *, to: str, text: str) -> str:
        message = SmsTestMessage.objects.create(to=to, text=text, message_id=uuid.uuid4().hex)
        logger.info("text message kept by the test gateway, not sent", extra={"sms": message.pk})
        return message.message_id


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would carry the bearer token elsewhere (or turn the POST into a GET).
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpSmsGateway:
    """Posts ``{"to", "text"}`` as JSON with a bearer token to ``RATHAUS_SMS_GATEWAY_URL``.

    The provider answers 2xx with ``{"id": "..."}``; 5xx, 429, timeouts and refused
    connections are transient, any other answer is a permanent refusal.
    """

    def __init__(
        self, *, url: str | None = None, token: str | None = None, timeout: float | None = None
    ) -> None:
        self.url = url if url is not None else getattr(settings, "RATHAUS_SMS_GATEWAY_URL", "")
        self.token = (
            token if token is not None else getattr(settings, "RATHAUS_SMS_GATEWAY_TOKEN", "")
        )
        self.timeout = (
            timeout
            if timeout is not None
            else float(getattr(settings, "RATHAUS_SMS_GATEWAY_TIMEOUT", 10))
        )
        if urlsplit(self.url).scheme not in ("http", "https"):
            raise ImproperlyConfigured("RATHAUS_SMS_GATEWAY_URL must be an http(s) URL")

    def send(self, *, to: str, text: str) -> str:
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            self.url,
            data=json.dumps({"to": to, "text": text}).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {self.token}",
                "User-Agent": "rathaus",
            },
        )
        opener = urllib.request.build_opener(_RefuseRedirects)
        try:
            with opener.open(request, timeout=self.timeout) as response:
                payload = response.read(GATEWAY_RESPONSE_LIMIT)
        except urllib.error.HTTPError as error:
            status = error.code
            error.close()
            if status >= 500 or status == 429:
                raise TransientDeliveryError(f"SMS gateway answered {status}") from error
            raise PermanentDeliveryError(f"SMS gateway refused the message ({status})") from error
        except (urllib.error.URLError, OSError) as error:
            raise TransientDeliveryError(f"SMS gateway not reachable ({error})") from error
        try:
            data = json.loads(payload)
            message_id = str(data.get("id", "")) if isinstance(data, dict) else ""
        except ValueError:
            message_id = ""  # accepted all the same; the id is only for tracing
        return message_id[:200]
