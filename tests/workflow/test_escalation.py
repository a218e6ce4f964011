"""Overdue tasks: a reminder to the assignee or the candidates, then, after the grace
period, an escalation to the unit's leads. Time travels through the services' ``now``."""

from email.header import decode_header, make_header

import pytest
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.notifications import tasks as notification_tasks
from rathaus.notifications.models import Notification
from rathaus.organisation.models import Role
from rathaus.workflow import services
from rathaus.workflow.models import InstanceEvent, ProcessInstance, UserTask
from tests.conftest import SmtpSink
from tests.organisation.factories import RoleFactory, RoleGrantFactory
from tests.workflow.conftest import Administration, later, open_task
from tests.workflow.factories import deploy, linear, staff_with_role, user_task

pytestmark = pytest.mark.django_db

DUE_IN_TWO_DAYS = user_task(
    "check",
    extra=(
        '<rathaus:candidates orgUnit="BB" role="sachbearbeitung"/>'
        '<rathaus:dueDate>"P2D"</rathaus:dueDate>'
    ),
)
NO_UNIT = user_task(
    "anyone", extra='<rathaus:candidates role="buero-ob"/><rathaus:dueDate>"P1D"</rathaus:dueDate>'
)


@pytest.fixture
def lead_role(admin_tree: Administration) -> Role:
    return RoleFactory(municipality=admin_tree.municipality, key="leitung")


@pytest.fixture
def instance(admin_tree: Administration) -> ProcessInstance:
    deploy(admin_tree.municipality, ("due.bpmn", linear(DUE_IN_TWO_DAYS)))
    return services.instance_start(municipality=admin_tree.municipality, process_key="test_process")


def told(event: str) -> list[tuple[int, str]]:
    return sorted(Notification.objects.filter(event=event).values_list("recipient_id", "channel"))


def test_reminder_then_escalation_to_the_nearest_lead(
    admin_tree: Administration, lead_role: Role, instance: ProcessInstance, smtp_server: SmtpSink
) -> None:
    # Given a task of the Bürgerbüro (below FB 1) for clerks, due in two days, a lead of
    # FB 1 (with subunits), a lead of the whole administration and a lead of FB 3
    task = open_task(instance, "check")
    fb1_lead = staff_with_role(lead_role, admin_tree.units["FB 1"])
    staff_with_role(lead_role, admin_tree.root)
    staff_with_role(lead_role, admin_tree.units["FB 3"])
    clerks = sorted([admin_tree.clerk.pk, admin_tree.clerk2.pk])
    User.objects.filter(pk=admin_tree.clerk.pk).update(language="en")
    # When a day passes nothing happens
    assert services.user_tasks_overdue_mark(now=later(days=1)) == 0
    assert services.user_tasks_escalate(now=later(days=1)) == 0
    # When it is overdue, the candidates (FB 1 clerks, granted with subunits) are reminded
    assert services.user_tasks_overdue_mark(now=later(days=2, seconds=60)) == 1
    assert told("workflow.task_overdue") == sorted(
        (pk, channel) for pk in clerks for channel in ("email", "inapp")
    )
    event = InstanceEvent.objects.get(instance=instance, kind="task_overdue")
    assert sorted(event.data["reminded"]) == clerks
    # And the reminder mail goes out, in the recipient's language
    mail = Notification.objects.get(
        event="workflow.task_overdue", recipient=admin_tree.clerk, channel="email"
    )
    assert notification_tasks.notification_deliver.call(notification_id=mail.pk) == "sent"
    [message] = smtp_server.messages
    assert str(make_header(decode_header(message["Subject"]))) == "Task overdue: check"
    due = timezone.localtime(task.due_at).strftime("%d.%m.%Y %H:%M")  # type: ignore[arg-type]
    assert message.get_payload(decode=True).decode().replace("\r\n", "\n") == (  # type: ignore[union-attr]
        "Hello Erika Mustermann,\n\n"
        f"the task “check” of the process “Test” (case {instance.pk}) was due on {due} and is "
        "still open.\n"
        "Nobody has claimed it yet; you are one of the people who may work on it.\n\n"
        "If it stays open, the head of the unit will be told.\n\n"
        f"You find it in the administration under “Tasks” (/verwaltung/aufgaben/{task.pk}/).\n\n"
        "Musterstadt\n"
    )
    # Within the grace period of two more days nobody else is told
    assert services.user_tasks_escalate(now=later(days=3)) == 0
    assert told("workflow.task_escalated") == []
    # After it, the lead of FB 1 (the nearest unit above with a lead) is told, once
    assert services.user_tasks_escalate(now=later(days=4, seconds=120)) == 1
    assert services.user_tasks_escalate(now=later(days=5)) == 0
    assert told("workflow.task_escalated") == [(fb1_lead.pk, "email"), (fb1_lead.pk, "inapp")]
    task.refresh_from_db()
    assert task.escalated_at is not None
    escalated = InstanceEvent.objects.get(instance=instance, kind="task_escalated")
    assert escalated.data == {"task": task.pk, "leads": [fb1_lead.pk]}
    inapp = Notification.objects.get(event="workflow.task_escalated", channel="inapp")
    assert inapp.url == f"/verwaltung/aufgaben/{task.pk}/"


def test_a_claimed_task_reminds_only_its_assignee(
    admin_tree: Administration, instance: ProcessInstance
) -> None:
    task = open_task(instance, "check")
    services.user_task_claim(task=task, user=admin_tree.clerk2)
    assert services.user_tasks_overdue_mark(now=later(days=3)) == 1
    assert told("workflow.task_overdue") == [
        (admin_tree.clerk2.pk, "email"),
        (admin_tree.clerk2.pk, "inapp"),
    ]


def test_a_lead_at_the_unit_itself_wins_and_grants_above_without_subunits_do_not_count(
    admin_tree: Administration, lead_role: Role, instance: ProcessInstance
) -> None:
    # A lead of FB 1 only for FB 1 itself does not lead the Bürgerbüro; the root's lead does
    own = staff_with_role(None, None, municipality=admin_tree.municipality)
    RoleGrantFactory(
        user=own, role=lead_role, org_unit=admin_tree.units["FB 1"], include_subunits=False
    )
    root_lead = staff_with_role(lead_role, admin_tree.root)
    task = open_task(instance, "check")
    assert [u.pk for u in services.user_task_leads(task=task)] == [root_lead.pk]
    # A lead of the Bürgerbüro itself is nearer
    bb_lead = staff_with_role(None, None, municipality=admin_tree.municipality)
    RoleGrantFactory(
        user=bb_lead, role=lead_role, org_unit=admin_tree.units["BB"], include_subunits=False
    )
    assert [u.pk for u in services.user_task_leads(task=task)] == [bb_lead.pk]


def test_a_task_without_unit_escalates_to_the_leads_at_the_root(
    admin_tree: Administration, lead_role: Role
) -> None:
    deploy(admin_tree.municipality, ("any.bpmn", linear(NO_UNIT, process_id="no_unit")))
    instance = services.instance_start(municipality=admin_tree.municipality, process_key="no_unit")
    root_lead = staff_with_role(lead_role, admin_tree.root)
    staff_with_role(lead_role, admin_tree.units["OB"])
    assert services.user_tasks_overdue_mark(now=later(days=1, seconds=60)) == 1
    # the office staff (role buero-ob) got the reminder
    assert told("workflow.task_overdue") == [
        (admin_tree.office.pk, "email"),
        (admin_tree.office.pk, "inapp"),
    ]
    assert services.user_tasks_escalate(now=later(days=3, seconds=120)) == 1
    assert told("workflow.task_escalated") == [(root_lead.pk, "email"), (root_lead.pk, "inapp")]
    assert UserTask.objects.get(instance=instance).escalated_at is not None


def test_without_any_lead_the_task_is_still_marked_once(
    admin_tree: Administration, instance: ProcessInstance
) -> None:
    services.user_tasks_overdue_mark(now=later(days=3))
    assert services.user_tasks_escalate(now=later(days=5)) == 1
    assert services.user_tasks_escalate(now=later(days=6)) == 0
    event = InstanceEvent.objects.get(instance=instance, kind="task_escalated")
    assert event.data["leads"] == []
    assert told("workflow.task_escalated") == []


def test_completed_tasks_are_not_escalated_and_inactive_people_not_told(
    admin_tree: Administration, lead_role: Role, instance: ProcessInstance
) -> None:
    lead = staff_with_role(lead_role, admin_tree.units["FB 1"])
    User.objects.filter(pk=admin_tree.clerk2.pk).update(is_active=False)
    services.user_tasks_overdue_mark(now=later(days=3))
    assert told("workflow.task_overdue") == [
        (admin_tree.clerk.pk, "email"),
        (admin_tree.clerk.pk, "inapp"),
    ]
    services.user_task_complete(task=open_task(instance, "check"), user=admin_tree.clerk, data={})
    assert services.user_tasks_escalate(now=later(days=10)) == 0
    assert not Notification.objects.filter(recipient=lead).exists()


def test_the_tick_escalates(
    admin_tree: Administration, lead_role: Role, instance: ProcessInstance
) -> None:
    from rathaus.workflow.tasks import workflow_tick

    UserTask.objects.filter(instance=instance).update(due_at=later(days=-3))
    assert workflow_tick.call() == {"timers": 0, "jobs": 0, "overdue": 1, "escalated": 1}


def test_a_municipality_may_choose_a_longer_grace_period(
    admin_tree: Administration,
    lead_role: Role,
    instance: ProcessInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rathaus.core import municipal_settings

    # Until core lists the setting, the default of two days applies
    assert services.escalation_grace(admin_tree.municipality).days == 2
    monkeypatch.setitem(
        municipal_settings.SPECS,
        services.ESCALATION_SETTING,
        municipal_settings.SettingSpec(services.ESCALATION_SETTING, "grace", 2, 1, 30),
    )
    admin_tree.municipality.settings = {services.ESCALATION_SETTING: 5}
    admin_tree.municipality.save(update_fields=["settings"])
    services.user_tasks_overdue_mark(now=later(days=3))
    assert services.user_tasks_escalate(now=later(days=5)) == 0
    assert services.user_tasks_escalate(now=later(days=7, seconds=120)) == 1
