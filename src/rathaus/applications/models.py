"""Online applications: forms defined as data, the applications filled against them, their
documents, payments and history.

A ``FormDefinition`` is the application form of one catalogue service; its
``FormVersion``\\ s hold the field schema (docs/application-forms.md) and never change once
published. An ``Application`` is one citizen's case: a draft until it is submitted, then a
running case of the generic application process (ADR 0011) until the notice is issued.
It keeps the form version it was filled against. ``Document``\\ s are the files the citizen
uploaded (type decided by content, scanned); ``Payment``\\ s are the fee payments through a
provider (``payments.py``); ``TimelineEvent`` is the history the citizen and staff see.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from rathaus.accounts.trust import TrustLevel
from rathaus.core.models import TenantModel

MANAGE_FORMS = "applications.manage_forms"
HANDLE_APPLICATIONS = "applications.handle_application"


class FormDefinition(TenantModel):
    """The online application form of a service, across its versions."""

    service = models.ForeignKey(
        "catalog.Service",
        on_delete=models.PROTECT,
        related_name="application_forms",
        verbose_name=_("service"),
    )
    key = models.SlugField(_("key"), max_length=80)
    # The unit whose case workers handle the applications (the service's responsible unit
    # when the form is created; the catalogue may not name one).
    org_unit = models.ForeignKey(
        "organisation.OrgUnit",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("handling org unit"),
    )
    # The session trust level a citizen needs to apply (eIDAS; e.g. "high" for the eID).
    min_trust_level = models.PositiveSmallIntegerField(
        _("minimum trust level"), choices=TrustLevel.choices[1:], default=TrustLevel.BASIC
    )
    is_active = models.BooleanField(_("open for applications"), default=True)
    # The published version new applications use; None until the first publication.
    current_version = models.ForeignKey(
        "FormVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("current version"),
    )

    class Meta:
        verbose_name = _("application form")
        verbose_name_plural = _("application forms")
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint("municipality", "key", name="applications_form_key_unique"),
            # One form per service: the service page links to "apply online" unambiguously.
            models.UniqueConstraint("service", name="applications_form_one_per_service"),
        ]
        permissions = [
            ("manage_forms", "Can edit and publish application forms"),
        ]

    def __str__(self) -> str:
        return self.key


class FormVersion(TenantModel):
    """One version of a form's schema. A draft can be edited; a published version never."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        RETIRED = "retired", _("replaced by a newer version")

    definition = models.ForeignKey(
        FormDefinition, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    schema = models.JSONField(_("schema"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("form version")
        verbose_name_plural = _("form versions")
        ordering = ["definition", "-number"]
        constraints = [
            models.UniqueConstraint("definition", "number", name="applications_version_unique"),
            models.UniqueConstraint(
                fields=["definition"],
                condition=Q(status="draft"),
                name="applications_version_one_draft",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.definition.key} v{self.number}"


class ReferenceCounter(TenantModel):
    """The last reference number given per municipality and year (locked when used)."""

    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint("municipality", "year", name="applications_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Application(TenantModel):
    """One citizen's application for a service."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")
        IN_REVIEW = "in_review", _("in review")
        DOCUMENTS_REQUESTED = "documents_requested", _("documents requested")
        DECIDED = "decided", _("decided")
        NOTICE_ISSUED = "notice_issued", _("notice issued")
        CLOSED = "closed", _("closed")
        WITHDRAWN = "withdrawn", _("withdrawn")

    class PaymentStatus(models.TextChoices):
        NOT_REQUIRED = "not_required", _("no fee")
        OPEN = "open", _("not paid yet")
        PENDING = "pending", _("payment in progress")
        PAID = "paid", _("paid")
        REFUNDED = "refunded", _("refunded")

    class Decision(models.TextChoices):
        APPROVE = "approve", _("approved")
        REJECT = "reject", _("rejected")

    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("citizen"),
    )
    service = models.ForeignKey(
        "catalog.Service", on_delete=models.PROTECT, related_name="+", verbose_name=_("service")
    )
    form_version = models.ForeignKey(
        FormVersion, on_delete=models.PROTECT, related_name="applications"
    )
    # Copied from the form when the application starts: case workers of this unit (and
    # the units above it, with subunits) handle it; it sends the Postfach messages.
    org_unit = models.ForeignKey("organisation.OrgUnit", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    # Draft: what was typed, as strings (kept even when invalid). Submitted: the cleaned
    # values in the canonical form of docs/application-forms.md.
    data = models.JSONField(_("data"), default=dict, blank=True)
    reference = models.CharField(_("reference number"), max_length=30, blank=True)
    # Chosen by the page that starts the application; a repeated start (double click,
    # retry after a timeout) with the same key returns the same application.
    idempotency_key = models.CharField(max_length=64)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    fee_cents = models.PositiveIntegerField(_("fee in cents"), null=True, blank=True)
    payment_status = models.CharField(
        _("payment"),
        max_length=12,
        choices=PaymentStatus.choices,
        default=PaymentStatus.NOT_REQUIRED,
    )
    workflow_instance = models.ForeignKey(
        "workflow.ProcessInstance",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # What the case worker asked for, while documents are requested.
    documents_requested_note = models.TextField(_("requested documents"), blank=True)
    documents_requested_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # The notice went to the Postfach (message id), or the citizen gave no consent to
    # digital delivery and staff must send it by post.
    notice_message = models.ForeignKey(
        "postfach.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    notice_by_post_required = models.BooleanField(default=False)
    notice_by_post_sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                "citizen", "idempotency_key", name="applications_idempotency_unique"
            ),
            models.UniqueConstraint(
                fields=["municipality", "reference"],
                condition=~Q(reference=""),
                name="applications_reference_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["citizen", "-created_at"], name="applications_of_citizen"),
            models.Index(fields=["org_unit", "status", "-submitted_at"], name="applications_staff"),
        ]
        permissions = [
            ("handle_application", "Can see and handle the applications of their units"),
        ]

    def __str__(self) -> str:
        return self.reference or f"#{self.pk}"

    def get_absolute_url(self) -> str:
        """The case worker's page (the workflow task page links to it)."""
        return reverse("applications:staff_detail", args=[self.pk])

    def get_citizen_url(self) -> str:
        return reverse("applications:detail", args=[self.pk])

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_open(self) -> bool:
        """Still being handled: the citizen may supply documents or withdraw."""
        return self.status in (
            self.Status.SUBMITTED,
            self.Status.IN_REVIEW,
            self.Status.DOCUMENTS_REQUESTED,
        )


def document_path(instance: "Document", filename: str) -> str:
    """A storage name nobody can guess: no id, no original name."""
    return f"applications/{secrets.token_hex(16)}/{secrets.token_hex(16)}"


class Document(TenantModel):
    """A file of an application: uploaded by the citizen, or a receipt or notice we made."""

    class Kind(models.TextChoices):
        UPLOAD = "upload", _("document")
        RECEIPT = "receipt", _("acknowledgement of receipt")
        NOTICE = "notice", _("notice (Bescheid)")

    class ScanStatus(models.TextChoices):
        CLEAN = "clean", _("checked, nothing found")
        NOT_SCANNED = "not_scanned", _("type and size checked")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.UPLOAD)
    # The schema's file field it answers, or "" for documents supplied on request.
    field_id = models.CharField(_("form field"), max_length=64, blank=True)
    file = models.FileField(_("file"), upload_to=document_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    scan_status = models.CharField(_("scan"), max_length=12, choices=ScanStatus.choices)
    scan_detail = models.CharField(max_length=200, blank=True)
    # Supplied after the case worker asked for documents (shown so in the timeline).
    supplied_on_request = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["application", "kind"], name="applications_docs")]

    def __str__(self) -> str:
        return self.original_name


class Payment(TenantModel):
    """One attempt to pay an application's fee through a payment provider.

    The state only moves forward (``payments.TRANSITIONS``); the provider's reference is
    unique, so a repeated callback finds the same row and changes nothing.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        PENDING = "pending", _("pending")
        PAID = "paid", _("paid")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")
        REFUNDED = "refunded", _("refunded")

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(_("provider"), max_length=40)
    provider_reference = models.CharField(_("provider reference"), max_length=100)
    amount_cents = models.PositiveIntegerField(_("amount in cents"))
    currency = models.CharField(max_length=3, default="EUR")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    redirect_url = models.URLField(max_length=500, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # Every status report received (callback or query), for reconciliation and audits.
    history = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                "provider", "provider_reference", name="applications_payment_reference_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "created_at"],
                name="applications_payment_open",
                condition=Q(status__in=["open", "pending"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_reference} ({self.status})"


class TestProviderPayment(models.Model):
    """The "provider side" of the test payment provider: what a real provider would keep.

    Separate from ``Payment`` so that a lost callback is a real difference the
    reconciliation must find (the provider knows "paid", rathaus does not yet).
    """

    __test__ = False  # not a pytest test class

    reference = models.CharField(max_length=100, unique=True)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="EUR")
    description = models.CharField(max_length=200)
    return_url = models.CharField(max_length=500)
    status = models.CharField(max_length=10, default="open")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("test provider payment")

    def __str__(self) -> str:
        return f"{self.reference} ({self.status})"


class TimelineEvent(TenantModel):
    """One entry of an application's history; ``public`` ones are shown to the citizen."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Application started")
        SUBMITTED = "submitted", _("Application submitted")
        PAYMENT = "payment", _("Payment")
        DOCUMENT_UPLOADED = "document_uploaded", _("Document uploaded")
        DOCUMENTS_REQUESTED = "documents_requested", _("Documents requested")
        REMINDER = "reminder", _("Reminder sent")
        DOCUMENTS_SUPPLIED = "documents_supplied", _("Documents supplied")
        DECIDED = "decided", _("Decision taken")
        NOTICE_ISSUED = "notice_issued", _("Notice delivered to the mailbox")
        NOTICE_BY_POST = "notice_by_post", _("Notice to be sent by post")
        NOTICE_POSTED = "notice_posted", _("Notice sent by post")
        STATUS = "status", _("Status changed")
        WITHDRAWN = "withdrawn", _("Application withdrawn")
        CLOSED = "closed", _("Application closed")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    public = models.BooleanField(default=True)
    # A short text for people (a note, a file name); never form data.
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["application", "created_at"], name="applications_tl")]

    def __str__(self) -> str:
        return f"{self.kind} {self.application_id}"
