"""This module contains `python -m bot desk`: the embedded complaint desk's tiny back office."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime

from bot.backends.base import StatusCode
from bot.backends.local import LocalDeskBackend, desk_number
from bot.complaint import Attachment, ClaimedItem, file_lines, item_lines
from bot.config import Settings
from bot.i18n import Translator
from bot.operators.desk import DeskChanges
from bot.storage.customers import CustomerPreferences
from bot.storage.database import Database
from bot.storage.deliveries import DeliveryStore
from bot.storage.engines import database_for
from bot.storage.ledger import Ledger
from bot.storage.ratings import Rating, RatingStore
from bot.storage.threads import ThreadMessage, ThreadStore
from bot.workers.announcements import Announcements

DESK_STATUSES = [code.value for code in StatusCode if code is not StatusCode.UNKNOWN]


async def set_status(settings: Settings, number: str, status: str, note: str | None = None) -> int:
    """Changes a desk complaint's status (and note), and owes the customer the message; the
    running bot sends it within seconds."""
    database = database_for(settings)
    await database.open()
    try:
        preferences = CustomerPreferences(database)
        await preferences.load()
        announcements = Announcements(
            Translator(settings.default_language),
            settings.complaint_categories,
            preferences,
            operator=None,
            resolutions=settings.complaint_resolutions,
        )
        changes = DeskChanges(
            desk=LocalDeskBackend(database),
            ledger=Ledger(database),
            announcements=announcements,
            deliveries=DeliveryStore(database),
            delivery=None,
            clock=time.time,
        )
        changed = await changes.set_status(number, StatusCode(status), note)
    finally:
        await database.close()
    if not changed:
        print(f"No desk complaint {number}.", file=sys.stderr)
        return 1
    print(
        f"Complaint {number} is now {status}. The customer gets the message within a few "
        "seconds while the bot runs (or as soon as it starts)."
    )
    return 0


async def show(settings: Settings, number: str | None) -> int:
    """Prints one desk complaint in full, or the latest twenty in a table."""
    database = database_for(settings)
    await database.open()
    try:
        if number is None:
            rows = await database.fetch_all(
                "SELECT * FROM desk_complaints ORDER BY number DESC LIMIT 20"
            )
        else:
            rows = await database.fetch_all(
                "SELECT * FROM desk_complaints WHERE number = ?", [desk_number(number)]
            )
            thread, rating = await _thread(database, number)
    finally:
        await database.close()
    if not rows:
        print("No desk complaints." if number is None else f"No desk complaint {number}.")
        return 0 if number is None else 1
    print(f"{'number':<8}{'status':<13}{'order':<21}{'category':<17}{'created (UTC)':<18}customer")
    for row in rows:
        created = _when(row["created_at"])
        print(
            f"{row['number']:<8}{row['status']:<13}{row['order_id']:<21}"
            f"{row['category']:<17}{created:<18}{row['customer_name']}"
        )
        if number is not None:
            print(f"  problem:  {row['problem']}")
            print(f"  solution: {row['resolution'] or '-'}")
            print(f"  contact:  {row['contact'] or '-'}")
            items = [ClaimedItem.model_validate(i) for i in json.loads(row["items"] or "[]")]
            print(f"  items:    {len(items) or '-'}")
            for line in item_lines(items):
                print(f"    {line}")
            print(f"  amount:   {row['claimed_amount'] or '-'}")
            # The back office pays the refund: the whole IBAN, printed, never logged.
            print(f"  account:  {row['refund_account'] or '-'}")
            print(f"  note:     {row['note'] or '-'}")
            files = [Attachment.model_validate(f) for f in json.loads(row["attachments"] or "[]")]
            print(f"  files:    {len(files) or '-'}")
            for line in file_lines(files):
                print(f"    {line}")
            stars = f"{rating.stars} ★ {rating.comment}".strip() if rating is not None else "-"
            print(f"  rating:   {stars}")
            print(f"  thread:   {len(thread) or '-'}")
            for said in thread:
                print(
                    f"    {_when(said.created_at)}  {said.author} {said.author_name}: {said.text}"
                )
                for line in file_lines(said.attachments):
                    print(f"      {line}")
    return 0


async def _thread(database: Database, number: str) -> tuple[list[ThreadMessage], Rating | None]:
    """What the customer and the operators wrote about the complaint, oldest first, and the
    customer's rating."""
    entry = await Ledger(database).find_by_number(LocalDeskBackend.name, number)
    if entry is None:
        return [], None
    return await ThreadStore(database).messages(entry.id), await RatingStore(database).get(entry.id)


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M")
