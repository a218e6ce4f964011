"""The assistant's text engine: pure Python, no Django, reusable by other modules.

``TextIndex(language="de", lexicon=None)`` indexes documents with weighted fields and ranks
them for free-text questions in German or English (folding, stemming, compound splitting,
typo tolerance, synonyms); ``lexicon=None`` uses the shipped default lexicon, pass
``Lexicon.empty()`` for none. See ``index`` for the ranking and ``lexicon`` for the format.
"""

from rathaus.assistant.engine.analysis import fold, stem
from rathaus.assistant.engine.index import Hit, TextIndex
from rathaus.assistant.engine.lexicon import Lexicon, LexiconEntry, parse_lines
from rathaus.assistant.engine.semantic import Embedder, embedder_load

__all__ = [
    "Embedder",
    "Hit",
    "Lexicon",
    "LexiconEntry",
    "TextIndex",
    "embedder_load",
    "fold",
    "parse_lines",
    "stem",
]
