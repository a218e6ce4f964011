"""Synonyms and colloquialisms: the words citizens use for the words of the administration.

A lexicon maps phrases (one to three words) to expansions. An entry is either an
equivalence (``perso = personalausweis``: each side expands to the other) or one-way
(``lappen => führerschein``: only the left side expands). Matching works on stems, so
"Persos" matches "perso", and an expansion may be several words ("wohnsitz anmelden").

The package ships a default lexicon (``lexicon_de.txt``, German and English to German);
editors add entries in the back office, which the Django layer merges in with
``Lexicon.merged``. The file format, one entry per line::

    # comment
    perso, persoausweis = personalausweis
    lappen => führerschein
    moving here => wohnsitz anmelden, umzug
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from rathaus.assistant.engine.analysis import content_words, stem

MAX_PHRASE_WORDS = 3


@dataclass(frozen=True)
class LexiconEntry:
    """One rule: each of ``terms`` expands to ``expansions`` (and to each other if two-way)."""

    terms: tuple[str, ...]
    expansions: tuple[str, ...]
    two_way: bool = False


def _key(phrase: str) -> tuple[str, ...]:
    return tuple(stem(word) for word in content_words(phrase))[:MAX_PHRASE_WORDS]


def parse_lines(lines: Iterable[str]) -> list[LexiconEntry]:
    """Entries of the text format (see the module docstring); malformed lines are skipped."""
    entries = []
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=>" in line:
            left, right = line.split("=>", 1)
            two_way = False
        elif "=" in line:
            left, right = line.split("=", 1)
            two_way = True
        else:
            continue
        terms = tuple(term.strip() for term in left.split(",") if term.strip())
        expansions = tuple(term.strip() for term in right.split(",") if term.strip())
        if terms and expansions:
            entries.append(LexiconEntry(terms=terms, expansions=expansions, two_way=two_way))
    return entries


@dataclass
class Lexicon:
    """Phrase (as stems) -> expansion phrases; see the module docstring."""

    rules: dict[tuple[str, ...], set[str]] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> Lexicon:
        """A lexicon without entries (plain ranking)."""
        return cls()

    @classmethod
    def default(cls) -> Lexicon:
        """The shipped lexicon (a fresh copy that may be extended)."""
        return _default().copy()

    @classmethod
    def from_entries(cls, entries: Iterable[LexiconEntry]) -> Lexicon:
        """A lexicon of ``entries``."""
        lexicon = cls()
        for entry in entries:
            lexicon.add(entry)
        return lexicon

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Sequence[str]]) -> Lexicon:
        """A lexicon of one-way rules ``{term: [expansion, ...]}``."""
        return cls.from_entries(
            LexiconEntry(terms=(term,), expansions=tuple(expansions))
            for term, expansions in mapping.items()
        )

    def copy(self) -> Lexicon:
        """An independent copy."""
        return Lexicon({key: set(value) for key, value in self.rules.items()})

    def add(self, entry: LexiconEntry) -> None:
        """Add one rule (both directions for an equivalence)."""
        pairs = [(term, entry.expansions) for term in entry.terms]
        if entry.two_way:
            everything = (*entry.terms, *entry.expansions)
            pairs = [(term, tuple(t for t in everything if t != term)) for term in everything]
        for term, expansions in pairs:
            key = _key(term)
            if not key:
                continue
            self.rules.setdefault(key, set()).update(e for e in expansions if _key(e) != key)

    def merged(self, entries: Iterable[LexiconEntry]) -> Lexicon:
        """A copy with ``entries`` added (editors' entries on top of the shipped ones)."""
        lexicon = self.copy()
        for entry in entries:
            lexicon.add(entry)
        return lexicon

    def expansions(self, stems: Sequence[str]) -> list[tuple[int, int, set[str]]]:
        """Matches in a query given as stems: ``(start, length, expansion phrases)``."""
        found = []
        for length in range(MAX_PHRASE_WORDS, 0, -1):
            for start in range(len(stems) - length + 1):
                phrases = self.rules.get(tuple(stems[start : start + length]))
                if phrases:
                    found.append((start, length, phrases))
        return found

    def __len__(self) -> int:
        return len(self.rules)


@cache
def _default() -> Lexicon:
    text = resources.files(__package__).joinpath("lexicon_de.txt").read_text(encoding="utf-8")
    return Lexicon.from_entries(parse_lines(text.splitlines()))
