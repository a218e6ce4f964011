"""Human tasks: the inbox, claiming, delegating, completing with validated form data."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rathaus.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from rathaus.core.models import Municipality
from rathaus.workflow import access, selectors, services
from rathaus.workflow.models import InstanceEvent, ProcessInstance, UserTask
from tests.factories import StaffFactory
from tests.workflow.conftest import Administration, open_task
from tests.workflow.factories import deploy, linear, user_task

pytestmark = pytest.mark.django_db

FORM = user_task(
    "enter",
    fields=(
        '<rathaus:field id="amount" type="integer" label="Amount" required="true"'
        ' min="0" max="1000"/>'
        '<rathaus:field id="rate" type="number" max="1.5"/>'
        '<rathaus:field id="when" type="date"/>'
        '<rathaus:field id="email" type="email"/>'
        '<rathaus:field id="ok" type="boolean"/>'
        '<rathaus:field id="title" type="string" maxLength="10"/>'
        '<rathaus:field id="kind" type="enum">'
        '<rathaus:option value="a"/><rathaus:option value="b"/>'
        "</rathaus:field>"
    ),
    extra='<rathaus:candidates orgUnit="FB 1" role="sachbearbeitung"/>',
)


@pytest.fixture
def form_instance(admin_tree: Administration) -> ProcessInstance:
    deploy(admin_tree.municipality, ("form.bpmn", linear(FORM)))
    return services.instance_start(municipality=admin_tree.municipality, process_key="test_process")


def test_task_candidates_from_the_model(
    admin_tree: Administration, form_instance: ProcessInstance
) -> None:
    task = open_task(form_instance, "enter")
    assert (task.candidate_org_unit, task.candidate_role_key) == (
        admin_tree.units["FB 1"],
        "sachbearbeitung",
    )
    assert selectors.user_is_candidate(user=admin_tree.clerk, task=task)
    # The role at another unit, or another role at the unit, does not qualify
    assert not selectors.user_is_candidate(user=admin_tree.finance, task=task)
    assert not selectors.user_is_candidate(user=admin_tree.auditor, task=task)
    assert not selectors.user_is_candidate(user=admin_tree.outsider, task=task)


def test_wrong_types_are_reported_per_field_and_the_task_stays_open(
    admin_tree: Administration, form_instance: ProcessInstance
) -> None:
    task = open_task(form_instance, "enter")
    with pytest.raises(ValidationFailed) as refused:
        services.user_task_complete(
            task=task,
            user=admin_tree.clerk,
            data={
                "amount": "12",
                "rate": 2,
                "when": "31.12.2026",
                "email": "nope",
                "ok": "yes",
                "title": "x" * 11,
                "kind": "c",
                "is_admin": True,
            },
        )
    assert set(refused.value.fields) == {
        "amount",
        "rate",
        "when",
        "email",
        "ok",
        "title",
        "kind",
        "is_admin",
    }
    with pytest.raises(ValidationFailed) as missing:
        services.user_task_complete(task=task, user=admin_tree.clerk, data={})
    assert list(missing.value.fields) == ["amount"]
    with pytest.raises(ValidationFailed):
        services.user_task_complete(task=task, user=admin_tree.clerk, data=["not", "a", "dict"])  # type: ignore[arg-type]
    # Nothing changed
    assert UserTask.objects.get(pk=task.pk).status == "open"
    assert not InstanceEvent.objects.filter(kind="task_completed").exists()


def test_json_and_html_form_data_are_cleaned(
    admin_tree: Administration, form_instance: ProcessInstance
) -> None:
    task = open_task(form_instance, "enter")
    services.user_task_complete(
        task=task,
        user=admin_tree.clerk,
        data={"amount": "12", "rate": "1,25", "when": "2026-12-31", "ok": "on", "kind": "b"},
        from_strings=True,
    )
    form_instance.refresh_from_db()
    assert {
        k: form_instance.variables[k] for k in ("amount", "rate", "when", "ok", "kind", "email")
    } == {
        "amount": 12,
        "rate": 1.25,
        "when": "2026-12-31",
        "ok": True,
        "kind": "b",
        "email": None,
    }


def test_claim_unclaim_and_delegate(
    admin_tree: Administration, form_instance: ProcessInstance
) -> None:
    task = open_task(form_instance, "enter")
    # The outsider may not claim; the clerk may
    with pytest.raises(PermissionDenied):
        services.user_task_claim(task=task, user=admin_tree.outsider)
    services.user_task_claim(task=task, user=admin_tree.clerk)
    task.refresh_from_db()
    assert task.assignee == admin_tree.clerk
    # The second clerk no longer sees it and cannot take it
    assert task not in selectors.user_tasks_for(user=admin_tree.clerk2)
    assert list(selectors.user_tasks_for(user=admin_tree.clerk)) == [task]
    with pytest.raises(Conflict):
        services.user_task_claim(task=task, user=admin_tree.clerk2)
    with pytest.raises(Conflict):
        services.user_task_complete(task=task, user=admin_tree.clerk2, data={"amount": 1})
    with pytest.raises(PermissionDenied):
        services.user_task_unclaim(task=task, user=admin_tree.clerk2)
    # The clerk hands it to the colleague, who is a candidate; not to an outsider
    with pytest.raises(ValidationFailed):
        services.user_task_delegate(task=task, user=admin_tree.clerk, to_user=admin_tree.outsider)
    services.user_task_delegate(task=task, user=admin_tree.clerk, to_user=admin_tree.clerk2)
    task.refresh_from_db()
    assert task.assignee == admin_tree.clerk2
    services.user_task_unclaim(task=task, user=admin_tree.clerk2)
    task.refresh_from_db()
    assert task.assignee is None
    assert task in selectors.user_tasks_for(user=admin_tree.clerk)
    kinds = list(
        InstanceEvent.objects.filter(instance=form_instance, kind__startswith="task_").values_list(
            "kind", flat=True
        )
    )
    assert kinds == ["task_opened", "task_claimed", "task_delegated", "task_unclaimed"]


def test_delegating_to_another_tenants_staff_is_not_found(
    admin_tree: Administration, form_instance: ProcessInstance, other_municipality: Municipality
) -> None:
    task = open_task(form_instance, "enter")
    stranger = StaffFactory(municipality=other_municipality, is_superuser=True)
    with pytest.raises(NotFound):
        services.user_task_delegate(task=task, user=admin_tree.monitor, to_user=stranger)
    with pytest.raises(PermissionDenied):
        services.user_task_complete(task=task, user=stranger, data={"amount": 1})
    assert UserTask.objects.get(pk=task.pk).assignee is None


def test_access_scopes_tasks_by_tenant_and_person(
    admin_tree: Administration, form_instance: ProcessInstance, other_municipality: Municipality
) -> None:
    task = open_task(form_instance, "enter")
    assert access.user_task_for_user(user=admin_tree.clerk, task_id=task.pk) == task
    assert access.user_task_for_user(user=admin_tree.monitor, task_id=task.pk) == task
    # Another unit's task is not found (ids are sequential; existence is not revealed)
    with pytest.raises(NotFound):
        access.user_task_for_user(user=admin_tree.finance, task_id=task.pk)
    stranger = StaffFactory(municipality=other_municipality, is_superuser=True)
    with pytest.raises(NotFound):
        access.user_task_for_user(user=stranger, task_id=task.pk)
    with pytest.raises(NotFound):
        access.instance_for_monitor(user=stranger, instance_id=form_instance.pk)
    with pytest.raises(PermissionDenied):
        access.instance_for_monitor(user=admin_tree.clerk, instance_id=form_instance.pk)
    assert access.instance_for_monitor(user=admin_tree.monitor, instance_id=form_instance.pk) == (
        form_instance
    )
    with pytest.raises(NotFound):
        access.user_task_for_user(user=admin_tree.clerk, task_id=999_999)


def test_inbox_query_count_does_not_grow_with_tasks(
    admin_tree: Administration, form_instance: ProcessInstance
) -> None:
    for _ in range(5):
        services.instance_start(municipality=admin_tree.municipality, process_key="test_process")
    clerk = admin_tree.clerk
    with CaptureQueriesContext(connection) as queries:
        tasks = list(selectors.user_tasks_for(user=clerk))
        names = [(t.instance.version.definition.key, t.candidate_org_unit.code) for t in tasks]  # type: ignore[union-attr]
    assert len(tasks) == 6
    assert names[0] == ("test_process", "FB 1")
    # permissions (grants, role permissions, subunits), grants, units below, the tasks
    assert len(queries) == 6
    assert all("engine_state" not in q["sql"] for q in queries.captured_queries)


def test_monitor_sees_every_open_task_only_as_superuser(
    admin_tree: Administration, form_instance: ProcessInstance
) -> None:
    superuser = StaffFactory(municipality=admin_tree.municipality, is_superuser=True)
    assert list(selectors.user_tasks_for(user=superuser)) == [open_task(form_instance, "enter")]
    assert list(selectors.user_tasks_for(user=admin_tree.monitor)) == []
    assert list(selectors.user_tasks_for(user=admin_tree.outsider)) == []
