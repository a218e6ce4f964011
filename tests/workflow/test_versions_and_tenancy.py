"""Immutable versions, the default version, version pinning and tenant isolation."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rathaus.audit.models import AuditEvent
from rathaus.core.errors import NotFound, PermissionDenied, ValidationFailed
from rathaus.core.models import Municipality
from rathaus.workflow import selectors, services
from rathaus.workflow.models import ProcessDefinition, ProcessInstance, ProcessVersion, UserTask
from tests.factories import AccessibilityFeedbackFactory, StaffFactory
from tests.workflow.conftest import Administration, HandlerLog, open_elements, open_task
from tests.workflow.factories import deploy, linear, user_task

pytestmark = pytest.mark.django_db

V1 = linear(user_task("first"))
V2 = linear(user_task("second"))


def test_versions_are_numbered_deduplicated_and_audited(municipality: Municipality) -> None:
    first = deploy(municipality, ("p.bpmn", V1))
    again = deploy(municipality, ("p.bpmn", V1))
    second = deploy(municipality, ("p.bpmn", V2))
    assert (first.number, again.pk, second.number) == (1, first.pk, 2)
    assert first.definition == second.definition
    assert first.definition.key == "test_process"
    assert [s.name for s in second.sources.all()] == ["p.bpmn"]
    assert list(ProcessVersion.objects.filter(is_default=True)) == [second]
    deployed = AuditEvent.objects.filter(action="workflow.process.deployed")
    assert [e.data["version"] for e in deployed.order_by("pk")] == [1, 2]


def test_running_instances_keep_their_version(
    municipality: Municipality, admin_tree: Administration
) -> None:
    worker = StaffFactory(municipality=municipality, is_superuser=True)
    first = deploy(municipality, ("p.bpmn", V1))
    old = services.instance_start(municipality=municipality, process_key="test_process")
    # When a new version becomes the default
    second = deploy(municipality, ("p.bpmn", V2))
    new = services.instance_start(municipality=municipality, process_key="test_process")
    # Then the old instance runs on with its own version, the new one with the new
    assert (old.version, new.version) == (first, second)
    assert open_elements(old) == ["first"]
    assert open_elements(new) == ["second"]
    services.user_task_complete(task=open_task(old, "first"), user=worker, data={})
    old.refresh_from_db()
    assert old.state == "completed"
    # And an administrator can switch the default back
    with pytest.raises(PermissionDenied):
        services.process_version_make_default(version=first, user=admin_tree.clerk)
    services.process_version_make_default(version=first, user=admin_tree.monitor)
    newest = services.instance_start(municipality=municipality, process_key="test_process")
    assert newest.version == first
    assert list(ProcessVersion.objects.filter(is_default=True)) == [first]


def test_deploy_without_making_default(municipality: Municipality) -> None:
    first = deploy(municipality, ("p.bpmn", V1), make_default=False)
    assert first.is_default  # the only version is the default anyway
    second = deploy(municipality, ("p.bpmn", V2), make_default=False)
    assert not second.is_default
    started = services.instance_start(municipality=municipality, process_key="test_process")
    assert started.version == first


def test_definitions_and_instances_are_per_tenant(
    municipality: Municipality, other_municipality: Municipality
) -> None:
    deploy(municipality, ("p.bpmn", V1))
    with pytest.raises(NotFound):
        services.instance_start(municipality=other_municipality, process_key="test_process")
    # The other tenant deploys its own version 1 of the same key
    theirs = deploy(other_municipality, ("p.bpmn", V2))
    assert theirs.number == 1
    assert ProcessDefinition.objects.filter(key="test_process").count() == 2
    ours = services.instance_start(municipality=municipality, process_key="test_process")
    assert open_elements(ours) == ["first"]
    assert [
        d.key for d, v in selectors.process_definition_list(municipality=other_municipality)
    ] == ["test_process"]


def test_business_objects_and_messages_stay_in_their_tenant(
    municipality: Municipality, other_municipality: Municipality
) -> None:
    model = linear(
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="m"/>'
        "</bpmn:intermediateCatchEvent>",
        head='<bpmn:message id="m" name="documents_received"/>',
    )
    deploy(municipality, ("m.bpmn", model))
    deploy(other_municipality, ("m.bpmn", model))
    ours = AccessibilityFeedbackFactory(municipality=municipality)
    theirs = AccessibilityFeedbackFactory(municipality=other_municipality)
    with pytest.raises(ValidationFailed):
        services.instance_start(
            municipality=municipality, process_key="test_process", business_object=theirs
        )
    mine = services.instance_start(
        municipality=municipality,
        process_key="test_process",
        business_object=ours,
        variables={"case": "A-1"},
    )
    other = services.instance_start(
        municipality=other_municipality, process_key="test_process", variables={"case": "A-1"}
    )
    # A correlation in the other tenant does not reach our instance
    assert (
        services.message_correlate(
            municipality=other_municipality,
            message_name="documents_received",
            correlation={"case": "A-1"},
        )
        == 1
    )
    mine.refresh_from_db()
    other.refresh_from_db()
    assert (mine.state, other.state) == ("waiting", "completed")
    with pytest.raises(ValidationFailed):
        services.message_correlate(
            municipality=municipality, message_name="documents_received", business_object=theirs
        )
    with pytest.raises(ValidationFailed):
        services.message_correlate(municipality=municipality, message_name="documents_received")
    with pytest.raises(ValidationFailed):
        services.message_correlate(
            municipality=municipality,
            message_name="documents_received",
            correlation={"case__in": ["x"]},
        )
    assert list(
        selectors.instances_for_business_object(municipality=municipality, business_object=ours)
    ) == [mine]


@pytest.mark.parametrize(
    "variables",
    [
        {"_private": 1},
        {"date": "2026-01-01"},
        {"1st": 1},
        {"blob": "x" * 300_000},
        {"values": {1, 2}},
    ],
)
def test_unusable_start_variables_are_refused(municipality: Municipality, variables: dict) -> None:
    deploy(municipality, ("p.bpmn", V1))
    with pytest.raises(ValidationFailed):
        services.instance_start(
            municipality=municipality, process_key="test_process", variables=variables
        )
    assert not ProcessInstance.objects.exists()
    assert not UserTask.objects.exists()


def test_deploy_shipped_command(municipality: Municipality, handlers: HandlerLog) -> None:
    out = StringIO()
    call_command("workflow", "deploy-shipped", "--municipality", "musterstadt", stdout=out)
    assert out.getvalue().splitlines() == [
        "generic_application: version 1 (default)",
        "invoice_approval: version 1 (default)",
        "mayor_question: version 1 (default)",
    ]
    # Running it again changes nothing
    call_command("workflow", "deploy-shipped", "--municipality", "musterstadt", stdout=StringIO())
    assert ProcessVersion.objects.count() == 3
    with pytest.raises(CommandError, match="unknown municipality"):
        call_command("workflow", "deploy-shipped", "--municipality", "nowhere")


def test_tick_command(municipality: Municipality) -> None:
    out = StringIO()
    call_command("workflow", "tick", stdout=out)
    assert out.getvalue().strip() == "timers: 0, jobs: 0, overdue: 0, escalated: 0"


def test_only_process_managers_of_the_municipality_deploy(
    admin_tree: Administration, other_municipality: Municipality
) -> None:
    municipality = admin_tree.municipality
    with pytest.raises(PermissionDenied):
        deploy(municipality, ("p.bpmn", V1), deployed_by=admin_tree.clerk)
    stranger = StaffFactory(municipality=other_municipality, is_superuser=True)
    with pytest.raises(PermissionDenied):
        deploy(municipality, ("p.bpmn", V1), deployed_by=stranger)
    assert not ProcessVersion.objects.exists()
    version = deploy(municipality, ("p.bpmn", V1), deployed_by=admin_tree.monitor)
    assert version.deployed_by == admin_tree.monitor
    assert AuditEvent.objects.get(action="workflow.process.deployed").actor_id == (
        admin_tree.monitor.pk
    )
