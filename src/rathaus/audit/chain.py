"""How an audit event's hash is computed; shared by writing and verifying."""

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rathaus.audit.models import AuditEvent

GENESIS_HASH = "0" * 64


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(
    *,
    chain: str,
    sequence: int,
    occurred_at: datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    target_type: str,
    target_id: str,
    data: dict[str, Any],
    ip: str | None,
    request_id: str,
    previous_hash: str,
) -> str:
    """SHA-256 over the canonical JSON of every stored field and the previous hash."""
    payload = canonical(
        {
            "chain": chain,
            "sequence": sequence,
            "occurred_at": occurred_at.isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "actor_label": actor_label,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "data": data,
            "ip": ip,
            "request_id": request_id,
            "previous_hash": previous_hash,
        }
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def event_hash_of(event: "AuditEvent") -> str:
    """The hash an event must carry, from its stored fields."""
    return event_hash(
        chain=event.chain,
        sequence=event.sequence,
        occurred_at=event.occurred_at,
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        data=event.data,
        ip=event.ip,
        request_id=event.request_id,
        previous_hash=event.previous_hash,
    )
