"""This module contains `python -m bot complaints --ratings`: how customers rate our handling."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.config import Settings
from bot.storage.engines import database_for
from bot.storage.ratings import RatedComplaint, RatingStore
from bot.words import counted

DEFAULT_DAYS = 30
# Ratings of 4 or 5 stars count as satisfied customers.
SATISFIED_STARS = 4


@dataclass(frozen=True, slots=True)
class Summary:
    """Count, average stars and share of 4–5 stars of a group of ratings."""

    count: int
    average: float
    satisfied: float

    @classmethod
    def of(cls, stars: Iterable[int]) -> Summary:
        given = list(stars)
        if not given:
            return cls(0, 0.0, 0.0)
        happy = sum(1 for s in given if s >= SATISFIED_STARS)
        return cls(len(given), sum(given) / len(given), happy / len(given))

    def line(self, label: str) -> str:
        return f"{label:<32} {self.count:>6} {self.average:>8.2f} {self.satisfied:>10.0%}"


def summarise(ratings: list[RatedComplaint]) -> list[str]:
    """The table: all ratings, then per backend, then per category (each sorted by name)."""
    lines = [f"{'':<32} {'count':>6} {'average':>8} {'4-5 stars':>10}"]
    lines.append(Summary.of(r.stars for r in ratings).line("all"))
    groups: list[tuple[str, Callable[[RatedComplaint], str]]] = [
        ("backend", lambda r: r.backend),
        ("category", lambda r: r.category),
    ]
    for name, key in groups:
        for value in sorted({key(r) for r in ratings}):
            stars = (r.stars for r in ratings if key(r) == value)
            lines.append(Summary.of(stars).line(f"{name} {value}"))
    return lines


async def rating_summary(settings: Settings, days: int, *, now: float | None = None) -> int:
    """Prints the ratings given in the last `days` days; exit status 0."""
    now = time.time() if now is None else now
    cutoff = now - days * 86400
    database = database_for(settings)
    await database.open()
    try:
        ratings = await RatingStore(database).since(cutoff)
    finally:
        await database.close()
    since = datetime.fromtimestamp(cutoff, tz=UTC).strftime("%Y-%m-%d %H:%M")
    if not ratings:
        print(f"No ratings in the last {counted(days, 'day')} (since {since} UTC).")
        return 0
    print(f"Ratings of the last {counted(days, 'day')} (since {since} UTC):")
    for line in summarise(ratings):
        print(line)
    return 0
