"""Payments: success, cancel and retry, duplicate callbacks, forged signatures, lost
callbacks found by the reconciliation, and a late "paid" that is never lost."""

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.applications import services
from rathaus.applications.models import Application, FormDefinition, Payment, TestProviderPayment
from rathaus.applications.payments import TestPaymentProvider
from rathaus.audit.models import AuditEvent
from rathaus.catalog.models import Service
from tests.applications.conftest import FULL_PAGE_1, pdf, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(citizen: User, dog_form: FormDefinition, dog_service: Service) -> Application:
    """A complete dog-tax draft with one dog: 96 EUR to pay."""
    application = services.application_start(
        citizen=citizen, service=dog_service, idempotency_key="p" * 32
    )
    services.application_page_save(application=application, page_index=0, values=FULL_PAGE_1)
    services.application_page_save(
        application=application,
        page_index=1,
        values={"hunde": [{"hundename": "Bello", "rasse": "dackel"}]},
    )
    services.documents_upload(
        application=application, citizen=citizen, uploads=[pdf()], field_id="nachweis"
    )
    return application


def begin(application: Application, citizen: User) -> Payment:
    return services.payment_start(
        application=application, citizen=citizen, return_url="http://testserver/zurueck/"
    )


def callback(payment: Payment, outcome: str) -> dict[str, str]:
    link = TestPaymentProvider.decide(reference=payment.provider_reference, outcome=outcome)
    return {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}


def test_paying_records_the_payment_once(ready: Application, citizen: User) -> None:
    payment = begin(ready, citizen)
    assert (payment.amount_cents, payment.status) == (9600, "pending")
    ready.refresh_from_db()
    assert ready.payment_status == "pending"
    params = callback(payment, "paid")
    services.payment_callback_handle(params=params)
    # The same callback again (the browser reloads the page) changes nothing
    services.payment_callback_handle(params=params)
    payment.refresh_from_db()
    ready.refresh_from_db()
    assert payment.status == "paid"
    assert ready.payment_status == "paid"
    assert [entry["status"] for entry in payment.history] == ["pending", "paid", "paid"]
    assert payment.history[-1]["ignored"] is True
    assert ready.timeline.filter(kind="payment").count() == 1
    # Paying again is refused
    with pytest.raises(services.Conflict):
        begin(ready, citizen)


def test_a_cancelled_payment_can_be_retried(ready: Application, citizen: User) -> None:
    first = begin(ready, citizen)
    services.payment_callback_handle(params=callback(first, "cancelled"))
    ready.refresh_from_db()
    assert ready.payment_status == "open"
    second = begin(ready, citizen)
    assert second.pk != first.pk
    services.payment_callback_handle(params=callback(second, "paid"))
    ready.refresh_from_db()
    assert ready.payment_status == "paid"


def test_an_unfinished_payment_is_reused(ready: Application, citizen: User) -> None:
    assert begin(ready, citizen).pk == begin(ready, citizen).pk
    assert Payment.objects.count() == 1


def test_a_forged_callback_changes_nothing_and_is_audited(
    ready: Application, citizen: User
) -> None:
    payment = begin(ready, citizen)
    params = callback(payment, "cancelled")
    forged = {**params, "status": "paid"}
    with pytest.raises(services.ValidationFailed) as refused:
        services.payment_callback_handle(params=forged)
    assert refused.value.code == "invalid_callback"
    for broken in ({}, {**params, "signature": ""}, {**params, "amount": "1"}):
        with pytest.raises(services.ValidationFailed):
            services.payment_callback_handle(params=broken)
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert AuditEvent.objects.filter(action="applications.payment.callback_refused").count() == 4


def test_the_return_page_refuses_a_forged_callback(
    client: Client, ready: Application, citizen: User
) -> None:
    sign_in(client, citizen)
    payment = begin(ready, citizen)
    params = callback(payment, "cancelled")
    response = client.get(
        f"/konto/antraege/{ready.pk}/zahlung/zurueck/", {**params, "status": "paid"}
    )
    assert response["Location"] == f"/konto/antraege/{ready.pk}/pruefen/"
    payment.refresh_from_db()
    assert payment.status == "pending"


def test_a_lost_callback_is_found_by_the_reconciliation(ready: Application, citizen: User) -> None:
    payment = begin(ready, citizen)
    # The citizen paid, but the browser never came back
    TestPaymentProvider.decide(reference=payment.provider_reference, outcome="paid")
    # A fresh payment is left alone; after the waiting time it is asked about
    assert services.payments_reconcile() == 0
    assert services.payments_reconcile(now=timezone.now() + timedelta(minutes=11)) == 1
    payment.refresh_from_db()
    ready.refresh_from_db()
    assert payment.status == "paid"
    assert payment.history[-1]["source"] == "reconciliation"
    assert ready.payment_status == "paid"
    # Running it again changes nothing
    assert services.payments_reconcile(now=timezone.now() + timedelta(minutes=20)) == 0


def test_a_late_paid_report_is_never_lost(ready: Application, citizen: User) -> None:
    payment = begin(ready, citizen)
    services.payment_report_apply(
        provider_key="test",
        report=services.payments.ProviderReport(
            reference=payment.provider_reference, status="cancelled", amount_cents=9600
        ),
        source="test",
    )
    # The provider later says the money arrived after all
    TestProviderPayment.objects.filter(reference=payment.provider_reference).update(status="paid")
    services.payment_report_apply(
        provider_key="test",
        report=services.payments.ProviderReport(
            reference=payment.provider_reference, status="paid", amount_cents=9600
        ),
        source="test",
    )
    payment.refresh_from_db()
    assert payment.status == "paid"
    # But a late "cancelled" never undoes "paid"
    services.payment_report_apply(
        provider_key="test",
        report=services.payments.ProviderReport(
            reference=payment.provider_reference, status="cancelled", amount_cents=9600
        ),
        source="test",
    )
    payment.refresh_from_db()
    assert payment.status == "paid"


def test_a_wrong_amount_or_unknown_reference_is_refused(ready: Application, citizen: User) -> None:
    payment = begin(ready, citizen)
    report = services.payments.ProviderReport(
        reference=payment.provider_reference, status="paid", amount_cents=1
    )
    with pytest.raises(services.ValidationFailed):
        services.payment_report_apply(provider_key="test", report=report, source="test")
    unknown = services.payments.ProviderReport(reference="test_nope", status="paid")
    with pytest.raises(services.NotFound):
        services.payment_report_apply(provider_key="test", report=unknown, source="test")
    payment.refresh_from_db()
    assert payment.status == "pending"


def test_free_and_incomplete_applications_cannot_be_paid(
    citizen: User,
    simple_form: FormDefinition,
    free_service: Service,
    dog_form: Any,
    dog_service: Service,
) -> None:
    free = services.application_start(
        citizen=citizen, service=free_service, idempotency_key="f" * 32
    )
    services.application_page_save(application=free, page_index=0, values={"name": "Erika"})
    with pytest.raises(services.Conflict):
        begin(free, citizen)
    incomplete = services.application_start(
        citizen=citizen, service=dog_service, idempotency_key="i" * 32
    )
    with pytest.raises(services.ValidationFailed):
        begin(incomplete, citizen)
    assert not Payment.objects.exists()


def test_the_test_provider_page_refuses_unknown_outcomes(
    client: Client, ready: Application, citizen: User
) -> None:
    payment = begin(ready, citizen)
    url = f"/zahlung/test/{payment.provider_reference}/"
    assert client.post(url, {"outcome": "stolen"}).status_code == 400
    assert client.get("/zahlung/test/test_unknown/").status_code == 404
    assert TestProviderPayment.objects.get(reference=payment.provider_reference).status == "open"


def test_without_a_provider_the_fee_is_owed_and_the_application_submitted(
    ready: Application, citizen: User, settings: Any
) -> None:
    settings.RATHAUS_PAYMENT_PROVIDER = ""
    with pytest.raises(services.Conflict) as refused:
        begin(ready, citizen)
    assert refused.value.code == "no_payment_provider"
    services.application_submit(application=ready, citizen=citizen)
    ready.refresh_from_db()
    assert (ready.status, ready.fee_cents, ready.payment_status) == ("submitted", 9600, "open")
    assert services.payments_reconcile() == 0


def test_the_deploy_check_warns_about_the_test_provider(settings: Any) -> None:
    from rathaus.applications.checks import test_payment_provider_off_in_production

    assert [m.id for m in test_payment_provider_off_in_production(None)] == [
        "rathaus_applications.W001"
    ]
    settings.RATHAUS_PAYMENT_PROVIDER = ""
    assert test_payment_provider_off_in_production(None) == []
