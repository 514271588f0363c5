"""This module contains DatabaseClock: the database server's time, as this process keeps it.

Claims (a complaint being submitted, a message being sent, a background round) end at a time
written in the database; another instance takes the work once that time has passed by its
own clock. With several instances on one PostgreSQL server, hosts whose clocks differ would
take each other's work too early (a backend called twice) or too late. So every instance
dates everything by the server's clock: its own clock plus the offset to the server's,
measured at start and again every few minutes (one cheap query, not one per statement).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.storage.database import Database

logger = logging.getLogger(__name__)

# How often the offset is measured again (clocks drift, NTP steps them).
RESYNC_SECONDS = 600.0
# An offset this large is worth a line: the host's clock is wrong (the bot copes).
NOTABLE_OFFSET_SECONDS = 2.0


class DatabaseClock:
    """A clock (seconds since the epoch) that runs on the database server's time."""

    def __init__(self, base: Callable[[], float] = time.time) -> None:
        self._base = base
        self.offset = 0.0

    def __call__(self) -> float:
        return self._base() + self.offset

    async def sync(self, database: Database) -> float:
        """Measures the offset to the server's clock (half the round trip counted out);
        returns it. An engine without a server of its own (SQLite) keeps offset 0."""
        sent = self._base()
        server = await database.server_time()
        received = self._base()
        if server is None:
            return self.offset
        offset = server - (sent + received) / 2
        if abs(offset) >= NOTABLE_OFFSET_SECONDS and abs(offset - self.offset) >= 1.0:
            logger.warning(
                "This host's clock is %.1f s off the database server's; the bot keeps time by "
                "the server's (fix the host's NTP)",
                offset,
            )
        self.offset = offset
        return offset
