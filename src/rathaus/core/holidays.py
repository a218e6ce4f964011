"""Public holidays of a German federal state (from the ``holidays`` package): office
hours, parking tariffs and signal plans all follow them."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def public_holidays(state: str, year: int) -> dict[date, str]:
    """The public holidays of ``state`` (ISO 3166-2:DE code without ``DE-``, as
    :class:`rathaus.core.models.State`) in ``year``, by date, with their German names.
    Building the calendar costs more than a page, so it is kept per state and year."""
    return dict(holidays.country_holidays("DE", subdiv=state, years=year, language="de"))


def public_holiday(state: str, day: date) -> str | None:
    """The name of the public holiday on ``day`` in ``state``, if it is one."""
    return public_holidays(state, day.year).get(day) if state else None
