"""The audit trail: append-only, hash-chained per municipality.

Each event carries the hash of the one before it in its chain, so changing or
removing a row anywhere breaks every later hash (``rathaus audit verify`` finds the
first broken one). Actors are stored by id and label, not as foreign keys, so that
deleting an account can never rewrite history.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rathaus.core.models import Municipality

PLATFORM_CHAIN = "platform"


def chain_key(municipality_id: int | None) -> str:
    """The chain an event belongs to: one per municipality, one for the platform."""
    return str(municipality_id) if municipality_id is not None else PLATFORM_CHAIN


class AuditEvent(models.Model):
    chain = models.CharField(max_length=20, editable=False)
    sequence = models.PositiveBigIntegerField(editable=False)
    municipality = models.ForeignKey(
        Municipality,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    occurred_at = models.DateTimeField(_("time"), default=timezone.now, editable=False)
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True, editable=False)
    actor_label = models.CharField(_("actor"), max_length=200, blank=True, editable=False)
    action = models.CharField(_("action"), max_length=100, editable=False)
    target_type = models.CharField(_("object type"), max_length=100, blank=True, editable=False)
    target_id = models.CharField(_("object id"), max_length=100, blank=True, editable=False)
    data = models.JSONField(_("details"), default=dict, blank=True, editable=False)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True, editable=False)
    request_id = models.CharField(_("request id"), max_length=64, blank=True, editable=False)
    previous_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["chain", "sequence"]
        constraints = [
            models.UniqueConstraint("chain", "sequence", name="audit_event_chain_sequence")
        ]
        indexes = [
            models.Index("municipality", "occurred_at", name="audit_event_tenant_time"),
            models.Index("municipality", "action", name="audit_event_tenant_action"),
            models.Index("municipality", "actor_id", name="audit_event_tenant_actor"),
        ]
        # Nobody adds, changes or deletes events through the application: the only
        # rights are to read the trail and to export it.
        default_permissions = ("view",)
        permissions = [("export_auditevent", "Can export the audit trail")]

    def __str__(self) -> str:
        return f"{self.chain}#{self.sequence} {self.action}"


class AuditChainHead(models.Model):
    """The last event of a chain; appending locks this row, so a chain never forks."""

    chain = models.CharField(max_length=20, primary_key=True)
    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        # Internal bookkeeping of the writer: no one is granted rights on it.
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.chain}#{self.sequence}"
