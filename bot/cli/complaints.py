"""This module contains `python -m bot complaints`: the ledger as operators need to see it."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.config import Settings
from bot.storage.database import Database
from bot.storage.ledger import Ledger, LedgerState


async def list_complaints(settings: Settings, states: list[str]) -> int:
    """Prints one line per complaint in the given ledger states; exit status 0."""
    database = Database(settings.database_path)
    await database.open()
    try:
        entries = await Ledger(database).in_state(*(LedgerState(s) for s in states))
    finally:
        await database.close()
    if not entries:
        print(f"No {' or '.join(states)} complaints.")
        return 0
    print(
        f"{'id':>6}  {'state':<10} {'number':<18} {'order':<20} {'attempts':>8}  "
        f"{'created (UTC)':<16}  last error"
    )
    for e in entries:
        created = datetime.fromtimestamp(e.created_at, tz=UTC).strftime("%Y-%m-%d %H:%M")
        print(
            f"{e.id:>6}  {e.state:<10} {e.complaint_number or '-':<18} {e.order_id:<20} "
            f"{e.attempts:>8}  {created:<16}  {e.last_error or '-'}"
        )
    return 0
