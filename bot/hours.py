"""This module contains WorkingHours: when operators answer (OPERATOR_HOURS), read and asked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MINUTES_A_DAY = 24 * 60
_SPAN = re.compile(
    r"(?P<days>[A-Za-z]+(?:\s*-\s*[A-Za-z]+)?)\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})"
)
EXAMPLE = "e.g. Mon-Fri 09:00-17:00 Europe/Prague"


@dataclass(frozen=True, slots=True)
class Span:
    """Open on `weekday` (0 = Monday) from `start` to `end`, minutes after local midnight; an
    `end` not after `start` closes the next morning (22:00-06:00)."""

    weekday: int
    start: int
    end: int

    @property
    def overnight(self) -> bool:
        """Whether it closes on the next day."""
        return self.end <= self.start


class WorkingHours:
    """Weekly opening hours in one time zone; `always()` is open all the time (no setting)."""

    def __init__(self, spans: tuple[Span, ...], zone: ZoneInfo, text: str = "") -> None:
        self.spans = spans
        self.zone = zone
        self.text = text
        self._always = not spans

    @classmethod
    def always(cls) -> WorkingHours:
        """Open at every moment (OPERATOR_HOURS unset or empty)."""
        return cls((), ZoneInfo("UTC"))

    @property
    def always_open(self) -> bool:
        """Whether there are no closed hours at all."""
        return self._always

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """Reads `Mon-Fri 09:00-17:00, Sat 10:00-12:00 Europe/Prague`; ValueError says what
        is wrong in words an operator can act on. Empty text is always open."""
        stripped = text.strip()
        if not stripped:
            return cls.always()
        rest, _, zone_name = stripped.rpartition(" ")
        zone = _zone(zone_name)
        if not rest.strip():
            raise ValueError(f"names no days and hours before the time zone ({EXAMPLE})")
        spans: list[Span] = []
        for part in rest.split(","):
            spans.extend(_spans(part.strip()))
        return cls(tuple(spans), zone, stripped)

    def is_open(self, at: datetime) -> bool:
        """Whether operators are in at this moment (an aware datetime)."""
        if self._always:
            return True
        local = _aware(at).astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        today, yesterday = local.weekday(), (local.weekday() - 1) % 7
        for span in self.spans:
            if span.weekday == today:
                if span.overnight and minute >= span.start:
                    return True
                if not span.overnight and span.start <= minute < span.end:
                    return True
            # The part after midnight of yesterday's overnight hours.
            if span.weekday == yesterday and span.overnight and minute < span.end:
                return True
        return False

    def next_opening(self, at: datetime) -> datetime:
        """When operators are next in, in the configured zone: `at` itself while they are.

        Openings are local wall-clock times, so 09:00 stays 09:00 across a change of daylight
        saving time; an opening inside the hour skipped in spring is the first moment after it.
        """
        moment = _aware(at)
        if self.is_open(moment):
            return moment.astimezone(self.zone)
        local = moment.astimezone(self.zone)
        candidates = [
            opening
            for offset in range(8)
            for span in self.spans
            if (day := local.date() + timedelta(days=offset)).weekday() == span.weekday
            and (opening := self._local(day, span.start)) > moment
        ]
        return min(candidates)

    def _local(self, day: date, minutes: int) -> datetime:
        wall = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)
        # Through UTC and back: a wall time that does not exist (spring) becomes a real one.
        return wall.astimezone(UTC).astimezone(self.zone)

    def __repr__(self) -> str:
        return f"WorkingHours({self.text or 'always'!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkingHours):
            return NotImplemented
        return (self.spans, self.zone.key, self._always) == (
            other.spans,
            other.zone.key,
            other._always,
        )

    def __hash__(self) -> int:
        return hash((self.spans, self.zone.key))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """As a setting: read from text, written back as that text."""
        return core_schema.no_info_plain_validator_function(
            _validate,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda v: v.text),
        )


def _validate(value: object) -> WorkingHours:
    if isinstance(value, WorkingHours):
        return value
    if isinstance(value, str):
        return WorkingHours.parse(value)
    raise ValueError(f"expected text like {EXAMPLE}")


def _zone(name: str) -> ZoneInfo:
    if re.search(r"\d:\d", name):
        raise ValueError(f"needs a time zone at the end ({EXAMPLE})")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{name}' (a tz database name, {EXAMPLE})") from None


def _spans(part: str) -> list[Span]:
    match = _SPAN.fullmatch(part)
    if match is None:
        raise ValueError(f"'{part}' is not days and hours like Mon-Fri 09:00-17:00")
    start, end = _minutes(match["start"], end=False), _minutes(match["end"], end=True)
    if start == end:
        raise ValueError(f"'{part}' opens and closes at the same time")
    first, _, last = match["days"].partition("-")
    days = _day_range(_day(first.strip()), _day(last.strip()) if last else None)
    return [Span(day, start, end) for day in days]


def _minutes(text: str, *, end: bool) -> int:
    hours, minutes = (int(piece) for piece in text.split(":"))
    if end and (hours, minutes) == (24, 0):
        return MINUTES_A_DAY  # "until midnight"
    if hours > 23 or minutes > 59:
        raise ValueError(f"'{text}' is not a time of day (00:00-23:59, or 24:00 to close)")
    return hours * 60 + minutes


def _day(name: str) -> int:
    lowered = name.lower()
    for names in (DAY_NAMES, FULL_DAY_NAMES):
        if lowered in names:
            return names.index(lowered)
    raise ValueError(f"unknown day '{name}' (Mon Tue Wed Thu Fri Sat Sun)")


def _day_range(first: int, last: int | None) -> list[int]:
    """Mon-Fri, or one day; Fri-Mon goes round the weekend."""
    if last is None:
        return [first]
    return [(first + step) % 7 for step in range((last - first) % 7 + 1)]


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("needs an aware datetime (with a time zone), not a naive one")
    return at
