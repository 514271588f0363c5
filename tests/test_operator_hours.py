"""WorkingHours (OPERATOR_HOURS): weekends, before and after hours, overnight hours, DST."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.hours import WorkingHours

PRAGUE = ZoneInfo("Europe/Prague")
OFFICE = WorkingHours.parse("Mon-Fri 09:00-17:00, Sat 10:00-12:00 Europe/Prague")


def prague(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PRAGUE)


# 2025-06-02 is a Monday.
@pytest.mark.parametrize(
    ("at", "open_"),
    [
        (prague(2025, 6, 2, 8, 59), False),  # Monday before hours
        (prague(2025, 6, 2, 9, 0), True),  # opening minute
        (prague(2025, 6, 2, 16, 59), True),
        (prague(2025, 6, 2, 17, 0), False),  # closing minute is closed
        (prague(2025, 6, 6, 12, 0), True),  # Friday
        (prague(2025, 6, 7, 10, 30), True),  # Saturday's short hours
        (prague(2025, 6, 7, 12, 0), False),
        (prague(2025, 6, 8, 11, 0), False),  # Sunday
    ],
)
def test_is_open_follows_the_days_and_hours(at: datetime, open_: bool) -> None:
    assert OFFICE.is_open(at) is open_


def test_is_open_reads_any_zone_as_the_configured_one() -> None:
    # 07:30 UTC on a summer Monday is 09:30 in Prague.
    assert OFFICE.is_open(datetime(2025, 6, 2, 7, 30, tzinfo=UTC))
    assert not OFFICE.is_open(datetime(2025, 6, 2, 6, 30, tzinfo=UTC))


def test_next_opening_after_hours_and_over_the_weekend() -> None:
    assert OFFICE.next_opening(prague(2025, 6, 2, 7, 15)) == prague(2025, 6, 2, 9)
    assert OFFICE.next_opening(prague(2025, 6, 2, 17, 0)) == prague(2025, 6, 3, 9)
    assert OFFICE.next_opening(prague(2025, 6, 6, 18, 0)) == prague(2025, 6, 7, 10)
    assert OFFICE.next_opening(prague(2025, 6, 7, 12, 0)) == prague(2025, 6, 9, 9)
    assert OFFICE.next_opening(prague(2025, 6, 8, 23, 59)) == prague(2025, 6, 9, 9)


def test_next_opening_is_now_while_open_and_in_the_configured_zone() -> None:
    at = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)  # 10:00 in Prague
    assert OFFICE.next_opening(at) == at
    assert OFFICE.next_opening(at).tzinfo == PRAGUE
    asked = datetime(2025, 6, 8, 12, 0, tzinfo=UTC)  # Sunday
    opening = OFFICE.next_opening(asked)
    assert opening.tzinfo == PRAGUE and (opening.hour, opening.weekday()) == (9, 0)


def test_nine_stays_nine_across_the_switch_to_summer_time() -> None:
    # Prague moves from UTC+1 to UTC+2 on Sunday 2025-03-30 at 02:00.
    friday_evening = prague(2025, 3, 28, 18)
    opening = OFFICE.next_opening(friday_evening)
    assert opening == prague(2025, 3, 29, 10)  # Saturday, still winter time
    monday = OFFICE.next_opening(prague(2025, 3, 29, 13))
    assert (monday.hour, monday.minute, monday.day) == (9, 0, 31)
    assert monday.utcoffset() == timedelta(hours=2)
    assert monday.astimezone(UTC) == datetime(2025, 3, 31, 7, 0, tzinfo=UTC)
    # From Saturday's close: 45 hours on the wall clock, 44 real ones (one lost to DST).
    assert monday.astimezone(UTC) - prague(2025, 3, 29, 12).astimezone(UTC) == timedelta(hours=44)


def test_nine_stays_nine_across_the_switch_back_to_winter_time() -> None:
    # Prague moves from UTC+2 back to UTC+1 on Sunday 2025-10-26 at 03:00.
    monday = OFFICE.next_opening(prague(2025, 10, 25, 12))
    assert monday.astimezone(UTC) == datetime(2025, 10, 27, 8, 0, tzinfo=UTC)
    assert OFFICE.is_open(datetime(2025, 10, 27, 8, 30, tzinfo=UTC))
    assert not OFFICE.is_open(datetime(2025, 10, 27, 7, 30, tzinfo=UTC))  # 08:30 local


def test_an_opening_in_the_skipped_hour_is_the_first_moment_after_it() -> None:
    night = WorkingHours.parse("Sun 02:30-05:00 Europe/Prague")
    opening = night.next_opening(prague(2025, 3, 30, 0, 0))
    assert opening.astimezone(UTC) == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)  # 03:30 CEST
    assert night.is_open(opening)


def test_overnight_hours_close_the_next_morning() -> None:
    night = WorkingHours.parse("Fri 22:00-06:00 Europe/Prague")
    assert night.is_open(prague(2025, 6, 6, 23))  # Friday night
    assert night.is_open(prague(2025, 6, 7, 5, 59))  # Saturday morning
    assert not night.is_open(prague(2025, 6, 7, 6, 0))
    assert not night.is_open(prague(2025, 6, 6, 5, 0))  # Friday morning: Thursday is closed
    assert night.next_opening(prague(2025, 6, 7, 6, 0)) == prague(2025, 6, 13, 22)


def test_day_ranges_round_the_weekend_full_names_and_midnight() -> None:
    weekend = WorkingHours.parse("Fri-Mon 00:00-24:00 UTC")
    assert [span.weekday for span in weekend.spans] == [4, 5, 6, 0]
    assert weekend.is_open(datetime(2025, 6, 8, 23, 59, tzinfo=UTC))  # Sunday
    assert not weekend.is_open(datetime(2025, 6, 3, 12, tzinfo=UTC))  # Tuesday
    assert (
        WorkingHours.parse("monday 09:00-17:00 UTC").spans
        == WorkingHours.parse("Mon 09:00-17:00 UTC").spans
    )


def test_empty_text_is_always_open() -> None:
    always = WorkingHours.parse("  ")
    at = datetime(2025, 6, 8, 3, 0, tzinfo=UTC)
    assert always.always_open and always.is_open(at) and always.next_opening(at) == at


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Mon-Fri 09:00-17:00 Europe/Prag", "unknown time zone 'Europe/Prag'"),
        ("Mon-Fri 09:00-17:00 ../../etc/passwd", "unknown time zone"),
        ("Mon-Fri 09:00-17:00", "needs a time zone at the end"),
        ("Mox-Fri 09:00-17:00 Europe/Prague", "unknown day 'Mox'"),
        ("Mon-Fry 09:00-17:00 Europe/Prague", "unknown day 'Fry'"),
        ("Montag 09:00-17:00 Europe/Prague", "unknown day 'Montag'"),
        ("Mon-Fri 9-17 Europe/Prague", "is not days and hours"),
        ("Mon-Fri 09:00-25:00 Europe/Prague", "'25:00' is not a time of day"),
        ("Mon-Fri 09:60-17:00 Europe/Prague", "'09:60' is not a time of day"),
        ("Mon-Fri 09:00-09:00 Europe/Prague", "opens and closes at the same time"),
        ("Mon-Fri 09:00-17:00,, Europe/Prague", "is not days and hours"),
        ("Europe/Prague", "names no days and hours"),
    ],
)
def test_bad_hours_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        WorkingHours.parse(text)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        OFFICE.is_open(datetime(2025, 6, 2, 10, 0))  # a naive datetime: the point of the test
