"""Small text helpers of the catalogue: folding for search, slugs, plain text from HTML."""

import html
import re
import unicodedata

from django.utils.text import slugify

# German spellings without umlauts ("Fuehrerschein", "Fuhrerschein") must find
# "Führerschein": both sides are folded to the plain vowel.
_UMLAUTS = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
_DIGRAPHS = re.compile(r"(?<=[a-z])(ae|oe|ue)")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_TAG = re.compile(r"<[^>]*>")
_BLOCK_END = re.compile(r"</(p|li|h[1-6]|dd|dt|tr|div)\s*>|<br\s*/?>", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def fold(text: str) -> str:
    """Lower case, umlauts and accents folded, punctuation as single spaces.

    ``fold("Führerschein") == fold("Fuehrerschein") == fold("FUHRERSCHEIN") == "fuhrerschein"``.
    """
    text = text.lower().translate(_UMLAUTS)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = _DIGRAPHS.sub(lambda match: match.group(1)[0], text)
    return _NON_WORD.sub(" ", text).strip()


def slug_base(text: str, max_length: int = 80) -> str:
    """A readable ASCII slug with German transliteration (ü -> ue), cut at a hyphen."""
    text = text.replace("ß", "ss")
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe")):
        text = text.replace(umlaut, plain)
    slug = slugify(text.replace("Ü", "Ue"))[:max_length].strip("-")
    if len(slug) == max_length and "-" in slug:
        slug = slug.rsplit("-", 1)[0]
    return slug or "leistung"


def clean_inline(text: str) -> str:
    """A one-line text: zero-width characters dropped, white space collapsed."""
    return _SPACE.sub(" ", text.translate(_ZERO_WIDTH)).strip()


def plain_text(markup: str) -> str:
    """The text of an HTML fragment, blocks separated by spaces."""
    text = _TAG.sub(" ", _BLOCK_END.sub(" ", markup))
    return clean_inline(html.unescape(text))


def summary_of(markup: str, limit: int = 300) -> str:
    """The first sentences of an HTML text, at most ``limit`` characters, cut at a word."""
    text = plain_text(markup)
    if len(text) <= limit:
        return text
    sentences = _SENTENCE_END.split(text)
    summary = ""
    for sentence in sentences:
        if len(summary) + len(sentence) + 1 > limit:
            break
        summary = f"{summary} {sentence}".strip()
    if summary:
        return summary
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"
