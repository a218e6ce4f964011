"""The in-memory text index: BM25F ranking over German-aware terms.

Documents have named fields (name, terms, text, ...) with weights. Each field's words are
folded and stemmed; compound words are also split into the words they are made of when
those words occur in the collection ("Bewohnerparkausweis" also counts as "Park" and
"Ausweis", at half weight). A query is cut into concepts, one per meaningful word, each with
alternatives: the word's stem, its parts if it is an unknown compound, its correction if it
is a typo of a known word, and the expansions of the lexicon for the phrase it is part of.
A document scores per concept by its best alternative (BM25F), summed over concepts, with
a bonus for covering more of the concepts.

Everything derived (idf, impacts, the typo and compound vocabularies) is built lazily on
the first search after an ``add``; a search over a few hundred documents takes about a
millisecond.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rathaus.assistant.engine.analysis import STOPWORDS, fold, stem
from rathaus.assistant.engine.lexicon import Lexicon
from rathaus.assistant.engine.semantic import Embedder, cosine, normalised

MAX_QUERY_CHARS = 1000
MAX_QUERY_WORDS = 40
K1 = 1.2
B = 0.6
COMPOUND_PART_WEIGHT = 0.5
QUERY_PART_WEIGHT = 0.8
TYPO_WEIGHT = 0.8
EXPANSION_WEIGHT = 0.9
COVERAGE_BONUS = 0.5
# Semantic blending (only with an embedder): the lexical top candidates gain up to this
# share of the best lexical score times their cosine similarity to the question.
SEMANTIC_WEIGHT = 0.3
SEMANTIC_CANDIDATES = 50
SEMANTIC_TEXT_CHARS = 1000
_FUGEN = ("s", "es", "n", "en", "e", "er")
_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Hit:
    """A document found for a query: its id, its score and the query words that matched."""

    doc_id: str
    score: float
    matched: tuple[str, ...]


@dataclass
class _Concept:
    """One meaningful part of a query and the ways a document may match it."""

    words: tuple[str, ...]
    alternatives: list[dict[str, float]] = field(default_factory=list)


def damerau_levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance with transpositions, ``limit + 1`` as soon as it is exceeded."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        best = current[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            best = min(best, value)
        if best > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class TextIndex:
    """A ranked text index of documents with weighted fields; see the module docstring."""

    def __init__(
        self,
        language: str = "de",
        lexicon: Lexicon | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.language = language
        self.lexicon = Lexicon.default() if lexicon is None else lexicon
        self.embedder = embedder
        self._texts: list[str] = []
        self._vectors: list[tuple[float, ...]] = []
        self._docs: list[str] = []
        self._positions: dict[str, int] = {}
        # Per document: field -> (weight, stem -> count, length).
        self._fields: list[dict[str, tuple[float, dict[str, float], int]]] = []
        self._surface: dict[str, int] = defaultdict(int)
        self._built = False
        self._impacts: dict[str, dict[int, float]] = {}
        self._fuzzy: dict[str, set[str]] = {}
        self._known: set[str] = set()
        self._splits: dict[str, tuple[str, ...] | None] = {}

    def __len__(self) -> int:
        return len(self._docs)

    def add(
        self,
        doc_id: str,
        fields: Mapping[str, str],
        weights: Mapping[str, float] | None = None,
    ) -> None:
        """Add (or replace) the document ``doc_id`` with its ``fields``; weights default 1."""
        analysed: dict[str, tuple[float, dict[str, float], int]] = {}
        for name, text in fields.items():
            counts: dict[str, float] = defaultdict(float)
            length = 0
            for word in fold(text or "").split():
                if word in STOPWORDS or len(word) < 2:
                    continue
                counts[stem(word)] += 1
                self._surface[word] += 1
                length += 1
            weight = float((weights or {}).get(name, 1.0))
            analysed[name] = (weight, dict(counts), length)
        text = " ".join(str(value or "") for value in fields.values())[:SEMANTIC_TEXT_CHARS]
        if doc_id in self._positions:
            self._fields[self._positions[doc_id]] = analysed
            self._texts[self._positions[doc_id]] = text
        else:
            self._positions[doc_id] = len(self._docs)
            self._docs.append(doc_id)
            self._fields.append(analysed)
            self._texts.append(text)
        self._built = False

    # Building --------------------------------------------------------------------------

    def _build(self) -> None:
        lexicon_words = {word for key in self.lexicon.rules for word in key if len(word) > 2} | {
            word
            for phrases in self.lexicon.rules.values()
            for phrase in phrases
            for word in fold(phrase).split()
        }
        self._known = {w for w in self._surface if len(w) >= 3 and w not in STOPWORDS}
        self._known |= {w for w in lexicon_words if w not in STOPWORDS}
        self._splits = {}
        surface_stems = {stem(word): word for word in self._known}
        # Compounds of every document field also count as their parts.
        expanded: list[dict[str, tuple[float, dict[str, float], int]]] = []
        for fields in self._fields:
            doc_fields = {}
            for name, (weight, counts, length) in fields.items():
                counts = dict(counts)
                for term, count in list(counts.items()):
                    word = surface_stems.get(term)
                    if word is None or len(word) < 8:
                        continue
                    for part in self._split(word) or ():
                        part_stem = stem(part)
                        if part_stem != term:
                            counts[part_stem] = counts.get(part_stem, 0) + (
                                count * COMPOUND_PART_WEIGHT
                            )
                doc_fields[name] = (weight, counts, length)
            expanded.append(doc_fields)
        totals: dict[str, float] = defaultdict(float)
        numbers: dict[str, int] = defaultdict(int)
        for fields in expanded:
            for name, (_weight, _counts, length) in fields.items():
                totals[name] += length
                numbers[name] += 1
        averages = {name: max(totals[name] / numbers[name], 1.0) for name in totals}
        pseudo: dict[str, dict[int, float]] = defaultdict(dict)
        for position, fields in enumerate(expanded):
            for name, (weight, counts, length) in fields.items():
                norm = 1 - B + B * length / averages[name]
                for term, count in counts.items():
                    pseudo[term][position] = pseudo[term].get(position, 0.0) + (
                        weight * count / norm
                    )
        total = len(self._docs)
        self._impacts = {}
        for term, postings in pseudo.items():
            idf = math.log(1 + (total - len(postings) + 0.5) / (len(postings) + 0.5))
            self._impacts[term] = {
                position: idf * value * (K1 + 1) / (value + K1)
                for position, value in postings.items()
            }
        self._vectors = []
        if self.embedder is not None:
            self._vectors = [normalised(v) for v in self.embedder(self._texts)]
        self._fuzzy = defaultdict(set)
        for word in self._known:
            if len(word) >= 4:
                self._fuzzy[word].add(word)
                for deleted in _deletes(word):
                    self._fuzzy[deleted].add(word)
        self._built = True

    def _split(self, word: str) -> tuple[str, ...] | None:
        """The known words ``word`` is compounded of (longest last word first), or None."""
        if word in self._splits:
            return self._splits[word]
        self._splits[word] = None
        result: tuple[str, ...] | None = None
        tail_only: tuple[str, ...] | None = None
        for cut in range(3, len(word) - 3):
            head, tail = word[:cut], word[cut:]
            if tail not in self._known:
                continue
            tail_parts = self._split(tail) if len(tail) >= 8 else None
            tail_all = (tail, *(tail_parts or ()))
            heads = [head] + [head[: -len(f)] for f in _FUGEN if head.endswith(f)]
            for candidate in heads:
                if len(candidate) < 3:
                    continue
                if candidate in self._known:
                    result = (candidate, *tail_all)
                    break
                head_parts = self._split(candidate) if len(candidate) >= 6 else None
                if head_parts:
                    result = (*head_parts, *tail_all)
                    break
            if result:
                break
            # The last word of a German compound carries its meaning ("...ausweis"):
            # keep the longest known one even when the rest is not a known word.
            if tail_only is None and len(tail) >= 5:
                tail_only = tail_all
        result = result or tail_only
        self._splits[word] = result
        return result

    def _correct(self, word: str) -> str | None:
        """The known word closest to the unknown ``word`` (a typo), or None."""
        if len(word) < 5:
            return None
        limit = 1 if len(word) < 8 else 2
        candidates: set[str] = set(self._fuzzy.get(word, ()))
        for deleted in _deletes(word):
            candidates |= self._fuzzy.get(deleted, set())
            if limit > 1:
                candidates.add(deleted)
                for twice in _deletes(deleted):
                    candidates |= self._fuzzy.get(twice, set())
        best: tuple[int, int, str] | None = None
        for candidate in candidates:
            if candidate not in self._known:
                continue
            distance = damerau_levenshtein(word, candidate, limit)
            if distance > limit or candidate[0] != word[0]:
                continue
            key = (distance, -self._surface.get(candidate, 0), candidate)
            if best is None or key < best:
                best = key
        return best[2] if best else None

    # Searching -------------------------------------------------------------------------

    def _phrase_terms(self, phrase: str, weight: float) -> dict[str, float]:
        terms: dict[str, float] = {}
        for word in fold(phrase).split():
            if word in STOPWORDS or len(word) < 2:
                continue
            term = stem(word)
            if term in self._impacts:
                terms[term] = max(terms.get(term, 0), weight)
            elif len(word) >= 8:
                for part in self._split(word) or ():
                    terms[stem(part)] = max(terms.get(stem(part), 0), weight * QUERY_PART_WEIGHT)
        return terms

    def _concepts(self, query: str) -> list[_Concept]:
        originals = _TOKEN.findall(query[:MAX_QUERY_CHARS])
        tokens: list[tuple[str, str]] = []
        for original in originals:
            for word in fold(original).split():
                if len(word) > 1 and word not in STOPWORDS:
                    tokens.append((original, word))
        tokens = tokens[:MAX_QUERY_WORDS]
        concepts: list[_Concept] = []
        stems: list[str] = []
        for original, word in tokens:
            concept = _Concept(words=(original,))
            term = stem(word)
            lexical_key = any(term in key for key in self.lexicon.rules)
            if term in self._impacts:
                concept.alternatives.append({term: 1.0})
            elif not lexical_key:
                parts = self._split(word) if len(word) >= 8 else None
                if parts:
                    concept.alternatives.append({stem(part): QUERY_PART_WEIGHT for part in parts})
                else:
                    corrected = self._correct(word)
                    if corrected:
                        term = stem(corrected)
                        concept.alternatives.append({term: TYPO_WEIGHT})
            stems.append(term)
            concepts.append(concept)
        for start, length, phrases in self.lexicon.expansions(stems):
            span = concepts[start : start + length]
            alternatives = [
                terms
                for phrase in sorted(phrases)
                if (terms := self._phrase_terms(phrase, EXPANSION_WEIGHT))
            ]
            if not alternatives:
                continue
            if length == 1:
                span[0].alternatives.extend(alternatives)
            else:
                words = tuple(word for concept in span for word in concept.words)
                concepts.append(_Concept(words=words, alternatives=alternatives))
        return [concept for concept in concepts if concept.alternatives]

    def search(self, query: str, *, limit: int = 10) -> list[Hit]:
        """The best documents for ``query``, best first, at most ``limit``."""
        if limit < 1 or not self._docs or not isinstance(query, str):
            return []
        if not self._built:
            self._build()
        concepts = self._concepts(query)
        if not concepts:
            return []
        scores: dict[int, float] = defaultdict(float)
        covered: dict[int, list[str]] = defaultdict(list)
        for concept in concepts:
            best: dict[int, float] = {}
            for alternative in concept.alternatives:
                sums: dict[int, float] = defaultdict(float)
                for term, weight in alternative.items():
                    for position, impact in self._impacts.get(term, {}).items():
                        sums[position] += weight * impact
                for position, value in sums.items():
                    if value > best.get(position, 0.0):
                        best[position] = value
            for position, value in best.items():
                scores[position] += value
                covered[position].extend(concept.words)
        count = len(concepts)
        ranked = []
        for position, value in scores.items():
            coverage = len(set(covered[position])) / max(
                len({w for c in concepts for w in c.words}), 1
            )
            ranked.append((value * (1 + COVERAGE_BONUS * coverage), position))
        ranked.sort(key=lambda item: (-item[0], item[1]))
        del count
        if self.embedder is not None and ranked and len(self._vectors) == len(self._docs):
            ranked = self._blend(query, ranked)
        return [
            Hit(
                doc_id=self._docs[position],
                score=round(value, 4),
                matched=tuple(dict.fromkeys(covered[position])),
            )
            for value, position in ranked[:limit]
        ]

    def _blend(self, query: str, ranked: list[tuple[float, int]]) -> list[tuple[float, int]]:
        """Re-rank the lexical top candidates by adding semantic similarity."""
        assert self.embedder is not None
        question = normalised(self.embedder([query[:MAX_QUERY_CHARS]])[0])
        top = ranked[0][0]
        head = [
            (value + SEMANTIC_WEIGHT * top * max(cosine(question, self._vectors[pos]), 0.0), pos)
            for value, pos in ranked[:SEMANTIC_CANDIDATES]
        ]
        head.sort(key=lambda item: (-item[0], item[1]))
        return head + ranked[SEMANTIC_CANDIDATES:]

    def prepare(self) -> None:
        """Build the derived structures now (otherwise the first search does)."""
        if not self._built:
            self._build()

    def doc_ids(self) -> Iterable[str]:
        """The ids of all documents, in the order they were added."""
        return iter(self._docs)
