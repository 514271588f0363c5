"""This module contains CustomerData: one customer's data across every table, exported; and
the retention round that anonymises finished complaints (the erasure: bot/storage/erasures.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.storage.database import Database, Row
from bot.storage.pseudonyms import FINISHED, Anonymising, Pseudonym, thread_files_sql

# Finished complaints anonymised per retention round (the next round takes the rest).
RETENTION_BATCH = 200
# How the export names the shop's staff: by role, not by name (they have privacy too).
SHOP_TEAM = "the shop's team"

# Per table, what belongs to a customer (read by the export; the erasure mirrors it):
#   complaints          their user_id                  (ledger: envelope, receipt, status)
#   desk_complaints     the idempotency keys of theirs (the embedded desk's copy)
#   conversations       their user_id                  (the open draft)
#   customers           their user_id                  (language, notifications)
#   complaint_messages  their complaints' ids          (the thread, operators' answers too)
#   complaint_ratings   their complaints' ids          (stars and comment)
#   follow_ups          their user_id                  (writing about a complaint)
#   deliveries          their user_id or complaints    (messages owed or sent to them)
#   erasures            their user_id                  (an erasure still under way)
# Not theirs: complaint_topics (a forum topic's id, named by number and order), leases,
# processed_updates (update ids and times only), erased_files (Telegram's ids of files that
# are gone, kept so their links are refused).


def iso(timestamp: float | None) -> str | None:
    """A time as ISO 8601 in UTC (None stays None)."""
    if not timestamp:
        return None
    return datetime.fromtimestamp(float(timestamp), UTC).isoformat(timespec="seconds")


class CustomerData:
    """Reads (export) and pseudonymises or deletes (erasure, retention) a customer's rows."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # -- export ------------------------------------------------------------------------------

    async def export(self, user_id: int, *, now: float) -> dict[str, Any]:
        """Everything stored about the customer, as a JSON-ready document."""
        complaints = await self._db.fetch_all(
            "SELECT * FROM complaints WHERE user_id = ? ORDER BY id", [user_id]
        )
        ids = [int(row["id"]) for row in complaints]
        keys = [str(row["idempotency_key"]) for row in complaints]
        conversation = await self._db.fetch_one(
            "SELECT state, draft, updated_at FROM conversations WHERE user_id = ?", [user_id]
        )
        preferences = await self._db.fetch_one(
            "SELECT language, notifications, updated_at FROM customers WHERE user_id = ?",
            [user_id],
        )
        follow_ups = await self._db.fetch_all(
            "SELECT complaint_id, until FROM follow_ups WHERE user_id = ?", [user_id]
        )
        erasure = await self._db.fetch_one(
            "SELECT requested_at FROM erasures WHERE user_id = ?", [user_id]
        )
        return {
            "exported_at": iso(now),
            "telegram_user_id": user_id,
            "complaints": [_complaint(row) for row in complaints],
            "draft": (
                {
                    "step": conversation["state"],
                    "draft": _json(conversation["draft"]),
                    "updated_at": iso(conversation["updated_at"]),
                }
                if conversation is not None
                else None
            ),
            "preferences": (
                {
                    "language": preferences["language"],
                    "notifications": bool(preferences["notifications"]),
                    "updated_at": iso(preferences["updated_at"]),
                }
                if preferences is not None
                else None
            ),
            "complaint_messages": [_message(row) for row in await self._of(ids, "messages")],
            "ratings": [_rating(row) for row in await self._of(ids, "ratings")],
            "follow_ups": [
                {"complaint_id": row["complaint_id"], "until": iso(row["until"])}
                for row in follow_ups
            ],
            "desk_complaints": [_desk(row) for row in await self._desk_rows(keys)],
            "messages_about_you": [_delivery(row) for row in await self._deliveries(user_id, ids)],
            "erasure_requested_at": iso(erasure["requested_at"]) if erasure else None,
        }

    async def _of(self, ids: Sequence[int], what: str) -> list[Row]:
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        table = "complaint_messages" if what == "messages" else "complaint_ratings"
        order = "id" if what == "messages" else "complaint_id"
        return await self._db.fetch_all(
            f"SELECT * FROM {table} WHERE complaint_id IN ({marks}) ORDER BY {order}",  # noqa: S608
            list(ids),
        )

    async def _desk_rows(self, keys: Sequence[str]) -> list[Row]:
        if not keys:
            return []
        marks = ", ".join("?" for _ in keys)
        return await self._db.fetch_all(
            f"SELECT * FROM desk_complaints WHERE idempotency_key IN ({marks}) "  # noqa: S608
            "ORDER BY number",
            list(keys),
        )

    async def _deliveries(self, user_id: int, ids: Sequence[int]) -> list[Row]:
        marks = ", ".join("?" for _ in ids) or "NULL"
        return await self._db.fetch_all(
            "SELECT * FROM deliveries WHERE chat_id != 0 AND (user_id = ? "  # noqa: S608
            f"OR complaint_id IN ({marks})) ORDER BY id",
            [user_id, *ids],
        )

    # -- retention ---------------------------------------------------------------------------

    async def anonymise_finished(self, *, before: float, key: str, now: float) -> int:
        """Pseudonymises finished complaints untouched since `before` (a batch at a time);
        returns how many."""
        rows = await self._db.fetch_all(
            "SELECT * FROM complaints WHERE anonymised_at = 0 AND updated_at < ? "  # noqa: S608
            f"AND {FINISHED} ORDER BY id LIMIT ?",
            [before, RETENTION_BATCH],
        )
        if not rows:
            return 0
        work = Anonymising()
        for row in rows:
            pseudonym = Pseudonym.of(key, int(row["user_id"]))
            work.complaint(row, pseudonym, unlink=True, now=now)
        ids = [int(row["id"]) for row in rows]
        thread_files = await self._db.fetch_all(thread_files_sql(len(ids)), [*ids, now])
        work.threads(ids, thread_files, before=now)
        work.erased_files(now)
        await self._db.batch(*work.statements)
        return len(rows)

    async def prune_deliveries(self, *, before: float) -> int:
        """Deletes messages sent (or given up) before `before`: they hold texts."""
        return await self._db.execute(
            "DELETE FROM deliveries WHERE state != 'pending' AND updated_at < ?", [before]
        )


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _complaint(row: Row) -> dict[str, Any]:
    envelope = _json(row["envelope"])
    request = envelope.get("conversationRequest", {}) if isinstance(envelope, dict) else {}
    query = envelope.get("queryInfo", {}) if isinstance(envelope, dict) else {}
    entity = query.get("parameters", {}).get("params", {}).get("entityInfo", {})
    receipt = _json(row["receipt"])
    return {
        "number": row["complaint_number"],
        "order": row["order_id"],
        "category": row["category"],
        "problem": entity.get("problemStatment"),
        "resolution": entity.get("resolution"),
        "contact": entity.get("contact"),
        "attachments": entity.get("attachments") or [],
        "you_as_sent": request.get("userInfo"),
        "language": row["language"],
        "state": row["state"],
        "status": row["status_code"],
        "status_text": row["status_text"],
        "status_detail": row["status_detail"],
        "backend": row["backend"],
        "backend_answer": receipt.get("text") if isinstance(receipt, dict) else None,
        "from_shop_link": bool(row["from_deep_link"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "anonymised_at": iso(row["anonymised_at"]),
    }


def _message(row: Row) -> dict[str, Any]:
    return {
        "complaint_id": row["complaint_id"],
        "author": row["author"],
        # The customer's own name, or the team's role: operators are not named to customers.
        "author_name": row["author_name"] if row["author"] == "customer" else SHOP_TEAM,
        "text": row["text"],
        "attachments": _json(row["attachments"]) or [],
        "created_at": iso(row["created_at"]),
    }


def _rating(row: Row) -> dict[str, Any]:
    return {
        "complaint_id": row["complaint_id"],
        "stars": row["stars"],
        "comment": row["comment"],
        "rated_at": iso(row["rated_at"]),
        "changed_at": iso(row["changed_at"]),
    }


def _desk(row: Row) -> dict[str, Any]:
    return {
        "number": row["number"],
        "customer_name": row["customer_name"],
        "order": row["order_id"],
        "category": row["category"],
        "problem": row["problem"],
        "resolution": row["resolution"],
        "contact": row["contact"],
        "attachments": _json(row["attachments"]) or [],
        "status": row["status"],
        "note": row["note"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def _delivery(row: Row) -> dict[str, Any]:
    message = _json(row["message"])
    text = ""
    if isinstance(message, dict):
        text = str(message.get("text") or message.get("caption") or "")
    return {
        "kind": row["kind"],
        "state": row["state"],
        "text": text,
        "created_at": iso(row["created_at"]),
    }
