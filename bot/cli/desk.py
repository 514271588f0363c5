"""This module contains `python -m bot desk`: the embedded complaint desk's tiny back office."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from bot.backends.base import StatusCode
from bot.backends.local import LocalDeskBackend
from bot.config import Settings
from bot.storage.database import Database

DESK_STATUSES = [code.value for code in StatusCode if code is not StatusCode.UNKNOWN]


async def set_status(settings: Settings, number: str, status: str, note: str | None = None) -> int:
    """Changes a desk complaint's status (and note); the bot tells the customer on its next poll."""
    database = Database(settings.database_path)
    await database.open()
    try:
        changed = await LocalDeskBackend(database).set_status(number, StatusCode(status), note)
    finally:
        await database.close()
    if not changed:
        print(f"No desk complaint {number}.", file=sys.stderr)
        return 1
    minutes = min(settings.status_poll_minutes, 1.0)
    print(f"Complaint {number} is now {status}; the customer is told within {minutes:g} minute(s).")
    return 0


async def show(settings: Settings, number: str | None) -> int:
    """Prints one desk complaint in full, or the latest twenty in a table."""
    database = Database(settings.database_path)
    await database.open()
    try:
        if number is None:
            rows = await database.fetch_all(
                "SELECT * FROM desk_complaints ORDER BY number DESC LIMIT 20"
            )
        else:
            rows = await database.fetch_all(
                "SELECT * FROM desk_complaints WHERE number = ?", [number]
            )
    finally:
        await database.close()
    if not rows:
        print("No desk complaints." if number is None else f"No desk complaint {number}.")
        return 0 if number is None else 1
    for row in rows:
        created = datetime.fromtimestamp(row["created_at"], tz=UTC).strftime("%Y-%m-%d %H:%M")
        print(
            f"{row['number']}  {row['status']:<12} order {row['order_id']:<20} "
            f"{row['category']:<16} {created}  {row['customer_name']}"
        )
        if number is not None:
            print(f"  problem: {row['problem']}")
            print(f"  note:    {row['note'] or '-'}")
    return 0
