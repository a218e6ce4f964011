"""Back-office pages of the workflow engine (ADR 0014).

- the task inbox (``/verwaltung/aufgaben/``) and a task's page with its form, claim,
  unclaim, delegation, comments, and the case's context and history;
- the process models (``/verwaltung/prozesse/``): versions, upload, default version, and
  the diagram editor (bpmn-js / dmn-js) that deploys the edited file as a new version;
- monitoring (``/verwaltung/prozesse/ueberwachung/``): figures, incidents, overdue tasks,
  a CSV export, the instance list and the instance viewer.

Views parse input, call ``access``, ``selectors`` and ``services``, and render. Every page
works without JavaScript except the diagram editor, whose XML field stays usable.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from csp.decorators import csp_update
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from rathaus.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from rathaus.core.forms import form_show_error
from rathaus.core.tenancy import request_municipality
from rathaus.organisation.decorators import staff_member_required
from rathaus.organisation.permissions import user_can
from rathaus.workflow import access, selectors, services
from rathaus.workflow.forms import (
    CancelInstanceForm,
    CommentForm,
    DelegateForm,
    InboxFilterForm,
    ModelSourceForm,
    ModelUploadForm,
    TaskForm,
)
from rathaus.workflow.models import (
    Incident,
    ProcessInstance,
    ProcessSource,
    ProcessVersion,
    UserTask,
)
from rathaus.workflow.selectors import PERMISSION_MANAGE, PERMISSION_MONITOR, PERMISSION_WORK

if TYPE_CHECKING:
    from rathaus.accounts.models import User

T = TypeVar("T")
INBOX_PAGE_SIZE = 25
INSTANCES_PAGE_SIZE = 50

# bpmn-js and the viewer set their styles through the CSSOM, which ``style-src 'self'``
# allows; but bpmn-js's align and replace menus and dmn-js's tables and watermark parse
# markup with ``style`` attributes, which it blocks. Only the editor relaxes the policy,
# and only for style attributes: <style> elements and scripts stay 'self' (ADR 0014).
editor_csp = csp_update({"style-src-attr": ["'unsafe-inline'"]})

HISTORY_LABELS: dict[str, Any] = {
    "started": gettext_lazy("Case started"),
    "completed": gettext_lazy("Case completed"),
    "cancelled": gettext_lazy("Case cancelled"),
    "element_completed": gettext_lazy("Step done"),
    "task_opened": gettext_lazy("Task opened"),
    "task_claimed": gettext_lazy("Task claimed"),
    "task_unclaimed": gettext_lazy("Task given back"),
    "task_delegated": gettext_lazy("Task passed on"),
    "task_completed": gettext_lazy("Task completed"),
    "task_cancelled": gettext_lazy("Task withdrawn"),
    "task_commented": gettext_lazy("Comment added"),
    "task_overdue": gettext_lazy("Task overdue, reminder sent"),
    "task_escalated": gettext_lazy("Task escalated to the lead"),
    "service_called": gettext_lazy("Automatic step started"),
    "service_completed": gettext_lazy("Automatic step done"),
    "service_failed": gettext_lazy("Automatic step failed, will be retried"),
    "incident_opened": gettext_lazy("Incident"),
    "incident_retried": gettext_lazy("Incident retried"),
    "timer_fired": gettext_lazy("Deadline reached"),
    "message_received": gettext_lazy("Message received"),
    "signal_received": gettext_lazy("Signal received"),
    "assignment_unresolved": gettext_lazy("Responsible unit or role not found"),
    "assignment_failed": gettext_lazy("Responsible unit could not be determined"),
    "due_date_failed": gettext_lazy("Due date could not be determined"),
}


def _staff(request: HttpRequest) -> User:
    """The signed-in staff member (the page gates let nobody else through)."""
    return cast("User", request.user)


def _scoped(lookup: Callable[..., T], **kwargs: Any) -> T:
    """Call an ``access`` function; its refusals become the page's 404 or 403."""
    try:
        return lookup(**kwargs)
    except NotFound as error:
        raise Http404 from error
    except PermissionDenied as error:
        raise DjangoPermissionDenied from error


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("seite", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


# --- inbox ---------------------------------------------------------------------------------


@staff_member_required(PERMISSION_WORK)
@require_http_methods(["GET", "HEAD"])
def inbox(request: HttpRequest) -> HttpResponse:
    """Open tasks for the person, their roles and their units; filtered, sorted, paged."""
    user = _staff(request)
    filters = InboxFilterForm(request.GET or None)
    scope, order = filters.scope(), filters.order()
    now = timezone.now()
    tasks = selectors.inbox_tasks(user=user, scope=scope, order=order, now=now)
    page = Paginator(tasks, INBOX_PAGE_SIZE).get_page(_page_number(request))
    query = {"zeigen": scope, "sortierung": order}
    context = {
        "filters": filters if filters.is_bound else InboxFilterForm(initial=query),
        "page": page,
        "now": now,
        "query": "&".join(f"{key}={value}" for key, value in query.items()),
        "scope_label": InboxFilterForm.LABELS[scope],
    }
    if getattr(request, "htmx", False):
        return render(request, "workflow/_inbox_results.html", context)
    return render(request, "workflow/inbox.html", context)


def _task_page(
    request: HttpRequest,
    task: UserTask,
    *,
    status: int = 200,
    task_form: TaskForm | None = None,
    comment_form: CommentForm | None = None,
    delegate_form: DelegateForm | None = None,
    problem: str = "",
) -> HttpResponse:
    user = _staff(request)
    monitor = user_can(user=user, permission=PERMISSION_MONITOR, org_unit=None)
    is_open = task.status == UserTask.Status.OPEN
    mine = task.assignee_id == user.pk
    candidate = selectors.user_is_candidate(user=user, task=task)
    can_complete = is_open and candidate and (task.assignee_id is None or mine)
    can_delegate = is_open and (mine or monitor)
    people: list[Any] = []
    if can_delegate:
        people = [p for p in selectors.user_task_candidates(task=task)[:200] if p.pk != user.pk]
    instance = task.instance
    version = instance.version
    elements = selectors.version_elements(version=version)
    history = []
    for event in selectors.instance_history(instance=instance):
        element = elements.get(event.element_id)
        if event.kind == "element_completed" and (
            element is None or not element.name or element.kind == "userTask"
        ):
            continue  # gateways, unnamed events and tasks (already "task completed")
        history.append(
            {
                "event": event,
                "label": HISTORY_LABELS.get(event.kind, event.kind),
                "element": element.name if element and element.name else event.element_id,
            }
        )
    business_object, business_url = _business_object(instance)
    context = {
        "task": task,
        "instance": instance,
        "version": version,
        "definition": version.definition,
        "history": history,
        "comments": selectors.task_comments(task=task),
        "business_object": business_object,
        "business_url": business_url,
        "is_open": is_open,
        "mine": mine,
        "can_claim": is_open and candidate and task.assignee_id is None,
        "can_unclaim": is_open and task.assignee_id is not None and (mine or monitor),
        "can_complete": can_complete,
        "can_delegate": can_delegate and bool(people),
        "task_form": task_form
        or (TaskForm(selectors.task_form_fields(task)) if can_complete else None),
        "comment_form": comment_form or CommentForm(),
        "delegate_form": delegate_form or (DelegateForm(people) if people else None),
        "problem": problem,
        "now": timezone.now(),
        "monitor": monitor,
    }
    return render(request, "workflow/task_detail.html", context, status=status)


def _business_object(instance: ProcessInstance) -> tuple[Any, str]:
    if not instance.business_object_id:
        return None, ""
    try:
        target = instance.business_object
    except Exception:  # the model or row is gone: the case still shows
        return None, ""
    if target is None:
        return None, ""
    url = ""
    if hasattr(target, "get_absolute_url"):
        try:
            url = str(target.get_absolute_url())
        except Exception:
            url = ""
    return target, url


def _load_task(request: HttpRequest, task_id: int) -> UserTask:
    return _scoped(access.user_task_for_user, user=_staff(request), task_id=task_id)


@staff_member_required()
@require_http_methods(["GET", "HEAD"])
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    """A task with its form, its actions, and the case's context and history."""
    return _task_page(request, _load_task(request, task_id))


def _refused(request: HttpRequest, task_id: int, error: ApplicationError) -> HttpResponse:
    """The task page again with the reason (409 for a conflict, 403 for a refusal)."""
    return _task_page(
        request, _load_task(request, task_id), status=error.status, problem=str(error.message)
    )


@staff_member_required()
@require_POST
def task_claim(request: HttpRequest, task_id: int) -> HttpResponse:
    """Take the task (others no longer see it in their inbox)."""
    task = _load_task(request, task_id)
    try:
        services.user_task_claim(task=task, user=_staff(request))
    except ApplicationError as error:
        return _refused(request, task_id, error)
    messages.success(request, _("You have claimed the task."))
    return redirect("workflow:task_detail", task_id=task.pk)


@staff_member_required()
@require_POST
def task_unclaim(request: HttpRequest, task_id: int) -> HttpResponse:
    """Give the task back to its candidates (the assignee, or a monitor)."""
    task = _load_task(request, task_id)
    try:
        services.user_task_unclaim(task=task, user=_staff(request))
    except ApplicationError as error:
        return _refused(request, task_id, error)
    messages.success(request, _("The task is back in the shared inbox."))
    return redirect("workflow:task_detail", task_id=task.pk)


@staff_member_required()
@require_POST
def task_complete(request: HttpRequest, task_id: int) -> HttpResponse:
    """Complete with the model's form; wrong input comes back with field errors."""
    user = _staff(request)
    task = _load_task(request, task_id)
    if task.status == UserTask.Status.COMPLETED and task.completed_by_id == user.pk:
        # The same form sent twice (a double click, the back button): nothing to do.
        messages.info(request, _("You have already completed this task."))
        return redirect("workflow:inbox")
    form = TaskForm(selectors.task_form_fields(task), request.POST)
    if not form.is_valid():
        return _task_page(request, task, status=400, task_form=form)
    try:
        services.user_task_complete(
            task=task,
            user=user,
            data=form.values(),
            from_strings=True,
        )
    except Conflict as error:
        return _task_page(
            request, _load_task(request, task_id), status=409, problem=str(error.message)
        )
    except ApplicationError as error:
        if error.fields:
            form_show_error(form, error)
            return _task_page(request, task, status=error.status, task_form=form)
        return _task_page(
            request, task, status=error.status, task_form=form, problem=str(error.message)
        )
    messages.success(request, _("“%(task)s” is completed; the case goes on.") % {"task": task.name})
    return redirect("workflow:inbox")


@staff_member_required()
@require_POST
def task_delegate(request: HttpRequest, task_id: int) -> HttpResponse:
    """Pass the task on to a colleague who is a candidate (four-eyes is checked)."""
    task = _load_task(request, task_id)
    people = list(selectors.user_task_candidates(task=task)[:200])
    form = DelegateForm(people, request.POST)
    if not form.is_valid():
        return _task_page(request, task, status=400, delegate_form=form)
    to_user = next(p for p in people if p.pk == form.cleaned_data["to_user"])
    try:
        services.user_task_delegate(task=task, user=_staff(request), to_user=to_user)
    except ApplicationError as error:
        if error.fields:
            form_show_error(form, error)
            return _task_page(request, task, status=error.status, delegate_form=form)
        return _refused(request, task_id, error)
    messages.success(
        request,
        _("The task was passed on to %(name)s.")
        % {"name": to_user.get_full_name() or to_user.email},
    )
    return redirect("workflow:task_detail", task_id=task.pk)


@staff_member_required()
@require_POST
def task_comment(request: HttpRequest, task_id: int) -> HttpResponse:
    """Add a comment; with htmx only the comment section is replaced."""
    task = _load_task(request, task_id)
    form = CommentForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            services.user_task_comment_add(
                task=task, user=_staff(request), text=form.cleaned_data["text"]
            )
        except ApplicationError as error:
            form_show_error(form, error)
            status = error.status
        else:
            if not getattr(request, "htmx", False):
                messages.success(request, _("Your comment was added."))
                return redirect(reverse("workflow:task_detail", args=[task.pk]) + "#kommentare")
            form = CommentForm()
    else:
        status = 400
    if getattr(request, "htmx", False):
        return render(
            request,
            "workflow/_comments.html",
            {"task": task, "comments": selectors.task_comments(task=task), "comment_form": form},
            status=status,
        )
    return _task_page(request, task, status=status, comment_form=form)


# --- process models -----------------------------------------------------------------------


@staff_member_required(PERMISSION_MANAGE)
@require_http_methods(["GET", "HEAD"])
def process_list(request: HttpRequest) -> HttpResponse:
    """Every process with its versions; which one new cases start with."""
    municipality = request_municipality(request)
    return render(
        request,
        "workflow/process_list.html",
        {
            "processes": selectors.process_versions_by_definition(municipality=municipality),
            "upload_form": ModelUploadForm(),
            "unroutable": selectors.user_tasks_unroutable(municipality=municipality).count(),
        },
    )


@staff_member_required(PERMISSION_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def process_upload(request: HttpRequest) -> HttpResponse:
    """Upload BPMN/DMN files as a new version; every problem is listed with its element."""
    municipality = request_municipality(request)
    form = ModelUploadForm(request.POST or None, request.FILES or None)
    problems: list[Any] = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            files = [(str(item.name), item.read()) for item in form.cleaned_data["sources"]]
            try:
                version = services.process_deploy(
                    municipality=municipality,
                    files=files,
                    deployed_by=_staff(request),
                    make_default=form.cleaned_data["make_default"],
                )
            except services.ModelRejected as error:
                problems = error.problems
                form.add_error(None, str(error.message))
                status = 400
            except ApplicationError as error:
                form_show_error(form, error)
                status = error.status
            else:
                _deployed_message(request, version)
                return redirect("workflow:version_detail", version_id=version.pk)
        else:
            status = 400
    return render(
        request,
        "workflow/process_upload.html",
        {"form": form, "problems": problems},
        status=status,
    )


def _deployed_message(request: HttpRequest, version: ProcessVersion) -> None:
    messages.success(
        request,
        _("%(process)s: version %(number)d is deployed.")
        % {"process": version.definition.name, "number": version.number},
    )


@staff_member_required(PERMISSION_MANAGE)
@require_http_methods(["GET", "HEAD"])
def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    """A version: its files (with links to the editor), warnings and handlers."""
    version = _scoped(
        access.process_version_for_manager, user=_staff(request), version_id=version_id
    )
    return render(
        request,
        "workflow/version_detail.html",
        {
            "version": version,
            "definition": version.definition,
            "sources": ProcessSource.objects.filter(version=version).only(
                "name", "kind", "version_id"
            ),
            "metadata": version.metadata,
        },
    )


@staff_member_required(PERMISSION_MANAGE)
@require_POST
def version_make_default(request: HttpRequest, version_id: int) -> HttpResponse:
    """New cases of the process start with this version from now on."""
    version = _scoped(
        access.process_version_for_manager, user=_staff(request), version_id=version_id
    )
    try:
        services.process_version_make_default(version=version, user=_staff(request))
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _("New cases of %(process)s now start with version %(number)d.")
            % {"process": version.definition.name, "number": version.number},
        )
    return redirect("workflow:process_list")


@editor_csp
@staff_member_required(PERMISSION_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def version_edit(request: HttpRequest, version_id: int, file_name: str) -> HttpResponse:
    """The diagram editor for one file of a version; deploying makes a new version of the
    process from this file and the version's other files, validated like an upload."""
    version = _scoped(
        access.process_version_for_manager, user=_staff(request), version_id=version_id
    )
    source = ProcessSource.objects.filter(version=version, name=file_name).first()
    if source is None:
        raise Http404
    form = ModelSourceForm(request.POST or None, initial={"xml": source.text, "make_default": True})
    problems: list[Any] = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            files = [
                (other.name, other.text.encode("utf-8"))
                for other in ProcessSource.objects.filter(version=version).exclude(pk=source.pk)
            ]
            files.append((source.name, form.cleaned_data["xml"].encode("utf-8")))
            try:
                deployed = services.process_deploy(
                    municipality=request_municipality(request),
                    files=files,
                    deployed_by=_staff(request),
                    make_default=form.cleaned_data["make_default"],
                )
            except services.ModelRejected as error:
                problems = error.problems
                form.add_error(None, str(error.message))
                status = 400
            except ApplicationError as error:
                form_show_error(form, error)
                status = error.status
            else:
                if deployed.pk == version.pk:
                    messages.info(request, _("Nothing changed, so no new version was made."))
                else:
                    _deployed_message(request, deployed)
                return redirect("workflow:version_detail", version_id=deployed.pk)
        else:
            status = 400
    return render(
        request,
        "workflow/version_edit.html",
        {
            "version": version,
            "definition": version.definition,
            "source": source,
            "form": form,
            "problems": problems,
        },
        status=status,
    )


# --- monitoring ---------------------------------------------------------------------------


@staff_member_required(PERMISSION_MONITOR)
@require_http_methods(["GET", "HEAD"])
def monitoring(request: HttpRequest) -> HttpResponse:
    """Instances by state, cycle times per process and step, incidents, overdue tasks."""
    municipality = request_municipality(request)
    figures = selectors.process_figures(municipality=municipality)
    states = list(ProcessInstance.State)
    return render(
        request,
        "workflow/monitoring.html",
        {
            "figures": figures,
            "states": states,
            "state_rows": [
                (process, [process.states.get(state, 0) for state in states])
                for process in figures.processes
            ],
            "incident_forms": [
                (incident, CancelInstanceForm(prefix=f"cancel-{incident.pk}"))
                for incident in figures.incidents
            ],
            "now": timezone.now(),
        },
    )


def _csv_cell(value: Any) -> Any:
    """Spreadsheet programs run cells that start with = + - @ as formulas: model names
    come from uploads, so such text is prefixed with an apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@staff_member_required(PERMISSION_MONITOR)
@require_http_methods(["GET", "HEAD"])
def monitoring_csv(request: HttpRequest) -> HttpResponse:
    """The figures of the monitoring page as CSV (seconds, rounded to whole seconds)."""
    municipality = request_municipality(request)
    figures = selectors.process_figures(municipality=municipality)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="prozesskennzahlen.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["process", "process_name", "figure", "state_or_step", "count", "average_s", "p90_s"]
    )
    for process in figures.processes:
        for state in ProcessInstance.State:
            writer.writerow(
                [
                    _csv_cell(process.key),
                    _csv_cell(process.name),
                    "instances",
                    state.value,
                    process.states.get(state.value, 0),
                    "",
                    "",
                ]
            )
        if process.cycle is not None:
            writer.writerow(
                [
                    _csv_cell(process.key),
                    _csv_cell(process.name),
                    "cycle_time",
                    "",
                    process.cycle.count,
                    round(process.cycle.average),
                    round(process.cycle.p90),
                ]
            )
        for (element_id, label), time in process.steps.items():
            writer.writerow(
                [
                    _csv_cell(process.key),
                    _csv_cell(process.name),
                    "step_time",
                    _csv_cell(f"{element_id}: {label}"),
                    time.count,
                    round(time.average),
                    round(time.p90),
                ]
            )
    writer.writerow(["", "", "overdue_tasks", "", len(figures.overdue), "", ""])
    writer.writerow(["", "", "open_incidents", "", len(figures.incidents), "", ""])
    return response


@staff_member_required(PERMISSION_MONITOR)
@require_http_methods(["GET", "HEAD"])
def instance_list(request: HttpRequest) -> HttpResponse:
    """Cases of the municipality, newest first, by process and state; 50 a page."""
    municipality = request_municipality(request)
    process_key = request.GET.get("prozess", "")[:100]
    state = request.GET.get("status", "")
    if state not in ProcessInstance.State.values:
        state = ""
    instances: QuerySet[ProcessInstance] = selectors.process_instance_list(
        municipality=municipality, process_key=process_key, state=state
    )
    page = Paginator(instances, INSTANCES_PAGE_SIZE).get_page(_page_number(request))
    return render(
        request,
        "workflow/instance_list.html",
        {
            "page": page,
            "process_key": process_key,
            "state": state,
            "states": list(ProcessInstance.State),
            "definitions": selectors.process_definition_list(municipality=municipality),
        },
    )


@staff_member_required(PERMISSION_MONITOR)
@require_http_methods(["GET", "HEAD"])
def instance_detail(request: HttpRequest, instance_id: int) -> HttpResponse:
    """The instance's diagram with done, current and failed elements, the same as text,
    its open tasks and incidents, and its history."""
    instance = _scoped(access.instance_for_monitor, user=_staff(request), instance_id=instance_id)
    return _instance_page(request, instance)


def _instance_page(
    request: HttpRequest,
    instance: ProcessInstance,
    *,
    cancel_form: CancelInstanceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    diagram = selectors.instance_diagram(instance=instance)
    elements = selectors.version_elements(version=instance.version)

    def named(ids: list[str]) -> list[dict[str, str]]:
        return [
            {
                "id": element_id,
                "name": elements[element_id].name if element_id in elements else "",
                "kind": elements[element_id].kind if element_id in elements else "",
            }
            for element_id in ids
        ]

    status_info = selectors.instance_status(instance=instance)
    history = [
        {
            "event": event,
            "label": HISTORY_LABELS.get(event.kind, event.kind),
            "element": (elements[event.element_id].name or event.element_id)
            if event.element_id in elements
            else event.element_id,
        }
        for event in selectors.instance_history(instance=instance)
    ]
    business_object, business_url = _business_object(instance)
    final = instance.state in (ProcessInstance.State.COMPLETED, ProcessInstance.State.CANCELLED)
    return render(
        request,
        "workflow/instance_detail.html",
        {
            "instance": instance,
            "version": instance.version,
            "definition": instance.version.definition,
            "diagram": diagram,
            "done": named(diagram.completed),
            "current": named(diagram.current),
            "failed": named(diagram.failed),
            "status": status_info,
            "history": history,
            "business_object": business_object,
            "business_url": business_url,
            "cancel_form": None if final else (cancel_form or CancelInstanceForm()),
        },
        status=status,
    )


@staff_member_required(PERMISSION_MONITOR)
@require_POST
def instance_cancel(request: HttpRequest, instance_id: int) -> HttpResponse:
    """End a case for good, with a reason (from the viewer or the monitoring page)."""
    instance = _scoped(access.instance_for_monitor, user=_staff(request), instance_id=instance_id)
    sent_prefix = request.POST.get("prefix", "")
    # The monitoring page has one form per incident, each with its own prefix.
    prefix = sent_prefix if re.fullmatch(r"cancel-\d{1,12}", sent_prefix) else None
    form = CancelInstanceForm(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            services.instance_cancel(
                instance=instance,
                user=_staff(request),
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("Case %(id)d was cancelled.") % {"id": instance.pk})
        return redirect(_back(request, instance))
    messages.error(request, _("Give a reason for cancelling the case."))
    return redirect(_back(request, instance))


def _back(request: HttpRequest, instance: ProcessInstance) -> str:
    """Back to the monitoring page or the instance, whichever the form was on."""
    if request.POST.get("zurueck") == "ueberwachung":
        return reverse("workflow:monitoring")
    return reverse("workflow:instance_detail", args=[instance.pk])


@staff_member_required(PERMISSION_MONITOR)
@require_POST
def incident_retry(request: HttpRequest, incident_id: int) -> HttpResponse:
    """Try a failed step again (from the monitoring page or the viewer)."""
    incident: Incident = _scoped(
        access.incident_for_monitor, user=_staff(request), incident_id=incident_id
    )
    try:
        instance = services.incident_retry(incident=incident, user=_staff(request))
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        if instance.state == ProcessInstance.State.INCIDENT and (
            Incident.objects.filter(instance=instance, resolved_at__isnull=True).exists()
        ):
            messages.warning(
                request,
                _("Retried; case %(id)d has failed again, see its incidents.")
                % {"id": instance.pk},
            )
        else:
            messages.success(request, _("Retried; case %(id)d goes on.") % {"id": instance.pk})
    if request.POST.get("zurueck") == "vorgang":
        return redirect("workflow:instance_detail", instance_id=incident.instance_id)
    return redirect("workflow:monitoring")
