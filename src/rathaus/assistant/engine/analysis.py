"""German-aware text analysis without Django: folding, stopwords, a light stemmer.

Folding is the same as ``rathaus.catalog.text.fold`` (kept as a copy so that this package
has no Django import): lower case, "ä", "ae" and "a" alike, "ß" as "ss", accents dropped,
punctuation as spaces. The stemmer is a variant of CISTEM (Weissweiler & Fraser, 2017) with
"-ung" stripping and a few English endings, applied to every word: questions mix German and
English, and a stem that is merely consistent ("anmeld" for "Anmeldung", "anmelden",
"angemeldet" aside) is all that ranking needs.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_UMLAUTS = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
_DIGRAPHS = re.compile(r"(?<=[a-z])(ae|oe|ue)")
_NON_WORD = re.compile(r"[^a-z0-9]+")
# Control characters and the like never reach the analysis.
MAX_TEXT_LENGTH = 100_000


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS_DE = _word_set(
    "ab aber alle allem allen aller alles als also am an ander andere anderen auch auf aus "
    "bei beim bin bis bitte bist da dabei damit dann das dass dein deine dem den denn der des "
    "dich die dies diese diesem diesen dieser dir doch dort du durch ein eine einem einen "
    "einer eines er es etwas euch euer fur gibt hab habe haben hat hatte hatten hier hin ich "
    "ihm ihn ihr ihre im in ins ist ja jetzt kann kannst konnen konnte man mein meine meinem "
    "meinen meiner meines mich mir mit muss mussen nach nicht noch nun nur ob oder ohne sehr "
    "sein seine seinem seinen seiner sich sie sind so soll sollen sollte uber um und uns "
    "unser unsere vom von vor wann war waren was weil welche welchen welcher wenn wer werde "
    "werden wie wieder will wir wird wo woher wohin wollen wurde wurden zu zum zur gerne "
    "brauche brauchen mochte moechte tun machen mache gehen geht bekomme bekommen "
)
STOPWORDS_EN = _word_set(
    "a about after all also am an and any are as at be been before being but by can could did "
    "do does doing for from get got had has have having he her here his how i if in into is "
    "it its just me more my myself need needs new no not now of on one or our out own please "
    "she should so some than that the their them then there these they this those to too up "
    "us very was we were what when where which who why will with would you your i'm im dont "
    "don't want go going do does get getting "
)
STOPWORDS = STOPWORDS_DE | STOPWORDS_EN


def fold(text: str) -> str:
    """Lower case, umlauts and accents folded, punctuation as single spaces."""
    text = text[:MAX_TEXT_LENGTH].lower().translate(_UMLAUTS)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = _DIGRAPHS.sub(lambda match: match.group(1)[0], text)
    return _NON_WORD.sub(" ", text).strip()


def words(text: str) -> list[str]:
    """The folded words of ``text``, stopwords included."""
    return fold(text).split()


_PLACEHOLDERS = (("sch", "$"), ("ei", "%"), ("ie", "&"))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The stem of one folded word (German CISTEM variant with some English endings)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    # English inflection first: "parking" -> "park", "cities" -> "city".
    if word.endswith("ies") and len(word) > 5:
        word = word[:-3] + "y"
    elif word.endswith("ing") and len(word) > 6:
        word = word[:-3]
    if word.endswith("ungen") and len(word) > 7:
        word = word[:-5]
    elif word.endswith("ung") and len(word) > 6:
        word = word[:-3]
    if word.startswith("ge") and len(word) > 6 and word.endswith("t"):
        # Past participles: "gemeldet" -> "meldet" -> "meld".
        word = word[2:]
    for plain, mark in _PLACEHOLDERS:
        word = word.replace(plain, mark)
    chars = list(word)
    for index in range(1, len(chars)):
        if chars[index] == chars[index - 1] and chars[index].isalpha():
            chars[index] = "*"
    word = "".join(chars)
    while len(word) > 3:
        if len(word) > 5 and word[-2:] in ("em", "er", "nd"):
            word = word[:-2]
        elif word[-1] in "tesn":
            word = word[:-1]
        else:
            break
    result: list[str] = []
    for char in word:
        if char == "*":
            result.append(result[-1] if result else "")
        else:
            result.append(char)
    word = "".join(result)
    for plain, mark in _PLACEHOLDERS:
        word = word.replace(mark, plain)
    return word


def content_words(text: str) -> list[str]:
    """Folded words that can carry meaning: no stopwords, no single characters."""
    return [word for word in words(text) if len(word) > 1 and word not in STOPWORDS]
