"""The OpenStreetMap opening-hours parser: what it accepts, what it refuses."""

from datetime import datetime

import pytest

from rathaus.core.errors import ValidationFailed
from rathaus.parking.opening_hours import opening_hours_parse


@pytest.mark.parametrize(
    ("text", "moment", "expected"),
    [
        ("24/7", datetime(2026, 11, 29, 3, 0), True),
        ("Mo-Fr 07:00-22:00; Sa 08:00-20:00", datetime(2026, 11, 30, 7, 0), True),  # Monday
        ("Mo-Fr 07:00-22:00; Sa 08:00-20:00", datetime(2026, 11, 30, 22, 0), False),
        ("Mo-Fr 07:00-22:00; Sa 08:00-20:00", datetime(2026, 11, 29, 12, 0), False),  # Sunday
        ("Mo-Fr 08:00-12:00,13:00-18:00", datetime(2026, 12, 1, 12, 30), False),
        ("Mo-Fr 08:00-12:00,13:00-18:00", datetime(2026, 12, 1, 13, 30), True),
        ("Fr-Mo 22:00-02:00", datetime(2026, 12, 5, 1, 30), True),  # Saturday night after Fr
        ("Fr-Mo 22:00-02:00", datetime(2026, 12, 2, 1, 30), False),  # Wednesday
        ("Mo-Su 06:00-24:00; Su off", datetime(2026, 11, 29, 10, 0), False),
        ("08:00-18:00", datetime(2026, 11, 29, 9, 0), True),
    ],
)
def test_is_open(text: str, moment: datetime, expected: bool) -> None:
    assert opening_hours_parse(text).is_open(moment) is expected


def test_public_holiday_rule_overrides_the_weekday() -> None:
    hours = opening_hours_parse("Mo-Sa 06:00-24:00; PH off")
    christmas = datetime(2026, 12, 25, 10, 0)  # a Friday, a holiday in every state
    assert hours.is_open(christmas, state="BW") is False
    assert hours.is_open(datetime(2026, 12, 22, 10, 0), state="BW") is True


@pytest.mark.parametrize(
    "text",
    [
        "Mo-Fr 25:00-26:00",
        "Mo-Fr 08:60-09:00",
        "Xx 08:00-09:00",
        "Mo-Fr 08:00-08:00",
        "Mo-Fr",
        "sunrise-sunset",
        "Jan-Mar Mo 08:00-09:00",
        "Mo-Fr 08:00-",
        ";",
        "Mo 24:30-01:00",
        "x" * 300,
    ],
)
def test_impossible_strings_are_refused_clearly(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        opening_hours_parse(text)
    assert "opening_hours" in caught.value.fields
    assert "could not be read" in str(caught.value.message)
