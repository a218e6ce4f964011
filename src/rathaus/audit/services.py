"""Writing to the audit trail. Every module records security- and privacy-relevant
events here and nowhere else."""

import json
from datetime import UTC
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from rathaus.audit.chain import GENESIS_HASH, event_hash_of
from rathaus.audit.models import AuditChainHead, AuditEvent, chain_key
from rathaus.core.logging import request_id_var
from rathaus.core.models import Municipality


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    # What is hashed must be what the database gives back: plain JSON types only.
    result: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return result


def audit_record(
    *,
    municipality: Municipality | None,
    action: str,
    actor: Any = None,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    data: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append an event to the municipality's chain (the platform chain for ``None``).

    ``action`` is a dotted name such as ``accounts.login.failed``; ``actor`` is the
    user who acted (or None for the system); ``target`` the object concerned. Runs in
    the caller's transaction: an event of work that is rolled back disappears with it.
    """
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    actor_id = getattr(actor, "pk", None) if actor is not None else None
    actor_label = (getattr(actor, "email", "") or str(actor))[:200] if actor is not None else ""
    payload = _json_safe(data or {})
    chain = chain_key(municipality.pk if municipality is not None else None)
    with transaction.atomic():
        AuditChainHead.objects.get_or_create(chain=chain, defaults={"hash": GENESIS_HASH})
        head = AuditChainHead.objects.select_for_update().get(chain=chain)
        event = AuditEvent(
            municipality=municipality,
            chain=chain,
            sequence=head.sequence + 1,
            occurred_at=timezone.now().astimezone(UTC),
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            target_type=target_type,
            target_id=target_id,
            data=payload,
            ip=ip or None,
            request_id=request_id if (request_id := request_id_var.get()) != "-" else "",
            previous_hash=head.hash,
        )
        event.hash = event_hash_of(event)
        event.save(force_insert=True)
        digest = event.hash
        head.sequence, head.hash = event.sequence, digest
        head.save(update_fields=["sequence", "hash"])
    return event
