"""The assistant's engine behind the catalogue's search box (``ServiceSearchEngine``).

Set ``RATHAUS_CATALOG_SEARCH_ENGINE=rathaus.assistant.search.AssistantSearch`` and the
Bürgerkonto's catalogue search, its API and every other caller of
``catalog.selectors.service_search`` rank with the assistant's engine (synonyms, typos,
compounds, English questions) instead of the keyword engine.
"""

from __future__ import annotations

from rathaus.assistant.catalog_index import catalog_index
from rathaus.catalog.models import Service
from rathaus.catalog.search import ServiceHit
from rathaus.core.models import Municipality

SCORE_SCALE = 10


class AssistantSearch:
    """Natural-language search over the public services of a municipality."""

    def search(
        self, *, municipality: Municipality, query: str, language: str, limit: int
    ) -> list[ServiceHit]:
        """Public services of ``municipality`` for ``query``, best first, at most ``limit``."""
        if limit < 1 or not query.strip():
            return []
        current = catalog_index(municipality)
        hits = current.index.search(query, limit=limit)
        rows = Service.objects.filter(
            municipality=municipality, is_public=True, pk__in=[int(hit.doc_id) for hit in hits]
        ).only(
            "pk",
            "slug",
            "source",
            "source_id",
            "name_de",
            "name_en",
            "summary_de",
            "summary_en",
            "online_mode",
        )
        by_id = {str(row.pk): row for row in rows}
        english = language == "en"
        result = []
        for hit in hits:
            row = by_id.get(hit.doc_id)
            if row is None:
                continue
            result.append(
                ServiceHit(
                    id=row.pk,
                    slug=row.slug,
                    source=row.source,
                    source_id=row.source_id,
                    name=(english and row.name_en) or row.name_de,
                    name_lang="en" if english and row.name_en else "de",
                    summary=(english and row.summary_en) or row.summary_de,
                    summary_lang="en" if english and row.summary_en else "de",
                    online_mode=row.online_mode,
                    # The catalogue's hits carry whole points; keep one decimal of the
                    # engine's score in them.
                    score=round(hit.score * SCORE_SCALE),
                )
            )
        return result
