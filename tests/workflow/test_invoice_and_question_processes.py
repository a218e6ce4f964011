"""The shipped invoice approval (four-eyes) and question-to-the-mayor processes."""

import pytest

from rathaus.audit.models import AuditEvent
from rathaus.core.errors import Conflict, PermissionDenied, ValidationFailed
from rathaus.workflow import selectors, services
from rathaus.workflow.models import ProcessInstance, UserTask
from tests.workflow.conftest import Administration, HandlerLog, open_elements, open_task, run_jobs

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shipped")]


def start_invoice(admin: Administration, unit: str = "FB 2") -> ProcessInstance:
    return services.instance_start(
        municipality=admin.municipality,
        process_key="invoice_approval",
        variables={"invoice_number": "RE-2026-17", "amount": 1234.5, "ordering_unit": unit},
    )


def test_invoice_needs_two_different_people(
    admin_tree: Administration, handlers: HandlerLog
) -> None:
    # Given an invoice ordered by FB 2: the factual check is for FB 2's staff
    instance = start_invoice(admin_tree)
    factual = open_task(instance, "check_factual")
    assert factual.candidate_org_unit == admin_tree.units["FB 2"]
    assert factual.candidate_role_key == ""
    # When staff of another unit tries, they are refused and nothing changes
    with pytest.raises(PermissionDenied):
        services.user_task_complete(
            task=factual, user=admin_tree.building, data={"factually_correct": True}
        )
    assert open_elements(instance) == ["check_factual"]
    # When the person who holds both roles confirms the factual check
    services.user_task_complete(
        task=factual, user=admin_tree.auditor_and_finance, data={"factually_correct": True}
    )
    arithmetic = open_task(instance, "check_arithmetic")
    assert arithmetic.candidate_role_key == "rechnungspruefung"
    assert arithmetic.separate_from == ["check_factual"]
    # Then the same person may neither claim nor complete the second check
    with pytest.raises(PermissionDenied) as claimed:
        services.user_task_claim(task=arithmetic, user=admin_tree.auditor_and_finance)
    assert claimed.value.code == "four_eyes"
    with pytest.raises(PermissionDenied) as completed:
        services.user_task_complete(
            task=arithmetic,
            user=admin_tree.auditor_and_finance,
            data={"arithmetically_correct": True},
        )
    assert completed.value.code == "four_eyes"
    # Nor may the monitor delegate it to them
    with pytest.raises(PermissionDenied) as delegated:
        services.user_task_delegate(
            task=arithmetic, user=admin_tree.monitor, to_user=admin_tree.auditor_and_finance
        )
    assert delegated.value.code == "four_eyes"
    assert UserTask.objects.get(pk=arithmetic.pk).assignee is None
    # When a second auditor confirms
    services.user_task_complete(
        task=arithmetic, user=admin_tree.auditor, data={"arithmetically_correct": True}
    )
    assert run_jobs() == ["succeeded"]
    # Then the payment order is issued and both decisions are in the audit trail
    assert handlers.params("einvoice.payment_order") == [{"invoice_number": "RE-2026-17"}]
    instance.refresh_from_db()
    assert instance.state == "completed"
    completed = AuditEvent.objects.filter(action="workflow.task.completed").order_by("pk")
    assert [e.actor_id for e in completed] == [
        admin_tree.auditor_and_finance.pk,
        admin_tree.auditor.pk,
    ]


def test_factually_wrong_invoice_is_rejected(
    admin_tree: Administration, handlers: HandlerLog
) -> None:
    instance = start_invoice(admin_tree)
    services.user_task_complete(
        task=open_task(instance, "check_factual"),
        user=admin_tree.finance,
        data={"factually_correct": False, "factual_comment": "Nicht geliefert."},
    )
    run_jobs()
    assert handlers.names() == ["einvoice.reject"]
    instance.refresh_from_db()
    assert instance.state == "completed"


def test_invoice_of_a_unit_code_that_does_not_exist_is_routable_by_admins(
    admin_tree: Administration,
) -> None:
    instance = start_invoice(admin_tree, unit="FB 99")
    task = open_task(instance, "check_factual")
    assert task.candidate_org_unit is None
    assert list(selectors.user_tasks_unroutable(municipality=admin_tree.municipality)) == [task]
    assert (
        selectors.instance_history(instance=instance)
        .filter(kind="assignment_unresolved", element_id="check_factual")
        .exists()
    )
    # The monitor hands it to someone of the right unit
    with pytest.raises(ValidationFailed):
        services.user_task_delegate(task=task, user=admin_tree.monitor, to_user=admin_tree.finance)


def test_question_to_the_mayor_goes_through_department_and_mayor(
    admin_tree: Administration, handlers: HandlerLog
) -> None:
    # Given a question: the mayor's office assigns it to FB 3
    instance = services.instance_start(
        municipality=admin_tree.municipality,
        process_key="mayor_question",
        variables={"question_id": 7},
    )
    assign = open_task(instance, "assign_department")
    assert assign.candidate_role_key == "buero-ob"
    with pytest.raises(PermissionDenied):
        services.user_task_complete(task=assign, user=admin_tree.clerk, data={"department": "FB 3"})
    services.user_task_complete(task=assign, user=admin_tree.office, data={"department": "FB 3"})
    # Then FB 3 drafts the answer
    draft = open_task(instance, "draft_answer")
    assert draft.candidate_org_unit == admin_tree.units["FB 3"]
    assert draft in selectors.user_tasks_for(user=admin_tree.building)
    assert draft not in selectors.user_tasks_for(user=admin_tree.finance)
    services.user_task_complete(
        task=draft, user=admin_tree.building, data={"answer": "Der Radweg kommt 2027."}
    )
    # When the mayor sends it back with feedback
    approve = open_task(instance, "approve_answer")
    assert approve.candidate_role_key == "buergermeister"
    services.user_task_complete(
        task=approve, user=admin_tree.mayor, data={"approved": False, "feedback": "Genauer."}
    )
    # Then FB 3 drafts again, and after approval the answer is published
    draft = open_task(instance, "draft_answer")
    services.user_task_complete(
        task=draft, user=admin_tree.building, data={"answer": "Der Radweg kommt im Mai 2027."}
    )
    services.user_task_complete(
        task=open_task(instance, "approve_answer"), user=admin_tree.mayor, data={"approved": True}
    )
    assert run_jobs() == ["succeeded"]
    assert handlers.params("fragdenob.publish_answer") == [
        {"answer": "Der Radweg kommt im Mai 2027."}
    ]
    instance.refresh_from_db()
    assert instance.state == "completed"
    assert UserTask.objects.filter(instance=instance, status="completed").count() == 5


def test_completed_task_cannot_be_completed_again(admin_tree: Administration) -> None:
    instance = start_invoice(admin_tree)
    task = open_task(instance, "check_factual")
    services.user_task_complete(
        task=task, user=admin_tree.finance, data={"factually_correct": True}
    )
    with pytest.raises(Conflict) as second:
        services.user_task_complete(
            task=task, user=admin_tree.finance, data={"factually_correct": True}
        )
    assert second.value.code == "task_completed"
