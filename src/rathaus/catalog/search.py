"""Finding services by what citizens type: the keyword engine and the interface for others.

``selectors.service_search`` asks the engine named by ``RATHAUS_CATALOG_SEARCH_ENGINE``
(a dotted path; default ``KeywordSearch``). The service assistant brings a natural-language
engine later; it implements ``ServiceSearchEngine`` and every caller (pages, API, kiosk)
gets it without change.

The keyword engine ranks in one SQL query that is the same on SQLite and PostgreSQL: each
service keeps folded copies of its names, synonyms and keywords, and texts (``fold``:
lower case, "ä", "ae" and "a" alike, punctuation dropped), and each query word scores by
where it is found, and the points add up: in the names a whole word beats the start of a
word, which beats a part of a word ("ausweis" in "Personalausweis"); in the synonyms and
keywords a whole term counts nearly like a word of the name; the texts count a little. A
catalogue has hundreds of services per municipality, so LIKE scans are cheap; full-text
search would rank differently on the two databases.
"""

from dataclasses import dataclass
from typing import Protocol

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Length

from rathaus.catalog.models import Service
from rathaus.catalog.text import fold, plain_text
from rathaus.core.models import Municipality

MAX_QUERY_LENGTH = 200
MAX_WORDS = 8

# Words that say nothing about which service is meant.
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "can",
        "do",
        "for",
        "how",
        "i",
        "in",
        "is",
        "it",
        "my",
        "of",
        "on",
        "or",
        "the",
        "to",
        "what",
        "where",
        "with",
        "you",
        "your",
        "ab",
        "am",
        "auf",
        "aus",
        "bei",
        "bin",
        "bis",
        "das",
        "dass",
        "dem",
        "den",
        "der",
        "des",
        "die",
        "ein",
        "eine",
        "einem",
        "einen",
        "einer",
        "es",
        "fur",
        "hab",
        "habe",
        "haben",
        "ich",
        "im",
        "ist",
        "kann",
        "mein",
        "meine",
        "meinen",
        "meiner",
        "mir",
        "mit",
        "muss",
        "nach",
        "oder",
        "sich",
        "sie",
        "und",
        "von",
        "was",
        "wie",
        "wir",
        "wo",
        "zu",
        "zum",
        "zur",
    }
)


@dataclass(frozen=True)
class ServiceHit:
    """A service found for a query, in the language asked for (German where no English)."""

    id: int
    slug: str
    source: str
    source_id: str
    name: str
    name_lang: str
    summary: str
    summary_lang: str
    online_mode: str
    score: int


class ServiceSearchEngine(Protocol):
    """What any search engine of the catalogue offers."""

    def search(
        self, *, municipality: Municipality, query: str, language: str, limit: int
    ) -> list[ServiceHit]:
        """Public services of ``municipality`` for ``query``, best first, at most ``limit``."""
        ...


def search_fields(
    *,
    name_de: str,
    name_en: str,
    synonyms: list[str],
    keywords: list[str],
    summary_de: str,
    summary_en: str,
    description_de: str,
    description_en: str,
) -> dict[str, str]:
    """The folded copies a service stores for search (``Service.search_*``)."""
    terms = [fold(term) for term in [*synonyms, *keywords]]
    texts = [summary_de, summary_en, plain_text(description_de), plain_text(description_en)]
    return {
        "search_name": f" {fold(name_de)} {fold(name_en)} ".replace("  ", " "),
        "search_terms": "| " + " | ".join(term for term in terms if term) + " |",
        "search_body": " " + " ".join(fold(text) for text in texts if text) + " ",
    }


def query_words(query: str) -> list[str]:
    """The folded words of a query that can identify a service (at most eight)."""
    words = []
    for word in fold(query[:MAX_QUERY_LENGTH]).split():
        if len(word) >= 2 and word not in STOPWORDS and word not in words:
            words.append(word)
    return words[:MAX_WORDS]


def _case(*whens: When) -> Case:
    return Case(*whens, default=Value(0), output_field=IntegerField())


def _score(word: str) -> CombinedExpression:
    """Points for one word: the best match in the names, plus in the terms, plus in texts."""
    name = _case(
        When(search_name__contains=f" {word} ", then=Value(30)),
        When(search_name__contains=f" {word}", then=Value(20)),
        When(search_name__contains=word, then=Value(12)),
    )
    terms = _case(
        When(search_terms__contains=f"| {word} |", then=Value(20)),
        When(search_terms__contains=f" {word}", then=Value(8)),
        When(search_terms__contains=word, then=Value(4)),
    )
    body = _case(When(search_body__contains=f" {word}", then=Value(2)))
    return name + terms + body


class KeywordSearch:
    """Keyword search over names, synonyms, keywords and texts; see the module docstring."""

    def search(
        self, *, municipality: Municipality, query: str, language: str, limit: int
    ) -> list[ServiceHit]:
        """Public services of ``municipality`` for ``query``, best first, at most ``limit``."""
        words = query_words(query)
        if not words or limit < 1:
            return []
        matches = Q()
        for word in words:
            matches |= (
                Q(search_name__contains=word)
                | Q(search_terms__contains=word)
                | Q(search_body__contains=f" {word}")
            )
        score = sum((_score(word) for word in words[1:]), start=_score(words[0]))
        phrase = " ".join(words)
        if len(words) > 1:
            score = score + _case(When(search_name__contains=f" {phrase}", then=Value(25)))
        rows: QuerySet[Service, dict[str, object]] = (
            Service.objects.filter(matches, municipality=municipality, is_public=True)
            .annotate(score=score, name_length=Length("name_de"))
            .order_by("-score", "name_length", "name_de", "pk")
            .values(
                "id",
                "slug",
                "source",
                "source_id",
                "name_de",
                "name_en",
                "summary_de",
                "summary_en",
                "online_mode",
                "score",
            )[:limit]
        )
        english = language == "en"
        return [
            ServiceHit(
                id=int(row["id"]),  # type: ignore[call-overload]
                slug=str(row["slug"]),
                source=str(row["source"]),
                source_id=str(row["source_id"]),
                name=str((english and row["name_en"]) or row["name_de"]),
                name_lang="en" if english and row["name_en"] else "de",
                summary=str((english and row["summary_en"]) or row["summary_de"]),
                summary_lang="en" if english and row["summary_en"] else "de",
                online_mode=str(row["online_mode"]),
                score=int(row["score"]),  # type: ignore[call-overload]
            )
            for row in rows
        ]
