"""Fee payments behind a provider interface, and the test provider.

A provider (ePayBL, a card acquirer, the test provider) does three things: create a
payment and say where to send the citizen (``payment_create``), check a callback it sent
(``callback_verify``, signed) and tell the state of a payment when asked
(``status_query``, for the reconciliation of lost callbacks). ``RATHAUS_PAYMENT_PROVIDER``
names the class; without one, fees are not paid online: applications are submitted with
the fee owed, to be collected with the notice.

The state of a ``Payment`` only moves along ``TRANSITIONS``. A report of "paid" is always
recorded, even for a payment rathaus had given up on (failed, cancelled): money that
arrived is never lost; a second paid payment of one application is shown to staff for a
refund.

``TestPaymentProvider`` is a page in rathaus, clearly marked TEST, where the citizen
presses "pay" or "cancel"; it keeps its own records (``TestProviderPayment``) like a real
provider, and returns the browser with an HMAC-signed result.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.module_loading import import_string

from rathaus.applications.models import Payment, TestProviderPayment

TEST_PROVIDER = "rathaus.applications.payments.TestPaymentProvider"

# Allowed moves of the payment state; "paid" is reachable from every state but refunded.
TRANSITIONS: dict[str, set[str]] = {
    Payment.Status.OPEN: {"pending", "paid", "failed", "cancelled"},
    Payment.Status.PENDING: {"paid", "failed", "cancelled"},
    Payment.Status.FAILED: {"paid"},
    Payment.Status.CANCELLED: {"paid"},
    Payment.Status.PAID: {"refunded"},
    Payment.Status.REFUNDED: set(),
}
FINAL = {Payment.Status.PAID, Payment.Status.REFUNDED}


class CallbackInvalid(Exception):
    """A callback whose signature or content does not check out."""


@dataclass(frozen=True)
class ProviderPayment:
    reference: str
    redirect_url: str


@dataclass(frozen=True)
class ProviderReport:
    """What the provider says about one payment."""

    reference: str
    status: str
    amount_cents: int | None = None


class PaymentProvider(Protocol):
    """A payment provider (see the module docstring)."""

    key: str

    def payment_create(
        self, *, amount_cents: int, currency: str, description: str, return_url: str
    ) -> ProviderPayment: ...

    def callback_verify(self, *, params: Mapping[str, str]) -> ProviderReport: ...

    def status_query(self, *, reference: str) -> ProviderReport: ...


def provider() -> PaymentProvider | None:
    """The provider configured in ``RATHAUS_PAYMENT_PROVIDER``, or None (no online payment)."""
    path = getattr(settings, "RATHAUS_PAYMENT_PROVIDER", "")
    if not path:
        return None
    instance: PaymentProvider = import_string(path)()
    return instance


# --- the test provider ---------------------------------------------------------------------

_SALT = "rathaus.applications.payments.test-provider"
REPORTED = ("paid", "cancelled", "failed")


def _signature(reference: str, status: str, amount: str) -> str:
    return salted_hmac(_SALT, f"{reference}|{status}|{amount}", algorithm="sha256").hexdigest()


class TestPaymentProvider:
    """The provider for tests, demonstrations and development: no real money moves."""

    __test__ = False  # not a pytest test class
    key = "test"

    def payment_create(
        self, *, amount_cents: int, currency: str, description: str, return_url: str
    ) -> ProviderPayment:
        record = TestProviderPayment.objects.create(
            reference="test_" + secrets.token_urlsafe(12),
            amount_cents=amount_cents,
            currency=currency,
            description=description[:200],
            return_url=return_url[:500],
        )
        return ProviderPayment(
            reference=record.reference,
            redirect_url=reverse("applications:test_provider", args=[record.reference]),
        )

    def callback_verify(self, *, params: Mapping[str, str]) -> ProviderReport:
        reference = str(params.get("reference", ""))[:100]
        status = str(params.get("status", ""))[:20]
        amount = str(params.get("amount", ""))[:12]
        signature = str(params.get("signature", ""))[:128]
        if not reference or status not in REPORTED or not amount.isdigit():
            raise CallbackInvalid("incomplete callback")
        if not constant_time_compare(signature, _signature(reference, status, amount)):
            raise CallbackInvalid("bad signature")
        return ProviderReport(reference=reference, status=status, amount_cents=int(amount))

    def status_query(self, *, reference: str) -> ProviderReport:
        record = TestProviderPayment.objects.filter(reference=reference).first()
        if record is None:
            return ProviderReport(reference=reference, status="failed")
        status = record.status if record.status in REPORTED else "pending"
        return ProviderReport(reference=reference, status=status, amount_cents=record.amount_cents)

    # The provider's own page (``views.test_provider_page``) uses these two:

    @staticmethod
    def decide(*, reference: str, outcome: str) -> str:
        """The citizen pressed "pay" or "cancel" on the test page: the provider records it
        and returns the URL that brings the browser back with the signed result."""
        if outcome not in ("paid", "cancelled"):
            raise ValueError(outcome)
        record = TestProviderPayment.objects.get(reference=reference)
        if record.status == "open":
            record.status = outcome
            record.save(update_fields=["status", "updated_at"])
        return TestPaymentProvider.return_link(record)

    @staticmethod
    def return_link(record: TestProviderPayment) -> str:
        amount = str(record.amount_cents)
        query = urlencode(
            {
                "reference": record.reference,
                "status": record.status,
                "amount": amount,
                "signature": _signature(record.reference, record.status, amount),
            }
        )
        separator = "&" if "?" in record.return_url else "?"
        return f"{record.return_url}{separator}{query}"
