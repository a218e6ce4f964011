"""The shipped generic application process, end to end: every path through it."""

import pytest

from rathaus.core.models import Municipality
from rathaus.legal.models import AccessibilityFeedback
from rathaus.workflow import selectors, services
from rathaus.workflow.models import InstanceEvent, ProcessInstance, Timer, UserTask
from tests.factories import AccessibilityFeedbackFactory
from tests.workflow.conftest import (
    Administration,
    HandlerLog,
    later,
    open_elements,
    open_task,
    run_jobs,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shipped")]


@pytest.fixture
def application(municipality: Municipality) -> AccessibilityFeedback:
    """Stands in for the applications module's business object."""
    return AccessibilityFeedbackFactory(municipality=municipality)


def start(municipality: Municipality, application: AccessibilityFeedback) -> ProcessInstance:
    return services.instance_start(
        municipality=municipality,
        process_key="generic_application",
        business_object=application,
        variables={"applicant": "Erika Mustermann"},
    )


def check(admin: Administration, instance: ProcessInstance, **data: object) -> None:
    services.user_task_complete(
        task=open_task(instance, "check_completeness"), user=admin.clerk, data=data
    )


def test_complete_application_is_approved_by_the_decision_table(
    admin_tree: Administration, application: AccessibilityFeedback, handlers: HandlerLog
) -> None:
    # Given a new application: the clerk's check waits, due in five days
    instance = start(admin_tree.municipality, application)
    assert instance.state == "waiting"
    task = open_task(instance, "check_completeness")
    assert task.candidate_role_key == "sachbearbeitung"
    assert task.candidate_org_unit is None
    assert task.due_at is not None
    assert 4.9 < (task.due_at - task.created_at).total_seconds() / 86400 < 5.1
    assert [f.name for f in selectors.task_form_fields(task)] == [
        "complete",
        "requirements_met",
        "missing_documents",
    ]
    # When the clerk finds it complete with all requirements met
    check(admin_tree, instance, complete=True, requirements_met="yes", missing_documents="")
    # Then the DMN table approved it and the notice waits to be delivered
    instance.refresh_from_db()
    assert instance.state == "running"
    assert instance.variables["decision"] == "approve"
    assert run_jobs() == ["succeeded"]
    assert handlers.params("postfach.deliver_notice") == [
        {"decision": "approve", "reason": "All requirements are met."}
    ]
    instance.refresh_from_db()
    assert instance.state == "completed"
    assert instance.completed_at is not None
    assert instance.variables["notice"] == {"handled_by": "postfach.deliver_notice", "attempt": 1}
    assert open_elements(instance) == []
    # And the history names every step, the clerk's decision included
    kinds = list(selectors.instance_history(instance=instance).values_list("kind", "element_id"))
    assert ("task_completed", "check_completeness") in kinds
    assert ("element_completed", "decide") in kinds
    assert ("service_completed", "issue_notice") in kinds
    assert kinds[-1] == ("completed", "")


def test_requirements_not_met_are_rejected(
    admin_tree: Administration, application: AccessibilityFeedback, handlers: HandlerLog
) -> None:
    instance = start(admin_tree.municipality, application)
    check(admin_tree, instance, complete=True, requirements_met="no")
    run_jobs()
    assert handlers.params("postfach.deliver_notice") == [
        {"decision": "reject", "reason": "The requirements are not met."}
    ]
    instance.refresh_from_db()
    assert instance.state == "completed"


def test_unclear_case_goes_to_a_clerk_who_decides(
    admin_tree: Administration, application: AccessibilityFeedback, handlers: HandlerLog
) -> None:
    # Given a complete application whose requirements the clerk finds unclear
    instance = start(admin_tree.municipality, application)
    check(admin_tree, instance, complete=True, requirements_met="unclear")
    # Then the table asks for a review by a person
    assert open_elements(instance) == ["decide_manually"]
    # When the other clerk decides
    services.user_task_complete(
        task=open_task(instance, "decide_manually"),
        user=admin_tree.clerk2,
        data={"decision": "approve", "reason": "Hardship case."},
    )
    run_jobs()
    # Then that decision is delivered
    assert handlers.params("postfach.deliver_notice") == [
        {"decision": "approve", "reason": "Hardship case."}
    ]
    instance.refresh_from_db()
    assert instance.state == "completed"


def test_missing_documents_are_requested_and_the_message_resumes_the_case(
    admin_tree: Administration, application: AccessibilityFeedback, handlers: HandlerLog
) -> None:
    # Given an incomplete application
    municipality = admin_tree.municipality
    instance = start(municipality, application)
    check(admin_tree, instance, complete=False, missing_documents="Meldebescheinigung")
    assert run_jobs() == ["succeeded"]
    assert handlers.params("postfach.request_documents") == [
        {"missing_documents": "Meldebescheinigung"}
    ]
    # Then it waits for the documents, and for a reminder in 14 days
    status = selectors.instance_status(instance=ProcessInstance.objects.get(pk=instance.pk))
    assert status.state == "waiting"
    assert [(w.kind, w.name) for w in status.waiting_for] == [("message", "documents_received")]
    assert [t.element_id for t in status.timers] == ["reminder_due"]
    assert 13.9 < (status.timers[0].due_at - later()).total_seconds() / 86400 < 14.1
    # When a message for another application arrives, nothing happens here
    other = AccessibilityFeedbackFactory(municipality=municipality)
    assert (
        services.message_correlate(
            municipality=municipality, message_name="documents_received", business_object=other
        )
        == 0
    )
    # When the citizen uploads the documents
    advanced = services.message_correlate(
        municipality=municipality,
        message_name="documents_received",
        business_object=application,
        payload={"documents": ["meldebescheinigung.pdf"]},
    )
    # Then the clerk checks again, with the payload in the variables; the timer is gone
    assert advanced == 1
    assert open_elements(instance) == ["check_completeness"]
    instance.refresh_from_db()
    assert instance.variables["received_documents"] == {"documents": ["meldebescheinigung.pdf"]}
    assert not Timer.objects.filter(instance=instance, fired_at__isnull=True).exists()
    # And a second message finds no waiting instance
    assert (
        services.message_correlate(
            municipality=municipality,
            message_name="documents_received",
            business_object=application,
        )
        == 0
    )
    check(admin_tree, instance, complete=True, requirements_met="yes")
    run_jobs()
    instance.refresh_from_db()
    assert instance.state == "completed"


def test_reminders_then_rejection_when_the_documents_never_come(
    admin_tree: Administration, application: AccessibilityFeedback, handlers: HandlerLog
) -> None:
    # Given an application waiting for documents
    instance = start(admin_tree.municipality, application)
    check(admin_tree, instance, complete=False, missing_documents="Nachweis")
    run_jobs()
    # When 13 days pass, nothing fires
    assert services.timers_fire(now=later(days=13)) == 0
    # When 15 days pass, the first reminder goes out and the wait starts again
    day15 = later(days=15)
    assert services.timers_fire(now=day15) == 1
    assert run_jobs(day15) == ["succeeded"]
    assert handlers.params("postfach.send_reminder") == [{"reminder_number": 1}]
    instance.refresh_from_db()
    assert instance.variables["reminders_sent"] == 1
    second = Timer.objects.get(instance=instance, fired_at__isnull=True)
    assert 13.9 < (second.due_at - day15).total_seconds() / 86400 < 14.1
    # When another 15 days pass, the second reminder goes out and the case is decided
    day30 = later(days=30)
    assert services.timers_fire(now=day30) == 1
    assert run_jobs(day30) == ["succeeded"]
    assert run_jobs(day30) == ["succeeded"]
    # Then the table rejects the incomplete application
    assert handlers.names() == [
        "postfach.request_documents",
        "postfach.send_reminder",
        "postfach.send_reminder",
        "postfach.deliver_notice",
    ]
    assert handlers.params("postfach.deliver_notice") == [
        {"decision": "reject", "reason": "The application is incomplete."}
    ]
    instance.refresh_from_db()
    assert instance.state == "completed"
    assert Timer.objects.filter(instance=instance, fired_at__isnull=False).count() == 2
    assert InstanceEvent.objects.filter(instance=instance, kind="timer_fired").count() == 2


def test_overdue_check_is_noted_once(
    admin_tree: Administration, application: AccessibilityFeedback
) -> None:
    instance = start(admin_tree.municipality, application)
    assert services.user_tasks_overdue_mark(now=later(days=4)) == 0
    assert services.user_tasks_overdue_mark(now=later(days=6)) == 1
    assert services.user_tasks_overdue_mark(now=later(days=7)) == 0
    task = UserTask.objects.get(instance=instance)
    assert task.overdue_at is not None
    assert InstanceEvent.objects.filter(instance=instance, kind="task_overdue").count() == 1
