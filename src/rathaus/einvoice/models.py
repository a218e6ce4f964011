"""Incoming e-invoices, the Leitweg-ID register, approvals and exports.

An ``Invoice`` keeps the original bytes exactly as received with their SHA-256, the
validation report and the EN 16931 model. Nothing in the application changes those
fields after the row is created (GoBD): services only add approvals, a status, export
marks.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rathaus.core.models import TenantModel

RECEIVE = "einvoice.receive_invoice"
APPROVE = "einvoice.approve_invoice"
EXPORT = "einvoice.export_invoice"
MANAGE = "einvoice.manage_einvoice"


class LeitwegRoute(TenantModel):
    """One Leitweg-ID of the municipality and the org unit its invoices go to."""

    leitweg_id = models.CharField(_("Leitweg-ID"), max_length=46)
    org_unit = models.ForeignKey(
        "organisation.OrgUnit",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("org unit"),
    )
    label = models.CharField(pgettext_lazy("Leitweg-ID", "label"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("Leitweg-ID")
        verbose_name_plural = _("Leitweg-IDs")
        ordering = ["leitweg_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "leitweg_id"], name="einvoice_leitweg_unique"
            )
        ]

    def __str__(self) -> str:
        return self.leitweg_id


class Invoice(TenantModel):
    """An incoming invoice as received, validated and (if accepted) in approval."""

    class Channel(models.TextChoices):
        UPLOAD = "upload", _("upload")
        API = "api", _("API")
        EMAIL = "email", _("e-mail")
        PEPPOL = "peppol", _("Peppol")

    class Status(models.TextChoices):
        INVALID = "invalid", _("not valid")
        UNROUTED = "unrouted", _("no org unit")
        IN_APPROVAL = "in_approval", _("in approval")
        APPROVED = "approved", pgettext_lazy("invoice status", "approved")
        REJECTED = "rejected", pgettext_lazy("invoice status", "rejected")

    class Duplicate(models.TextChoices):
        NONE = "", _("no")
        SUSPECTED = "suspected", _("probable duplicate")
        DISTINCT = "distinct", _("confirmed as not a duplicate")

    sha256 = models.CharField(_("SHA-256"), max_length=64)
    original = models.BinaryField(_("original file"))
    xml = models.BinaryField(_("invoice XML"), blank=True, default=b"")
    file_name = models.CharField(_("file name"), max_length=255)
    container = models.CharField(_("container"), max_length=20, default="xml")
    channel = models.CharField(_("receiving channel"), max_length=10, choices=Channel.choices)
    sender = models.CharField(_("sender address"), max_length=254, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("received by"),
    )
    # The validation verdict and report (kosit.ValidationResult.as_dict()).
    accepted = models.BooleanField(_("valid"))
    scenario = models.CharField(_("scenario"), max_length=200, blank=True)
    report = models.JSONField(_("validation report"), default=dict)
    data = models.JSONField(_("EN 16931 model"), default=dict)
    # Copied out of the model for lists, duplicates and exports.
    number = models.CharField(_("invoice number"), max_length=200, blank=True)
    issue_date = models.DateField(_("invoice date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    seller_name = models.CharField(_("seller"), max_length=300, blank=True)
    seller_vat_id = models.CharField(_("seller VAT ID"), max_length=100, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    amount_due = models.DecimalField(
        _("amount due"), max_digits=19, decimal_places=2, null=True, blank=True
    )
    leitweg_id = models.CharField(_("Leitweg-ID"), max_length=100, blank=True)
    leitweg_valid = models.BooleanField(_("Leitweg-ID valid"), default=False)
    org_unit = models.ForeignKey(
        "organisation.OrgUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("org unit"),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    duplicate = models.CharField(
        _("duplicate"), max_length=10, choices=Duplicate.choices, default="", blank=True
    )
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("probable duplicate of"),
    )
    rejection_reason = models.TextField(_("reason for rejection"), max_length=2000, blank=True)
    workflow_instance = models.ForeignKey(
        "workflow.ProcessInstance",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    payment_ordered_at = models.DateTimeField(_("payment order issued"), null=True, blank=True)
    exported_at = models.DateTimeField(_("exported"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("receive_invoice", _("Receive and read e-invoices")),
            ("approve_invoice", _("Approve e-invoices")),
            ("export_invoice", _("Export e-invoices to accounting")),
            ("manage_einvoice", _("Manage the Leitweg-ID register and routing")),
        ]
        constraints = [
            # Idempotent receipt: the same bytes twice are one invoice.
            models.UniqueConstraint(fields=["municipality", "sha256"], name="einvoice_sha_unique")
        ]
        indexes = [
            models.Index(fields=["municipality", "status"]),
            models.Index(fields=["municipality", "seller_vat_id", "number"]),
        ]

    def __str__(self) -> str:
        return self.number or self.file_name


class Approval(TenantModel):
    """One check of an invoice by one person: the record of the four-eyes principle."""

    class Step(models.TextChoices):
        FACTUAL = "factual", _("factually correct")
        ARITHMETIC = "arithmetic", _("arithmetically correct")
        EXTRA = "extra", _("approval above the limit")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="approvals")
    step = models.CharField(_("step"), max_length=12, choices=Step.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    approved = models.BooleanField(_("confirmed"))
    comment = models.TextField(pgettext_lazy("approval", "comment"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "step"], name="einvoice_approval_step"),
            # The same person never signs two steps of one invoice.
            models.UniqueConstraint(fields=["invoice", "user"], name="einvoice_approval_person"),
        ]


class Export(TenantModel):
    """One export to accounting: which invoices, by whom, the files as produced."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    invoices = models.ManyToManyField(Invoice, related_name="exports")
    csv = models.TextField(_("CSV"))
    json = models.TextField(_("JSON"))

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-pk"]


class Reminder(TenantModel):
    """A reminder sent for a due date or cash-discount deadline (sent once)."""

    class Kind(models.TextChoices):
        DUE = "due", _("due date")
        SKONTO = "skonto", _("cash discount")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    deadline = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "kind", "deadline"], name="einvoice_reminder_once"
            )
        ]
