"""The engine's index of a municipality's public services, cached per process.

One ``TextIndex`` per municipality, rebuilt when a service or a lexicon entry of that
municipality changes. Changes are detected by a fingerprint (count and latest
``updated_at`` of public services and active lexicon entries) read with two cheap queries
per question; a building of the index over ~300 services takes well under a second.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max

from rathaus.assistant.engine import Lexicon, LexiconEntry, TextIndex, embedder_load
from rathaus.assistant.models import LexiconEntry as LexiconRow
from rathaus.catalog.models import Service
from rathaus.catalog.text import plain_text
from rathaus.core.models import Municipality

FIELD_WEIGHTS = {"name": 3.0, "terms": 2.0, "text": 0.6}


@dataclass(frozen=True)
class IndexedService:
    """What the assistant needs of a service without another query."""

    id: int
    source: str
    source_id: str
    slug: str
    name_de: str
    name_en: str


@dataclass
class CatalogIndex:
    fingerprint: tuple[object, ...]
    index: TextIndex
    services: dict[str, IndexedService]


_cache: dict[int, CatalogIndex] = {}
_lock = threading.Lock()


def _fingerprint(municipality: Municipality) -> tuple[object, ...]:
    services = Service.objects.filter(municipality=municipality, is_public=True).aggregate(
        n=Count("pk"), at=Max("updated_at")
    )
    entries = LexiconRow.objects.filter(municipality=municipality).aggregate(
        n=Count("pk"), at=Max("updated_at")
    )

    def stamp(value: datetime | None) -> str:
        return value.isoformat() if value else ""

    return (services["n"], stamp(services["at"]), entries["n"], stamp(entries["at"]))


def lexicon_for(municipality: Municipality) -> Lexicon:
    """The shipped lexicon with the municipality's active editor entries merged in."""
    rows = LexiconRow.objects.filter(municipality=municipality, is_active=True).order_by("pk")
    entries = [
        LexiconEntry(
            terms=tuple(t.strip() for t in row.terms.split(",") if t.strip()),
            expansions=tuple(t.strip() for t in row.expansions.split(",") if t.strip()),
            two_way=row.two_way,
        )
        for row in rows
    ]
    return Lexicon.default().merged(entries)


def service_fields(service: Service) -> dict[str, str]:
    """The weighted fields the engine indexes for a service."""
    return {
        "name": f"{service.name_de} {service.name_en}",
        "terms": " , ".join([*service.synonyms, *service.keywords]),
        "text": " ".join(
            part
            for part in (
                service.summary_de,
                service.summary_en,
                plain_text(service.description_de),
                plain_text(service.description_en),
            )
            if part
        ),
    }


def _build(municipality: Municipality, fingerprint: tuple[object, ...]) -> CatalogIndex:
    index = TextIndex(language="de", lexicon=lexicon_for(municipality), embedder=embedder_load())
    services: dict[str, IndexedService] = {}
    rows = (
        Service.objects.filter(municipality=municipality, is_public=True)
        .only(
            "pk",
            "source",
            "source_id",
            "slug",
            "name_de",
            "name_en",
            "synonyms",
            "keywords",
            "summary_de",
            "summary_en",
            "description_de",
            "description_en",
        )
        .order_by("pk")
    )
    for service in rows:
        key = str(service.pk)
        index.add(key, service_fields(service), FIELD_WEIGHTS)
        services[key] = IndexedService(
            id=service.pk,
            source=service.source,
            source_id=service.source_id,
            slug=service.slug,
            name_de=service.name_de,
            name_en=service.name_en,
        )
    index.prepare()
    return CatalogIndex(fingerprint=fingerprint, index=index, services=services)


def catalog_index(municipality: Municipality) -> CatalogIndex:
    """The current index of the municipality's public services (cached)."""
    fingerprint = _fingerprint(municipality)
    cached = _cache.get(municipality.pk)
    if cached is not None and cached.fingerprint == fingerprint:
        return cached
    with _lock:
        cached = _cache.get(municipality.pk)
        if cached is None or cached.fingerprint != fingerprint:
            cached = _build(municipality, fingerprint)
            _cache[municipality.pk] = cached
    return cached


def catalog_index_clear() -> None:
    """Forget every cached index (tests, after a bulk import in the same process)."""
    with _lock:
        _cache.clear()
