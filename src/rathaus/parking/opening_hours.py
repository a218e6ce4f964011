"""A parser for the common subset of OpenStreetMap ``opening_hours`` syntax.

Supported: ``24/7``; rules separated by ``;`` whose later rules override earlier ones for
the days they name; weekday selectors (``Mo``, ``Mo-Fr``, ``Sa,Su``, wrapping ``Fr-Mo``)
and ``PH`` (public holidays of the municipality's state); time spans ``08:00-18:00``,
several separated by ``,``, up to ``24:00`` and across midnight (``22:00-02:00``);
``off``/``closed``. Anything else (months, weeks, sunrise, comments, open ends) is
rejected with a message naming the part that could not be read, so an impossible
string never reaches a sign as a wrong "open".
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _

from rathaus.core.errors import ValidationFailed
from rathaus.core.holidays import public_holiday

DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
MAX_LENGTH = 255
_TIME = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_DAY = re.compile(r"^(Mo|Tu|We|Th|Fr|Sa|Su)(?:-(Mo|Tu|We|Th|Fr|Sa|Su))?$")


@dataclass(frozen=True)
class Rule:
    days: frozenset[int]  # 0 = Monday
    holidays: bool  # PH
    spans: tuple[tuple[int, int], ...]  # minutes from midnight; end may exceed 1440


@dataclass(frozen=True)
class OpeningHours:
    always: bool
    rules: tuple[Rule, ...]

    def is_open(self, moment: datetime, *, state: str = "") -> bool:
        """Whether the site is open at ``moment`` (local time)."""
        if self.always:
            return True
        minute = moment.hour * 60 + moment.minute
        today = self._spans(moment.date(), state)
        if any(start <= minute < end for start, end in today):
            return True
        # Spans of the previous day that run past midnight.
        yesterday = self._spans(moment.date() - timedelta(days=1), state)
        return any(end > 1440 and minute < end - 1440 for _, end in yesterday)

    def _spans(self, day: date, state: str) -> tuple[tuple[int, int], ...]:
        is_holiday = public_holiday(state, day) is not None
        spans: tuple[tuple[int, int], ...] = ()
        for rule in self.rules:
            applies = (rule.holidays and is_holiday) or (
                day.weekday() in rule.days and not (is_holiday and self._has_holiday_rule)
            )
            if applies:
                spans = rule.spans
        return spans

    @property
    def _has_holiday_rule(self) -> bool:
        return any(rule.holidays for rule in self.rules)


def _fail(part: str) -> ValidationFailed:
    return ValidationFailed(
        _("The opening hours could not be read near “%(part)s”.") % {"part": part[:40]},
        fields={
            "opening_hours": [_("Use OpenStreetMap syntax, e.g. Mo-Fr 07:00-22:00; Sa 08:00-20:00")]
        },
    )


def _days(selector: str) -> tuple[frozenset[int], bool]:
    days: set[int] = set()
    holiday = False
    for part in selector.split(","):
        if part == "PH":
            holiday = True
            continue
        match = _DAY.match(part)
        if not match:
            raise _fail(part)
        first = DAYS.index(match.group(1))
        last = DAYS.index(match.group(2)) if match.group(2) else first
        day = first
        while True:
            days.add(day)
            if day == last:
                break
            day = (day + 1) % 7
    return frozenset(days), holiday


def _spans(text: str) -> tuple[tuple[int, int], ...]:
    if text in {"off", "closed"}:
        return ()
    spans = []
    for part in text.split(","):
        match = _TIME.match(part)
        if not match:
            raise _fail(part)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or (h1 == 24 and m1) or (h2 == 24 and m2):
            raise _fail(part)
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start == end or start >= 1440:
            raise _fail(part)
        if end < start:
            end += 1440  # across midnight
        spans.append((start, end))
    return tuple(spans)


@functools.lru_cache(maxsize=1024)
def _parse_cached(text: str) -> OpeningHours | None:
    try:
        return _parse(text)
    except ValidationFailed:
        return None


def opening_hours_parse(text: str) -> OpeningHours:
    """Parse ``text`` or raise ``ValidationFailed`` naming the unreadable part.

    Results are cached per string (a page shows the same few strings again and again).
    """
    if len(text) <= MAX_LENGTH:
        cached = _parse_cached(text)
        if cached is not None:
            return cached
    # Parsed again to raise the error in the language of this request.
    return _parse(text)


def _parse(text: str) -> OpeningHours:
    text = " ".join(text.split())
    if len(text) > MAX_LENGTH:
        raise _fail(text)
    if text == "24/7":
        return OpeningHours(always=True, rules=())
    rules = []
    for raw in text.split(";"):
        rule = raw.strip()
        if not rule:
            raise _fail(raw or ";")
        if rule == "24/7":
            rules.append(Rule(frozenset(range(7)), False, ((0, 1440),)))
            continue
        selector, _sep, times = rule.partition(" ")
        if not times:
            if _TIME.match(selector) or selector in {"off", "closed"}:
                rules.append(Rule(frozenset(range(7)), False, _spans(selector)))
                continue
            raise _fail(rule)
        days, holiday = _days(selector)
        if " " in times:
            raise _fail(times)
        rules.append(Rule(days, holiday, _spans(times)))
    return OpeningHours(always=False, rules=tuple(rules))
