"""Process definitions, their immutable versions, running instances and what they wait for.

The engine's own state of an instance is one JSON text (``ProcessInstance.engine_state``,
SpiffWorkflow's serialiser without the spec). Everything people and schedulers query is
mirrored into rows after each step: open user tasks (``UserTask``, the inbox), timers
(``Timer``, woken by the scheduler), awaited messages and signals (``EventWait``), service
calls (``ServiceJob``), failures (``Incident``) and the history (``InstanceEvent``).
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rathaus.core.models import TenantModel


class ProcessDefinition(TenantModel):
    """A process of a municipality (e.g. ``generic_application``), across its versions."""

    key = models.CharField(_("key"), max_length=100)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("process definition")
        verbose_name_plural = _("process definitions")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("municipality", "key", name="workflow_definition_key_unique")
        ]
        permissions = [
            ("manage_processes", "Can deploy process models and choose the default version"),
            ("monitor_instances", "Can see process instances, retry incidents and cancel"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class ProcessVersion(TenantModel):
    """One deployment of a definition's BPMN/DMN files. Never changed after deployment,
    except for which version is the default for new instances."""

    definition = models.ForeignKey(
        ProcessDefinition, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    process_id = models.CharField(_("BPMN process id"), max_length=200)
    checksum = models.CharField(_("checksum (SHA-256)"), max_length=64)
    # Forms, assignments, lanes, handlers, messages, signals and warnings found at upload.
    metadata = models.JSONField(_("model metadata"), default=dict)
    deployed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    deployed_at = models.DateTimeField(_("deployed at"), auto_now_add=True)
    is_default = models.BooleanField(_("default for new instances"), default=False)

    class Meta:
        verbose_name = _("process version")
        verbose_name_plural = _("process versions")
        ordering = ["definition", "-number"]
        constraints = [
            models.UniqueConstraint("definition", "number", name="workflow_version_number_unique"),
            models.UniqueConstraint(
                fields=["definition"],
                condition=Q(is_default=True),
                name="workflow_version_one_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.definition.key} v{self.number}"


class ProcessSource(models.Model):
    """A BPMN or DMN file of a version, as validated at upload."""

    class Kind(models.TextChoices):
        BPMN = "bpmn", "BPMN"
        DMN = "dmn", "DMN"

    version = models.ForeignKey(ProcessVersion, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(_("file name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    text = models.TextField(_("content"))

    class Meta:
        verbose_name = _("process source file")
        verbose_name_plural = _("process source files")
        ordering = ["version", "name"]
        constraints = [
            models.UniqueConstraint("version", "name", name="workflow_source_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ProcessInstance(TenantModel):
    """One run of a process version, usually for a business object (an application ...)."""

    class State(models.TextChoices):
        RUNNING = "running", _("running")
        WAITING = "waiting", _("waiting")
        COMPLETED = "completed", _("completed")
        CANCELLED = "cancelled", _("cancelled")
        INCIDENT = "incident", _("incident")

    version = models.ForeignKey(ProcessVersion, on_delete=models.PROTECT, related_name="instances")
    business_object_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    business_object_id = models.CharField(_("business object id"), max_length=64, blank=True)
    business_object = GenericForeignKey("business_object_type", "business_object_id")
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    # SpiffWorkflow's serialisation of the task tree and data, without the spec. Large:
    # list queries defer it.
    engine_state = models.TextField(_("engine state"), blank=True)
    # The process variables after the last step, for queries and display.
    variables = models.JSONField(_("variables"), default=dict, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # Incremented by every stored step; lets a page notice that it shows an old state.
    lock_version = models.PositiveIntegerField(default=0)
    # Which open tasks, timers, waits and service jobs the rows mirror (by engine task id),
    # so a step only writes what changed instead of reading the rows first.
    mirror = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("process instance")
        verbose_name_plural = _("process instances")
        ordering = ["-started_at"]
        indexes = [
            models.Index(
                "business_object_type",
                "business_object_id",
                name="workflow_instance_object",
            ),
            models.Index("municipality", "state", name="workflow_instance_state"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.state})"


class UserTask(TenantModel):
    """A human task of an instance: open (the inbox) or done (the record of who decided)."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        COMPLETED = "completed", _("completed")
        CANCELLED = "cancelled", _("cancelled")

    instance = models.ForeignKey(
        ProcessInstance, on_delete=models.CASCADE, related_name="user_tasks"
    )
    task_id = models.UUIDField(_("engine task id"))
    element_id = models.CharField(_("element id"), max_length=200)
    name = models.CharField(_("name"), max_length=200)
    lane = models.CharField(_("lane"), max_length=200, blank=True)
    candidate_org_unit = models.ForeignKey(
        "organisation.OrgUnit",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("candidate org unit"),
    )
    candidate_role_key = models.CharField(_("candidate role"), max_length=50, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("overdue since"), null=True, blank=True)
    # Set when the leads were told that the task stayed overdue past the grace period.
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("completed by"),
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # The form's field list (taskforms.FieldSpec.to_dict), fixed when the task opened.
    form = models.JSONField(_("form"), default=list, blank=True)
    # Element ids of tasks whose performers may not do this one (four-eyes).
    separate_from = models.JSONField(_("separate from"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="open")

    class Meta:
        verbose_name = _("user task")
        verbose_name_plural = _("user tasks")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint("instance", "task_id", name="workflow_usertask_once")
        ]
        indexes = [
            # The inbox: open tasks by assignee, by candidate unit, by candidate role.
            models.Index(
                "assignee",
                "created_at",
                name="workflow_task_open_assignee",
                condition=Q(status="open"),
            ),
            models.Index(
                "candidate_org_unit",
                "created_at",
                name="workflow_task_open_unit",
                condition=Q(status="open"),
            ),
            models.Index(
                "municipality",
                "candidate_role_key",
                "created_at",
                name="workflow_task_open_role",
                condition=Q(status="open"),
            ),
            models.Index("due_at", name="workflow_task_open_due", condition=Q(status="open")),
        ]
        permissions = [("work_on_tasks", "Can work on the workflow tasks of their units")]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class Timer(TenantModel):
    """A timer an instance waits for; the scheduler fires it when ``due_at`` has passed."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="timers")
    task_id = models.UUIDField()
    element_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=10)  # date, duration, cycle
    due_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint("instance", "task_id", name="workflow_timer_once")]
        indexes = [
            models.Index(
                "due_at", name="workflow_timer_pending", condition=Q(fired_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.element_id} @ {self.due_at:%Y-%m-%d %H:%M}"


class EventWait(TenantModel):
    """A message or signal an instance waits for (for correlation without loading it)."""

    class Kind(models.TextChoices):
        MESSAGE = "message", _("message")
        SIGNAL = "signal", _("signal")

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="waits")
    task_id = models.UUIDField()
    element_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=7, choices=Kind.choices)
    name = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "instance", "task_id", "kind", "name", name="workflow_wait_once"
            )
        ]
        indexes = [models.Index("municipality", "kind", "name", name="workflow_wait_lookup")]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


class ServiceJob(TenantModel):
    """A call of a named handler for a service task, with its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="jobs")
    task_id = models.UUIDField()
    element_id = models.CharField(max_length=200)
    handler = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default="pending")
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=4)
    backoff_seconds = models.PositiveIntegerField(default=30)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint("instance", "task_id", name="workflow_job_once")]
        indexes = [
            models.Index("next_attempt_at", name="workflow_job_due", condition=Q(status="pending"))
        ]

    def __str__(self) -> str:
        return f"{self.handler} ({self.status})"


class Incident(TenantModel):
    """A failure that stopped (part of) an instance until an administrator acts."""

    class Kind(models.TextChoices):
        SERVICE = "service", _("service call failed")
        ENGINE = "engine", _("script, expression or decision failed")

    class Resolution(models.TextChoices):
        RETRIED = "retried", _("retried")
        CANCELLED = "cancelled", _("cancelled")

    instance = models.ForeignKey(
        ProcessInstance, on_delete=models.CASCADE, related_name="incidents"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    element_id = models.CharField(max_length=200, blank=True)
    task_id = models.UUIDField(null=True, blank=True)
    handler = models.CharField(max_length=200, blank=True)
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                "municipality",
                "created_at",
                name="workflow_incident_open",
                condition=Q(resolved_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.element_id}"


class InstanceEvent(TenantModel):
    """One line of an instance's history."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=40)
    element_id = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index("instance", "created_at", name="workflow_event_instance")]

    def __str__(self) -> str:
        return f"{self.kind} {self.element_id}"


class TaskComment(TenantModel):
    """A note a person left on a task, for colleagues and for the case record.

    Comments are kept with the instance (the record of how a case was decided) and are
    never edited; a correction is a new comment.
    """

    MAX_LENGTH = 4000

    task = models.ForeignKey(UserTask, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    text = models.TextField(_("comment"), max_length=MAX_LENGTH)

    class Meta:
        verbose_name = _("task comment")
        verbose_name_plural = _("task comments")
        ordering = ["created_at", "pk"]
        indexes = [models.Index("task", "created_at", name="workflow_comment_task")]

    def __str__(self) -> str:
        return f"comment {self.pk} on task {self.task_id}"
