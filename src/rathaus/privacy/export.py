"""Build the export of everything rathaus holds about a person (Art. 15 and 20 GDPR)."""

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from rathaus.privacy.personal_data import providers


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    data: Any


def personal_data_collect(*, user: Any) -> list[Section]:
    """One section per provider, in a stable order."""
    return [Section(p.key, str(p.title), p.export(user)) for p in providers()]


def personal_data_json(*, user: Any) -> str:
    """The machine-readable export: JSON with ISO dates, one key per provider."""
    document = {
        "generated_at": timezone.now(),
        "format": "rathaus-personal-data/1",
        "sections": {
            s.key: {"title": s.title, "data": s.data} for s in personal_data_collect(user=user)
        },
    }
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
