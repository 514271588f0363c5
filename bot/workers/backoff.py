"""This module contains the RetryPolicy: exponential backoff with jitter and a give-up time."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: base · 2^(attempt-1), capped, with ±20 % jitter."""

    base_seconds: float
    max_seconds: float
    give_up_seconds: float

    def delay(self, attempts_so_far: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds until the next attempt; never less than the other side's Retry-After."""
        exponent = min(attempts_so_far, 30)
        delay = min(self.max_seconds, self.base_seconds * 2**exponent)
        delay *= rng.uniform(0.8, 1.2)
        return float(max(delay, retry_after or 0.0))

    def gives_up(self, created_at: float, now: float) -> bool:
        """Whether something first tried at `created_at` has been tried long enough."""
        return now - created_at >= self.give_up_seconds
