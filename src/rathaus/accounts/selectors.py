from dataclasses import dataclass

from rathaus.accounts.consent import CURRENT_VERSIONS
from rathaus.accounts.models import ConsentRecord, User


@dataclass(frozen=True)
class ConsentState:
    purpose: str
    label: str
    active: ConsentRecord | None
    current_version: str


def consent_overview(*, user: User) -> list[ConsentState]:
    """Each consent purpose with the person's active consent, if any (one query)."""
    active = {
        c.purpose: c for c in ConsentRecord.objects.filter(user=user, withdrawn_at__isnull=True)
    }
    return [
        ConsentState(purpose, str(label), active.get(purpose), CURRENT_VERSIONS[purpose])
        for purpose, label in ConsentRecord.Purpose.choices
    ]
