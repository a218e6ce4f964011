"""Writing to the audit trail. Every module records security- and privacy-relevant
events here and nowhere else."""

import ipaddress
import json
from datetime import UTC
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models, transaction
from django.utils import timezone

from rathaus.audit.chain import GENESIS_HASH, event_hash_of
from rathaus.audit.models import AuditChainHead, AuditEvent, chain_key
from rathaus.core.logging import request_id_var
from rathaus.core.models import Municipality

#: A staff member read a citizen's personal data (``audit_personal_data_read``).
ACTION_PERSONAL_DATA_READ = "privacy.personal_data.read"
#: An auditor exported (part of) the trail.
ACTION_EXPORTED = "audit.exported"


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    # What is hashed must be what the database gives back: plain JSON types only.
    result: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return result


def _ip_normalised(ip: str | None) -> str | None:
    # The database normalises addresses (``2001:DB8::1`` comes back as ``2001:db8::1``);
    # hashing the raw text would make a genuine event fail verification later.
    if not ip:
        return None
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        return None


def _head_locked(chain: str) -> AuditChainHead:
    """The chain's head row, locked for this transaction; created for a new chain."""
    head = AuditChainHead.objects.select_for_update().filter(chain=chain).first()
    if head is None:
        # First event of the chain. A concurrent first append waits on the primary key
        # here and then does nothing, so exactly one head exists; both lock it below.
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(chain=chain, sequence=0, hash=GENESIS_HASH)], ignore_conflicts=True
        )
        head = AuditChainHead.objects.select_for_update().get(chain=chain)
    return head


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
    Appending locks the chain's head row, so concurrent appends to one chain queue up
    and the chain never forks; different municipalities never wait for each other.
    """
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    actor_id = getattr(actor, "pk", None) if actor is not None else None
    actor_label = (getattr(actor, "email", "") or str(actor))[:200] if actor is not None else ""
    payload = _json_safe(data or {})
    chain = chain_key(municipality.pk if municipality is not None else None)
    request_id = request_id_var.get()
    with transaction.atomic():
        head = _head_locked(chain)
        event = AuditEvent(
            municipality=municipality,
            chain=chain,
            sequence=head.sequence + 1,
            occurred_at=timezone.now().astimezone(UTC),
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            target_type=target_type[:100],
            target_id=target_id[:100],
            data=payload,
            ip=_ip_normalised(ip),
            request_id=request_id if request_id != "-" else "",
            previous_hash=head.hash,
        )
        event.hash = event_hash_of(event)
        event.save(force_insert=True)
        head.sequence, head.hash = event.sequence, event.hash
        head.save(update_fields=["sequence", "hash"])
    return event


def audit_personal_data_read(
    *,
    municipality: Municipality,
    actor: AbstractBaseUser,
    subject: models.Model,
    purpose: str,
    ip: str | None = None,
) -> AuditEvent:
    """Record that staff member ``actor`` read the personal data of ``subject``, and why.

    Call it wherever staff open a citizen's personal data (a case, an account, a
    document); ``purpose`` says what for, in a few words (``"Antrag 2024-17 prüfen"``),
    and is required: GDPR accountability asks for it (Art. 5 (2)). The event's target is
    ``subject``, so a citizen's data export can list who looked at their data.
    """
    purpose = purpose.strip()
    if not purpose:
        raise ValueError("A read of personal data must name its purpose.")
    return audit_record(
        municipality=municipality,
        action=ACTION_PERSONAL_DATA_READ,
        actor=actor,
        target=subject,
        data={"purpose": purpose[:500]},
        ip=ip,
    )
