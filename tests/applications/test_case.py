"""The case after submission, through the shipped generic application process: documents
requested (with reminders, time travel), supplied, decided, the notice made and delivered
to the Postfach (or marked for the post), status e-mails at a real SMTP server."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.applications import services
from rathaus.applications.models import Application, Document, FormDefinition, TimelineEvent
from rathaus.catalog.models import Service
from rathaus.postfach.models import Delivery, Message
from rathaus.postfach.services import message_open
from rathaus.workflow import services as workflow
from rathaus.workflow.models import Timer
from tests.applications.conftest import (
    open_task,
    pdf,
    pdf_text,
    run_jobs,
    run_worker,
    submitted_simple,
)
from tests.conftest import SmtpSink

pytestmark = pytest.mark.django_db


def check(clerk: User, application: Application, **data: object) -> None:
    workflow.user_task_complete(
        task=open_task(application, "check_completeness"), user=clerk, data=data
    )


def test_submission_starts_the_process_with_the_check_for_the_unit(
    consenting: User, simple_form: FormDefinition, free_service: Service, clerk: User
) -> None:
    # When the citizen submits
    application = submitted_simple(consenting, free_service)
    # Then the process waits for the completeness check, by role "sachbearbeitung" in the
    # unit that handles the application (not by case workers of every unit)
    task = open_task(application, "check_completeness")
    assert task.candidate_role_key == "sachbearbeitung"
    assert task.candidate_org_unit_id == application.org_unit_id
    instance = application.workflow_instance
    assert instance is not None
    assert instance.business_object == application
    assert instance.variables["reference"] == application.reference
    assert instance.variables["org_unit"] == application.org_unit_id
    # And the business object links the case worker's page
    assert application.get_absolute_url() == f"/verwaltung/antraege/{application.pk}/"


@pytest.mark.django_db(transaction=True)
def test_missing_documents_reminders_and_supply_with_time_travel(
    consenting: User,
    simple_form: FormDefinition,
    free_service: Service,
    clerk: User,
    smtp_server: SmtpSink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        application = submitted_simple(consenting, free_service)
    # When the case worker finds a document missing
    check(clerk, application, complete=False, missing_documents="Meldebescheinigung")
    with django_capture_on_commit_callbacks(execute=True):
        assert run_jobs() == ["succeeded"]
    application.refresh_from_db()
    # Then the citizen is asked through the Postfach and the application shows it
    assert application.status == Application.Status.DOCUMENTS_REQUESTED
    assert application.documents_requested_note == "Meldebescheinigung"
    request = Message.objects.get(business_object_id=str(application.pk))
    assert (request.kind, request.citizen_id, request.org_unit_id) == (
        Message.Kind.REQUEST,
        consenting.pk,
        application.org_unit_id,
    )
    assert "Meldebescheinigung" in request.body
    assert request.reference == application.reference
    # When 13 days pass nothing happens; after 15 days a reminder goes out
    assert workflow.timers_fire(now=timezone.now() + timedelta(days=13)) == 0
    day15 = timezone.now() + timedelta(days=15)
    assert workflow.timers_fire(now=day15) == 1
    assert run_jobs(day15) == ["succeeded"]
    reminders = TimelineEvent.objects.filter(
        application=application, kind=TimelineEvent.Kind.REMINDER
    )
    assert [e.note for e in reminders] == ["1"]
    assert Message.objects.filter(business_object_id=str(application.pk)).count() == 2
    # When the citizen uploads the document
    with django_capture_on_commit_callbacks(execute=True):
        stored = services.documents_supplied(
            application=application,
            citizen=consenting,
            uploads=[pdf("meldebescheinigung.pdf")],
            note="Anbei",
        )
    # Then the case worker checks again, the reminder timer is gone
    application.refresh_from_db()
    assert application.status == Application.Status.IN_REVIEW
    assert [d.original_name for d in stored] == ["meldebescheinigung.pdf"]
    assert stored[0].supplied_on_request
    open_task(application, "check_completeness")
    assert not Timer.objects.filter(
        instance_id=application.workflow_instance_id, fired_at__isnull=True
    ).exists()
    application.workflow_instance.refresh_from_db()
    assert application.workflow_instance.variables["received_documents"] == {
        "documents": ["meldebescheinigung.pdf"],
        "note": "Anbei",
    }
    # And every status change was e-mailed, without the content
    run_worker()
    subjects = [m["Subject"] for m in smtp_server.messages]
    reference = application.reference
    assert subjects.count(f"Your application {reference}: new status") == 3
    bodies = [m.get_payload(decode=True).decode() for m in smtp_server.messages]
    status_mails = [b for b in bodies if "status and the timeline" in b]
    assert any("needs further documents" in b for b in status_mails)
    assert all("Meldebescheinigung" not in b for b in status_mails)


def test_supplying_documents_when_none_are_requested_is_refused(
    consenting: User, simple_form: FormDefinition, free_service: Service
) -> None:
    application = submitted_simple(consenting, free_service)
    with pytest.raises(services.Conflict):
        services.documents_supplied(application=application, citizen=consenting, uploads=[pdf()])
    assert not Document.objects.filter(application=application, kind="upload").exists()


def test_decision_and_notice_to_the_postfach_deemed_delivered_the_day_after_retrieval(
    consenting: User, simple_form: FormDefinition, free_service: Service, clerk: User
) -> None:
    application = submitted_simple(consenting, free_service)
    # When the case worker finds everything complete and the requirements met
    check(clerk, application, complete=True, requirements_met="yes")
    assert run_jobs() == ["succeeded"]
    application.refresh_from_db()
    # Then the decision table approved it and the notice is in the Postfach
    assert application.status == Application.Status.NOTICE_ISSUED
    assert application.decision == "approve"
    message = application.notice_message
    assert message is not None
    assert (message.kind, message.citizen_id) == (Message.Kind.NOTICE, consenting.pk)
    assert message.delivery.is_formal
    [attachment] = message.attachments.all()
    assert attachment.original_name == f"Bescheid-{application.reference}.pdf"
    # And the notice PDF names the reference, the decision and the applicant
    notice = Document.objects.get(application=application, kind=Document.Kind.NOTICE)
    text = pdf_text(notice.file.read())
    assert application.reference in text
    assert "bewilligt" in text
    assert "Erika Mustermann" in text
    assert "Rechtsbehelfsbelehrung" in text
    application.workflow_instance.refresh_from_db()
    assert application.workflow_instance.state == "completed"
    # When the citizen opens it, it counts as delivered the next day
    opened = message_open(message=message, user=consenting, trust_level=1)
    delivery = Delivery.objects.get(message=opened)
    assert delivery.deemed_delivered_on == (
        timezone.localdate(delivery.retrieved_at) + timedelta(days=1)
    )


def test_without_consent_the_notice_must_go_by_post(
    citizen: User, simple_form: FormDefinition, free_service: Service, clerk: User
) -> None:
    application = submitted_simple(citizen, free_service)
    check(clerk, application, complete=True, requirements_met="no")
    # When the notice is issued for a citizen without consent to digital delivery
    assert run_jobs() == ["succeeded"]
    application.refresh_from_db()
    # Then it is decided, made, not in the Postfach, and marked for the post
    assert application.status == Application.Status.DECIDED
    assert application.decision == "reject"
    assert application.notice_by_post_required
    assert application.notice_message is None
    assert not Message.objects.filter(kind=Message.Kind.NOTICE).exists()
    assert Document.objects.filter(application=application, kind="notice").count() == 1
    # When the case worker records the posting
    services.notice_posted_record(application=application, user=clerk, note="Brief am 3.3.")
    application.refresh_from_db()
    assert application.status == Application.Status.NOTICE_ISSUED
    assert application.notice_by_post_sent_at is not None
    # And a second recording is refused
    with pytest.raises(services.Conflict):
        services.notice_posted_record(application=application, user=clerk, note="again")


def test_unclear_cases_are_decided_by_a_person(
    consenting: User, simple_form: FormDefinition, free_service: Service, clerk: User
) -> None:
    application = submitted_simple(consenting, free_service)
    check(clerk, application, complete=True, requirements_met="unclear")
    workflow.user_task_complete(
        task=open_task(application, "decide_manually"),
        user=clerk,
        data={"decision": "reject", "reason": "Der Hund ist nicht gemeldet."},
    )
    assert run_jobs() == ["succeeded"]
    application.refresh_from_db()
    assert (application.decision, application.decision_reason) == (
        "reject",
        "Der Hund ist nicht gemeldet.",
    )
    notice = Document.objects.get(application=application, kind=Document.Kind.NOTICE)
    text = pdf_text(notice.file.read())
    assert "abgelehnt" in text
    assert "Der Hund ist nicht gemeldet." in text


def test_withdrawal_cancels_the_process(
    consenting: User, simple_form: FormDefinition, free_service: Service
) -> None:
    application = submitted_simple(consenting, free_service)
    services.application_withdraw(application=application, citizen=consenting, reason="Umzug")
    application.refresh_from_db()
    assert application.status == Application.Status.WITHDRAWN
    application.workflow_instance.refresh_from_db()
    assert application.workflow_instance.state == "cancelled"
    with pytest.raises(services.Conflict):
        services.application_withdraw(application=application, citizen=consenting)


def test_a_handler_for_another_object_is_a_permanent_failure(
    consenting: User, simple_form: FormDefinition, free_service: Service
) -> None:
    from rathaus.applications.workflow_handlers import deliver_notice
    from rathaus.workflow.handlers import HandlerContext, PermanentHandlerError

    context = HandlerContext(
        municipality=free_service.municipality,
        instance_id=1,
        process_key="generic_application",
        element_id="issue_notice",
        business_object=free_service,
        variables={},
        attempt=1,
    )
    with pytest.raises(PermanentHandlerError):
        deliver_notice(context, decision="approve", reason="")
