"""The task inbox and a task's page: visibility, claim, unclaim, complete, delegate, comment,
with hostile input. Nothing changes when a request is refused."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.workflow import services
from rathaus.workflow.models import InstanceEvent, ProcessInstance, TaskComment, UserTask
from tests.conftest import strong_login
from tests.factories import StaffFactory
from tests.workflow.conftest import Administration, later, open_task
from tests.workflow.factories import deploy, linear, user_task

pytestmark = pytest.mark.django_db

FORM = user_task(
    "enter",
    fields=(
        '<rathaus:field id="amount" type="integer" label="Amount" required="true"'
        ' min="0" max="1000" help="Whole euros"/>'
        '<rathaus:field id="when" type="date" label="Date"/>'
        '<rathaus:field id="ok" type="boolean" label="Checked" required="true"/>'
        '<rathaus:field id="note" type="text" label="Note" maxLength="50"/>'
        '<rathaus:field id="kind" type="enum" label="Kind">'
        '<rathaus:option value="a" label="A"/><rathaus:option value="b" label="B"/>'
        "</rathaus:field>"
    ),
    extra=(
        '<rathaus:candidates orgUnit="FB 1" role="sachbearbeitung"/>'
        '<rathaus:dueDate>"P2D"</rathaus:dueDate>'
    ),
)
UNIT_TASK = user_task("unit_step", extra='<rathaus:candidates orgUnit="FB 3"/>')
ROLE_TASK = user_task("role_step", extra='<rathaus:candidates role="buero-ob"/>')
FOUR_EYES = linear(
    user_task("first", extra='<rathaus:candidates orgUnit="FB 2" role="sachbearbeitung"/>'),
    user_task(
        "second",
        extra=(
            '<rathaus:candidates role="rechnungspruefung"/>'
            "<rathaus:separateFrom>first</rathaus:separateFrom>"
        ),
    ),
    process_id="four_eyes",
)


def start(admin: Administration, key: str = "test_process") -> ProcessInstance:
    return services.instance_start(municipality=admin.municipality, process_key=key)


@pytest.fixture
def form_instance(admin_tree: Administration) -> ProcessInstance:
    deploy(admin_tree.municipality, ("form.bpmn", linear(FORM)))
    return start(admin_tree)


def signed_in(user: User, host: str = "testserver") -> Client:
    """A browser signed in as ``user`` (with a second factor), reading English pages."""
    client = Client(HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE="en")
    strong_login(client, user)
    return client


def task_url(task: UserTask, action: str = "") -> str:
    if not action:
        return reverse("workflow:task_detail", args=[task.pk])
    return reverse(f"workflow:task_{action}", args=[task.pk])


def valid_form(**overrides: str) -> dict[str, str]:
    data = {"f-amount": "12", "f-when": "2026-05-01", "f-ok": "true", "f-note": "", "f-kind": "a"}
    data.update(overrides)
    return data


def events(instance: ProcessInstance) -> list[str]:
    return list(
        InstanceEvent.objects.filter(instance=instance)
        .exclude(kind="element_completed")
        .order_by("pk")
        .values_list("kind", flat=True)
    )


# --- the inbox ---------------------------------------------------------------------------


def test_inbox_shows_tasks_for_me_my_roles_and_my_units_only(
    admin_tree: Administration,
) -> None:
    # Given a task for FB 1 clerks, one for FB 3 (by unit) and one for the mayor's office role
    deploy(admin_tree.municipality, ("form.bpmn", linear(FORM)))
    deploy(admin_tree.municipality, ("unit.bpmn", linear(UNIT_TASK, process_id="unit_p")))
    deploy(admin_tree.municipality, ("role.bpmn", linear(ROLE_TASK, process_id="role_p")))
    form_task = open_task(start(admin_tree), "enter")
    unit_task = open_task(start(admin_tree, "unit_p"), "unit_step")
    role_task = open_task(start(admin_tree, "role_p"), "role_step")

    def listed(user: User, **query: str) -> list[int]:
        response = signed_in(user).get(reverse("workflow:inbox"), query)
        assert response.status_code == 200
        return [task.pk for task in response.context["page"].object_list]

    # Then each person sees what their role or unit offers, nothing else
    assert listed(admin_tree.clerk) == [form_task.pk]
    assert listed(admin_tree.building) == [unit_task.pk]
    assert listed(admin_tree.office) == [role_task.pk]
    assert listed(admin_tree.office, zeigen="roles") == [role_task.pk]
    assert listed(admin_tree.office, zeigen="units") == []
    assert listed(admin_tree.building, zeigen="units") == [unit_task.pk]
    assert listed(admin_tree.building, zeigen="roles") == []
    # And a claimed task leaves the others' inbox and shows under "mine"
    services.user_task_claim(task=form_task, user=admin_tree.clerk)
    assert listed(admin_tree.clerk, zeigen="mine") == [form_task.pk]
    assert listed(admin_tree.clerk2) == []
    # And a nonsense filter falls back to everything
    assert listed(admin_tree.clerk, zeigen="<script>", sortierung="x" * 5000) == [form_task.pk]


def test_inbox_filters_overdue_sorts_by_due_date_and_pages(admin_tree: Administration) -> None:
    # Given 27 tasks, one of them overdue
    deploy(admin_tree.municipality, ("form.bpmn", linear(FORM)))
    instances = [start(admin_tree) for _ in range(27)]
    late = open_task(instances[5], "enter")
    UserTask.objects.filter(pk=late.pk).update(due_at=later(days=-1))
    client = signed_in(admin_tree.clerk)
    # When the clerk looks at the overdue ones
    response = client.get(reverse("workflow:inbox"), {"zeigen": "overdue"})
    # Then only that one shows, marked in text (not only by colour)
    assert [t.pk for t in response.context["page"].object_list] == [late.pk]
    assert "overdue" in response.content.decode()
    # And all tasks come by due date, 25 a page, the overdue one first
    first = client.get(reverse("workflow:inbox"))
    assert first.context["page"].object_list[0].pk == late.pk
    assert len(first.context["page"].object_list) == 25
    second = client.get(reverse("workflow:inbox"), {"seite": "2"})
    assert len(second.context["page"].object_list) == 2
    assert 'rel="prev"' in second.content.decode()
    # And "newest first" turns it round
    newest = client.get(reverse("workflow:inbox"), {"sortierung": "new"})
    assert newest.context["page"].object_list[0].instance_id == instances[-1].pk


def test_inbox_query_count_does_not_grow_with_the_tasks(admin_tree: Administration) -> None:
    deploy(admin_tree.municipality, ("form.bpmn", linear(FORM)))
    start(admin_tree)
    client = signed_in(admin_tree.clerk)
    client.get(reverse("workflow:inbox"))  # warm the content type and session caches

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("workflow:inbox")).status_code == 200
        return len(queries)

    few = count()
    for _ in range(10):
        start(admin_tree)
    assert count() == few
    # session, user, the second-factor check (privileged grants), the page gate's and the
    # menu's permissions (grants, role permissions, units below; Django's user and group
    # permissions), the inbox's grants and units below, the count and the page of tasks
    assert few == 12


def test_inbox_htmx_request_gets_only_the_results(admin_tree: Administration) -> None:
    deploy(admin_tree.municipality, ("form.bpmn", linear(FORM)))
    start(admin_tree)
    response = signed_in(admin_tree.clerk).get(
        reverse("workflow:inbox"), {"zeigen": "all"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>" not in body
    assert 'id="inbox-heading"' in body


def test_inbox_needs_the_work_permission(admin_tree: Administration, client: Client) -> None:
    assert client.get(reverse("workflow:inbox")).status_code == 302
    assert signed_in(admin_tree.outsider).get(reverse("workflow:inbox")).status_code == 403


# --- seeing a task ------------------------------------------------------------------------


def test_task_page_shows_the_case_the_form_and_the_history(
    admin_tree: Administration, form_instance: ProcessInstance
) -> None:
    task = open_task(form_instance, "enter")
    response = signed_in(admin_tree.clerk).get(task_url(task))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Test (version 1)" in body
    assert f"{form_instance.pk} · waiting" in body
    # The form: labels, help linked, required marked, choices for yes/no and the enum
    assert '<label for="id_f-amount">Amount <span class="required">(required)</span>' in body
    assert 'aria-describedby="id_f-amount_help"' in body
    assert '<option value="true">Yes</option>' in body
    assert '<option value="b">B</option>' in body
    # History and actions
    assert "Case started" in body
    assert "Task opened" in body
    assert "Claim</button>" in body
    assert response.context["can_complete"] is True


def test_another_units_task_and_another_tenants_task_are_not_found(
    admin_tree: Administration, form_instance: ProcessInstance, other_municipality: Municipality
) -> None:
    task = open_task(form_instance, "enter")
    # Staff of FB 3 (another unit) cannot open or act on it
    building = signed_in(admin_tree.building)
    assert building.get(task_url(task)).status_code == 404
    for action in ("claim", "unclaim", "complete", "delegate", "comment"):
        assert building.post(task_url(task, action), valid_form()).status_code == 404
    # Staff of another municipality neither, even a superuser
    stranger = StaffFactory(municipality=other_municipality, is_superuser=True)
    other = signed_in(stranger, host="beispielheim.localhost")
    assert other.get(task_url(task)).status_code == 404
    assert other.post(task_url(task, "claim")).status_code == 404
    # Unknown ids too
    assert building.get(reverse("workflow:task_detail", args=[999_999])).status_code == 404
    # Nothing changed
    assert UserTask.objects.get(pk=task.pk).assignee_id is None
    assert events(form_instance) == ["started", "task_opened"]


# --- claiming -----------------------------------------------------------------------------


def test_claim_and_give_back(admin_tree: Administration, form_instance: ProcessInstance) -> None:
    task = open_task(form_instance, "enter")
    clerk = signed_in(admin_tree.clerk)
    response = clerk.post(task_url(task, "claim"))
    assert response.status_code == 302
    assert response["Location"] == task_url(task)
    assert UserTask.objects.get(pk=task.pk).assignee == admin_tree.clerk
    # A colleague sees it is taken and cannot claim it (409, with the reason)
    colleague = signed_in(admin_tree.clerk2)
    refused = colleague.post(task_url(task, "claim"))
    assert refused.status_code == 409
    assert "Someone else has claimed this task." in refused.content.decode()
    assert colleague.post(task_url(task, "unclaim")).status_code == 403
    # The clerk gives it back
    assert clerk.post(task_url(task, "unclaim")).status_code == 302
    assert UserTask.objects.get(pk=task.pk).assignee_id is None
    assert events(form_instance) == ["started", "task_opened", "task_claimed", "task_unclaimed"]
    # GET does not change anything
    assert clerk.get(task_url(task, "claim")).status_code == 405


# --- completing ---------------------------------------------------------------------------


def test_complete_with_the_form_moves_the_case_on(
    admin_tree: Administration, form_instance: ProcessInstance
) -> None:
    task = open_task(form_instance, "enter")
    response = signed_in(admin_tree.clerk).post(
        task_url(task, "complete"), valid_form(**{"f-note": "fine"})
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("workflow:inbox")
    task.refresh_from_db()
    form_instance.refresh_from_db()
    assert (task.status, task.completed_by) == ("completed", admin_tree.clerk)
    assert form_instance.state == "completed"
    assert form_instance.variables["amount"] == 12
    assert form_instance.variables["ok"] is True
    assert form_instance.variables["note"] == "fine"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("f-amount", "twelve", "Enter a whole number."),
        ("f-amount", "5000", "Enter at most 1000."),
        ("f-amount", "", "This field is required."),
        ("f-when", "01.05.2026", "Enter a date as YYYY-MM-DD."),
        ("f-ok", "maybe", "Select a valid choice. maybe is not one of the available choices."),
        ("f-ok", "", "This field is required."),
        ("f-kind", "c", "Select a valid choice. c is not one of the available choices."),
        ("f-note", "x" * 51, "Enter at most 50 characters."),
        ("f-note", "a\x00b", "Null characters are not allowed."),
    ],
)
def test_wrong_input_gives_field_errors_and_keeps_the_input(
    admin_tree: Administration,
    form_instance: ProcessInstance,
    field: str,
    value: str,
    message: str,
) -> None:
    task = open_task(form_instance, "enter")
    response = signed_in(admin_tree.clerk).post(
        task_url(task, "complete"), valid_form(**{field: value})
    )
    assert response.status_code == 400
    form = response.context["task_form"]
    assert form.errors[field[2:]] == [message]
    body = response.content.decode()
    # The error is linked to the field and listed in the summary; the input stays
    assert f'id="id_{field}_error"' in body
    assert f'href="#id_{field}"' in body
    assert 'value="2026-05-01"' in body or field == "f-when"
    assert UserTask.objects.get(pk=task.pk).status == "open"
    assert events(form_instance) == ["started", "task_opened"]


def test_completing_a_task_claimed_by_someone_else_is_a_conflict(
    admin_tree: Administration, form_instance: ProcessInstance
) -> None:
    task = open_task(form_instance, "enter")
    services.user_task_claim(task=task, user=admin_tree.clerk2)
    response = signed_in(admin_tree.clerk).post(task_url(task, "complete"), valid_form())
    assert response.status_code == 409
    assert "Someone else has claimed this task." in response.content.decode()
    task.refresh_from_db()
    assert (task.status, task.assignee) == ("open", admin_tree.clerk2)


def test_double_submit_completes_once(
    admin_tree: Administration, form_instance: ProcessInstance
) -> None:
    task = open_task(form_instance, "enter")
    clerk = signed_in(admin_tree.clerk)
    assert clerk.post(task_url(task, "complete"), valid_form()).status_code == 302
    again = clerk.post(task_url(task, "complete"), valid_form(**{"f-amount": "999"}), follow=True)
    assert again.status_code == 200
    assert "You have already completed this task." in again.content.decode()
    form_instance.refresh_from_db()
    assert form_instance.variables["amount"] == 12
    assert InstanceEvent.objects.filter(instance=form_instance, kind="task_completed").count() == 1
    # A colleague who tries afterwards learns that it is done
    late = signed_in(admin_tree.clerk2).post(task_url(task, "complete"), valid_form())
    assert late.status_code == 409
    assert "This task has already been completed by someone else." in late.content.decode()


def test_four_eyes_refusal_is_shown(admin_tree: Administration) -> None:
    deploy(admin_tree.municipality, ("four.bpmn", FOUR_EYES))
    instance = start(admin_tree, "four_eyes")
    both = admin_tree.auditor_and_finance
    services.user_task_complete(task=open_task(instance, "first"), user=both, data={})
    second = open_task(instance, "second")
    client = signed_in(both)
    response = client.post(task_url(second, "complete"), {})
    assert response.status_code == 403
    assert "Four-eyes principle" in response.content.decode()
    assert client.post(task_url(second, "claim")).status_code == 403
    assert UserTask.objects.get(pk=second.pk).status == "open"
    # Someone else may
    assert signed_in(admin_tree.auditor).post(task_url(second, "complete"), {}).status_code == 302


# --- delegating ---------------------------------------------------------------------------


def test_delegate_to_a_colleague_who_is_a_candidate(
    admin_tree: Administration, form_instance: ProcessInstance
) -> None:
    task = open_task(form_instance, "enter")
    services.user_task_claim(task=task, user=admin_tree.clerk)
    client = signed_in(admin_tree.clerk)
    page = client.get(task_url(task))
    offered = [choice[0] for choice in page.context["delegate_form"].fields["to_user"].choices]
    # Only candidates are offered: the other FB 1 clerk, not FB 3 or the auditor
    assert admin_tree.clerk2.pk in offered
    assert admin_tree.building.pk not in offered
    assert admin_tree.clerk.pk not in offered
    # Someone who is no candidate is refused as a field error
    refused = client.post(task_url(task, "delegate"), {"delegate-to_user": admin_tree.building.pk})
    assert refused.status_code == 400
    assert "Select a valid choice." in refused.content.decode()
    for hostile in ("abc", "", "-1", "9" * 30):
        assert (
            client.post(task_url(task, "delegate"), {"delegate-to_user": hostile}).status_code
            == 400
        )
    assert UserTask.objects.get(pk=task.pk).assignee == admin_tree.clerk
    # A candidate gets it
    done = client.post(task_url(task, "delegate"), {"delegate-to_user": admin_tree.clerk2.pk})
    assert done.status_code == 302
    assert UserTask.objects.get(pk=task.pk).assignee == admin_tree.clerk2
    # And the former assignee can no longer pass it on
    again = client.post(task_url(task, "delegate"), {"delegate-to_user": admin_tree.clerk.pk})
    assert again.status_code == 403


# --- comments -----------------------------------------------------------------------------


def test_comment_is_added_and_escaped(
    admin_tree: Administration, form_instance: ProcessInstance
) -> None:
    task = open_task(form_instance, "enter")
    client = signed_in(admin_tree.clerk)
    response = client.post(task_url(task, "comment"), {"comment-text": "<b>Rückfrage</b> beim Amt"})
    assert response.status_code == 302
    comment = TaskComment.objects.get(task=task)
    assert (comment.author, comment.text) == (admin_tree.clerk, "<b>Rückfrage</b> beim Amt")
    page = client.get(task_url(task)).content.decode()
    assert "&lt;b&gt;Rückfrage&lt;/b&gt; beim Amt" in page
    assert "Comment added" in page
    # With htmx only the comment section comes back
    partial = client.post(
        task_url(task, "comment"), {"comment-text": "Zweiter"}, headers={"HX-Request": "true"}
    )
    assert partial.status_code == 200
    assert partial.content.decode().startswith('<section id="kommentare"')
    assert TaskComment.objects.filter(task=task).count() == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "This field is required."),
        ("   ", "This field is required."),
        ("x" * 4001, "Ensure this value has at most 4000 characters (it has 4001)."),
        ("x" * 1_000_000, "Ensure this value has at most 4000 characters (it has 1000000)."),
    ],
)
def test_bad_comments_are_refused(
    admin_tree: Administration, form_instance: ProcessInstance, text: str, message: str
) -> None:
    task = open_task(form_instance, "enter")
    response = signed_in(admin_tree.clerk).post(task_url(task, "comment"), {"comment-text": text})
    assert response.status_code == 400
    assert response.context["comment_form"].errors["text"] == [message]
    assert not TaskComment.objects.exists()


def test_comment_service_refuses_strangers_and_bad_text(
    admin_tree: Administration, form_instance: ProcessInstance, other_municipality: Municipality
) -> None:
    from rathaus.core.errors import NotFound, PermissionDenied, ValidationFailed

    task = open_task(form_instance, "enter")
    with pytest.raises(PermissionDenied):
        services.user_task_comment_add(task=task, user=admin_tree.building, text="hi")
    with pytest.raises(NotFound):
        services.user_task_comment_add(
            task=task, user=StaffFactory(municipality=other_municipality), text="hi"
        )
    with pytest.raises(ValidationFailed):
        services.user_task_comment_add(task=task, user=admin_tree.clerk, text="a\x00b")
    # A monitor may comment on any task
    comment = services.user_task_comment_add(task=task, user=admin_tree.monitor, text=" ok \r\n")
    assert comment.text == "ok"
    assert TaskComment.objects.count() == 1
