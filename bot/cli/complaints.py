"""This module contains `python -m bot complaints`: the ledger as operators need to see it."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from bot.config import Settings
from bot.storage.deliveries import DeliveryState, DeliveryStore
from bot.storage.engines import database_for
from bot.storage.ledger import Ledger, LedgerState
from bot.storage.unknown_outcomes import UnknownOutcomes
from bot.words import counted

LEDGER_STATES = frozenset(str(state) for state in LedgerState)


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M")


async def list_complaints(settings: Settings, states: Iterable[str]) -> int:
    """Prints one line per complaint in the given ledger states; exit status 0.

    Besides the ledger's states, `quarantined` lists rows set aside as unreadable, and
    `undelivered` the messages that could not be delivered: given up, or still waiting to
    be tried again (an operator chat that refuses the bot, Telegram down).
    """
    wanted = list(states)
    database = database_for(settings)
    await database.open()
    try:
        ledger = Ledger(database)
        ledger_states = [LedgerState(s) for s in wanted if s in LEDGER_STATES]
        entries = await ledger.in_state(*ledger_states) if ledger_states else []
        quarantined = await ledger.quarantined() if "quarantined" in wanted else []
        unknown = await UnknownOutcomes(database).listed() if "unknown" in wanted else []
        store = DeliveryStore(database)
        undelivered = (
            await store.in_state(DeliveryState.GIVEN_UP) + await store.waiting()
            if "undelivered" in wanted
            else []
        )
    finally:
        await database.close()
    if not (entries or quarantined or undelivered or unknown):
        print(f"No {' or '.join(wanted)} complaints.")
        return 0
    if entries:
        print(
            f"{'id':>6}  {'state':<10} {'number':<18} {'order':<20} {'attempts':>8}  "
            f"{'created (UTC)':<16}  last error"
        )
        for e in entries:
            print(
                f"{e.id:>6}  {e.state:<10} {e.complaint_number or '-':<18} {e.order_id:<20} "
                f"{e.attempts:>8}  {_when(e.created_at):<16}  {e.last_error or '-'}"
            )
    if quarantined:
        print("Quarantined (cannot be read; fix or remove the row, then it is picked up again):")
        print(f"{'id':>6}  {'backend':<10} {'order':<20} {'created (UTC)':<16}  reason")
        for q in quarantined:
            print(
                f"{q.id:>6}  {q.backend:<10} {q.order_id:<20} {_when(q.created_at):<16}  {q.reason}"
            )
    if unknown:
        print(
            "Outcome unknown (the backend may have filed them; look there, then "
            "--adopt ID NUMBER or --resubmit ID):"
        )
        print(f"{'id':>6}  {'backend':<10} {'order':<20} {'created (UTC)':<16}  reason")
        for u in unknown:
            print(
                f"{u.id:>6}  {u.backend:<10} {u.order_id:<20} {_when(u.created_at):<16}  {u.reason}"
            )
    if undelivered:
        print("Messages not delivered (given up, or waiting to be tried again):")
        print(
            f"{'id':>6}  {'chat':>14}  {'kind':<26} {'complaint':>9}  {'state':<8}  "
            f"{'created (UTC)':<16}  error"
        )
        for d in undelivered:
            state = "waiting" if d.state is DeliveryState.PENDING else "given up"
            print(
                f"{d.id:>6}  {d.chat_id:>14}  {d.kind:<26} {d.complaint_id or '-':>9}  "
                f"{state:<8}  {_when(d.created_at):<16}  {d.last_error}"
            )
    return 0


async def move_pending(settings: Settings, backend: str) -> int:
    """Moves complaints waiting for another backend to `backend`; 0 when none is left behind."""
    database = database_for(settings)
    await database.open()
    try:
        moved, kept = await Ledger(database).move_pending(backend)
    finally:
        await database.close()
    print(f"Moved {counted(moved, 'pending complaint')} to the {backend} backend.")
    if kept:
        print(
            f"{kept} pending complaint(s) were kept: their old backend already holds part of "
            "them (e.g. an OCC appeasement created). Run the bot with their old "
            "COMPLAINT_BACKEND until they are registered.",
            file=sys.stderr,
        )
        return 1
    return 0
