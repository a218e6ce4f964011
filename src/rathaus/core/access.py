"""What every app's ``access.py`` needs to scope a row to the request asking for it.

Each app keeps its own ``access.py`` (which rows a citizen, a clerk or the public may
reach is the app's business); these helpers are the parts that were the same in every
one of them: who belongs to a municipality, an id from a URL or form, and "this scoped
row or 404". Another municipality's id, someone else's row and an id that does not
exist all answer 404 alike, so a 404 tells nobody that a row exists elsewhere.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404

from rathaus.core.models import Municipality

M = TypeVar("M", bound=Model)

#: Largest primary key (``BigAutoField``); a larger number cannot name a row, and
#: PostgreSQL would refuse it in a query instead of finding nothing.
MAX_ID = 2**63 - 1


def is_member(user: Any, municipality: Municipality) -> bool:
    """Whether ``user`` is signed in and belongs to ``municipality`` (citizens and staff
    alike; what they may do there is for the caller to check)."""
    return bool(getattr(user, "is_authenticated", False)) and (
        getattr(user, "municipality_id", None) == municipality.pk
    )


def is_staff_of(user: Any, municipality: Municipality) -> bool:
    """Whether ``user`` is a signed-in staff member of ``municipality`` (platform
    operators, staff without a municipality, are not)."""
    return is_member(user, municipality) and bool(getattr(user, "is_staff", False))


def id_or_404(value: Any) -> int:
    """``value`` (from a URL, a form or JSON) as a primary key, or 404 for anything that
    cannot be one: text, a fraction, zero, a negative or a too large number, and the
    spellings ``int()`` would also take (``"+5"``, ``"5_000"``, non-ASCII digits)."""
    if isinstance(value, bool) or value is None:
        raise Http404
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise Http404
    number = int(text)
    if not 0 < number <= MAX_ID:
        raise Http404
    return number


def one_or_404(queryset: QuerySet[M]) -> M:
    """The first row of an already scoped ``queryset``, or 404 when it has none.

    Unlike Django's ``get_object_or_404`` it takes the first of several matches (in the
    queryset's order, else by primary key) instead of failing with
    ``MultipleObjectsReturned``: some scoped lookups are not by a unique key (a
    catalogue source id)."""
    row = queryset.first()
    if row is None:
        raise Http404
    return row
