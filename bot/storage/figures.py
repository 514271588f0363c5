"""This module contains read_figures: the counts the metrics' gauges show, in a few reads."""

from __future__ import annotations

from bot.metrics import DatabaseFigures
from bot.storage.database import Database


async def read_figures(database: Database) -> DatabaseFigures:
    """Complaints by state and backend, the outbox (pending, not set aside) and its oldest
    complaint, open drafts and messages owed: four aggregate reads, once per scrape at most."""
    by_state = await database.fetch_all(
        "SELECT state, backend, COUNT(*) AS n FROM complaints GROUP BY state, backend"
    )
    outbox = await database.fetch_one(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM complaints "
        "WHERE state = 'pending' AND quarantined = ''"
    )
    conversations = await database.fetch_one("SELECT COUNT(*) AS n FROM conversations")
    deliveries = await database.fetch_one(
        "SELECT COUNT(*) AS n FROM deliveries WHERE state = 'pending'"
    )
    oldest = outbox["oldest"] if outbox is not None else None
    return DatabaseFigures(
        complaints={(str(r["state"]), str(r["backend"])): int(r["n"]) for r in by_state},
        outbox_depth=int(outbox["n"]) if outbox is not None else 0,
        oldest_pending_created_at=float(oldest) if oldest is not None else None,
        conversations_open=int(conversations["n"]) if conversations is not None else 0,
        deliveries_pending=int(deliveries["n"]) if deliveries is not None else 0,
    )
