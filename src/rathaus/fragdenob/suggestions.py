"""Similar published questions, while a citizen types (duplicate avoidance).

The ranking is the assistant's text engine (``rathaus.assistant.engine``). Each web
process keeps one index per municipality in memory and rebuilds it when the version in
the shared cache moved on: ``services.index_invalidate`` bumps it when a question is
published, so every process sees new questions at its next suggestion.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.core.cache import cache

from rathaus.assistant.engine import TextIndex
from rathaus.core.models import Municipality
from rathaus.fragdenob.models import Question
from rathaus.fragdenob.selectors import index_version_key

QUERY_MAX_CHARS = 1200
# Field weights: the question itself says most about a duplicate.
WEIGHTS = {"title": 3.0, "background": 1.0, "answer": 0.5}

_lock = threading.Lock()
_indexes: dict[int, tuple[int, TextIndex]] = {}


@dataclass(frozen=True)
class Suggestion:
    question: Question
    score: float


def _version(municipality_id: int) -> int:
    value = cache.get(index_version_key(municipality_id))
    return value if isinstance(value, int) else 0


def index_build(*, municipality: Municipality) -> TextIndex:
    """A fresh index of the municipality's published and answered questions."""
    index = TextIndex(language="de")
    rows = Question.objects.filter(
        municipality=municipality, status__in=Question.PUBLIC
    ).values_list("pk", "title", "background", "answer")
    for pk, title, background, answer in rows.iterator(chunk_size=2000):
        index.add(str(pk), {"title": title, "background": background, "answer": answer}, WEIGHTS)
    return index


def index_for(*, municipality: Municipality) -> TextIndex:
    """The cached index of the municipality, rebuilt when a publication invalidated it."""
    version = _version(municipality.pk)
    cached = _indexes.get(municipality.pk)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _lock:
        cached = _indexes.get(municipality.pk)
        if cached is not None and cached[0] == version:
            return cached[1]
        index = index_build(municipality=municipality)
        _indexes[municipality.pk] = (version, index)
        return index


def index_forget() -> None:
    """Drop every cached index of this process (tests, after loading data)."""
    with _lock:
        _indexes.clear()


def similar_questions(*, municipality: Municipality, text: str, limit: int = 5) -> list[Suggestion]:
    """Published questions like ``text`` (a title and background being typed), best first."""
    text = (text or "")[:QUERY_MAX_CHARS].strip()
    if len(text) < 3:
        return []
    hits = index_for(municipality=municipality).search(text, limit=limit)
    if not hits:
        return []
    # The index may be a moment old: read the rows again and drop what is no longer public.
    found = {
        q.pk: q
        for q in Question.objects.filter(
            municipality=municipality,
            status__in=Question.PUBLIC,
            pk__in=[int(hit.doc_id) for hit in hits],
        ).select_related("topic")
    }
    return [
        Suggestion(question=found[int(hit.doc_id)], score=hit.score)
        for hit in hits
        if int(hit.doc_id) in found
    ]
