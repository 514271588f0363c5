"""This module contains `python -m bot complaints --adopt ID NUMBER` and `--resubmit ID`."""

from __future__ import annotations

import sys
import time

from bot.config import Settings
from bot.storage.engines import database_for
from bot.storage.unknown_outcomes import UnknownOutcomes


async def adopt(settings: Settings, entry_id: str, number: str) -> int:
    """The complaint is in the backend under `number`: the bot registers it so and sends the
    customer their card (within seconds, if it runs)."""
    if not entry_id.isdigit() or not number.strip():
        print("Give the ledger id (a number) and the backend's complaint number.", file=sys.stderr)
        return 2
    database = database_for(settings)
    await database.open()
    try:
        done = await UnknownOutcomes(database).adopt(int(entry_id), number.strip(), now=time.time())
    finally:
        await database.close()
    return _told(done, entry_id, f"adopted as {number.strip()}; the customer gets their card")


async def resubmit(settings: Settings, entry_id: int) -> int:
    """The complaint is not in the backend: the bot sends it again."""
    database = database_for(settings)
    await database.open()
    try:
        done = await UnknownOutcomes(database).resubmit(entry_id, now=time.time())
    finally:
        await database.close()
    return _told(done, str(entry_id), "sent again by the bot")


def _told(done: bool, entry_id: str, what: str) -> int:
    if not done:
        print(
            f"Complaint {entry_id} is not waiting for a decision (python -m bot complaints "
            "--unknown lists those that are).",
            file=sys.stderr,
        )
        return 1
    print(f"Complaint {entry_id}: {what}.")
    return 0
