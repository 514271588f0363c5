"""This module contains CustomerData: one customer's data across every table, exported or erased."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from bot.backends.base import Receipt
from bot.complaint import ComplaintEnvelope, ConversationRequest, UserInfo
from bot.storage.database import Database, Row, Statement

logger = logging.getLogger(__name__)

# What replaces a customer's texts (the problem statement) once they are forgotten.
ERASED = "(erased)"
PSEUDONYM_PREFIX = "Forgotten customer"
# Hex digits of the keyed hash shown in a pseudonym: 32 bits, enough to tell customers apart.
PSEUDONYM_DIGITS = 8
# A complaint nobody will change any more: its customer need not be reachable through it.
FINISHED = (
    "(state IN ('rejected', 'failed') OR (state = 'registered' "
    "AND COALESCE(status_code, '') IN ('resolved', 'rejected', 'closed')))"
)
# Finished complaints anonymised per retention round (the next round takes the rest).
RETENTION_BATCH = 200

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
# processed_updates (update ids and times only).


def pseudonym_hash(key: str, user_id: int) -> str:
    """The keyed hash naming a forgotten customer: stable for one key, not reversible."""
    digest = hmac.new(key.encode(), f"customer:{user_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:PSEUDONYM_DIGITS]


@dataclass(frozen=True, slots=True)
class Pseudonym:
    """What replaces a customer's name (`name`) and, once unlinked, their id (`uid`)."""

    name: str
    uid: str

    @classmethod
    def of(cls, key: str, user_id: int) -> Pseudonym:
        digest = pseudonym_hash(key, user_id)
        return cls(f"{PSEUDONYM_PREFIX} {digest}", f"forgotten-{digest}")


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure did, and what it still waits for (then the request is kept)."""

    anonymised: int
    pending: int  # complaints still to be registered (anonymised once they are)
    open: int  # complaints the shop is still handling (unlinked once finished)
    owed: int  # messages still to be delivered to the customer
    remote_orders: tuple[str, ...]  # orders of complaints a remote backend keeps a copy of

    @property
    def complete(self) -> bool:
        return not (self.pending or self.open or self.owed)


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

    # -- erasure -----------------------------------------------------------------------------

    async def erase(
        self, user_id: int, key: str, *, now: float, keep_request: bool = False
    ) -> Erasure:
        """Forgets the customer: deletes their draft, preferences, follow-ups, thread messages
        and rating comments, and replaces their name and texts in their complaints (ledger and
        desk) by a pseudonym. Complaints still to be registered keep what registering needs;
        the request is kept (`erasures`) until they are registered, finished and told, and
        `erase` runs again then. Finished complaints are unlinked from the customer's id."""
        pseudonym = Pseudonym.of(key, user_id)
        rows = await self._db.fetch_all(
            "SELECT *, " + FINISHED + " AS finished FROM complaints "  # noqa: S608
            "WHERE user_id = ? ORDER BY id",
            [user_id],
        )
        ids = [int(row["id"]) for row in rows]
        statements: list[Statement] = []
        anonymised = pending = still_open = 0
        remote: list[str] = []
        for row in rows:
            if row["backend"] != "local" and row["state"] != "rejected":
                remote.append(str(row["order_id"]))
            if row["state"] == "pending":
                pending += 1
                continue
            finished = bool(row["finished"])
            if not finished:
                still_open += 1
            if finished or not row["anonymised_at"]:
                statements += self.anonymising(row, pseudonym, unlink=finished, now=now)
                anonymised += 1
        statements += [
            Statement("DELETE FROM conversations WHERE user_id = ?", (user_id,)),
            Statement("DELETE FROM customers WHERE user_id = ?", (user_id,)),
            Statement("DELETE FROM follow_ups WHERE user_id = ?", (user_id,)),
            *self._threads_of(ids),
            Statement(
                "DELETE FROM deliveries WHERE state != 'pending' AND user_id = ?", (user_id,)
            ),
        ]
        owed_row = await self._db.fetch_one(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'pending' AND user_id = ?", [user_id]
        )
        owed = int(owed_row[0]) if owed_row else 0
        erasure = Erasure(anonymised, pending, still_open, owed, tuple(dict.fromkeys(remote)))
        if erasure.complete and not keep_request:
            statements.append(Statement("DELETE FROM erasures WHERE user_id = ?", (user_id,)))
        else:
            statements.append(
                Statement(
                    "INSERT INTO erasures (user_id, requested_at) VALUES (?, ?) "
                    "ON CONFLICT (user_id) DO NOTHING",
                    (user_id, now),
                )
            )
        await self._db.batch(*statements)
        return erasure

    async def erasures(self) -> list[int]:
        """Customers whose erasure still waits for something."""
        rows = await self._db.fetch_all("SELECT user_id FROM erasures ORDER BY requested_at")
        return [int(row["user_id"]) for row in rows]

    def anonymising(
        self, row: Row, pseudonym: Pseudonym, *, unlink: bool, now: float
    ) -> list[Statement]:
        """The statements replacing a complaint's personal data (ledger and desk) by the
        pseudonym; `unlink` also drops the customer's id (nobody will need to reach them)."""
        try:
            envelope = ComplaintEnvelope.model_validate_json(row["envelope"])
        except ValidationError:
            # Unreadable (quarantined): nothing in it can be kept safely.
            logger.warning("Complaint %s could not be read; its envelope is dropped", row["id"])
            envelope_json = "{}"
        else:
            uid = pseudonym.uid if unlink else envelope.user.uid
            user = UserInfo(first_name=pseudonym.name, uid=uid)
            entity = envelope.entity.model_copy(
                update={"problemStatment": ERASED, "contact": None, "attachments": None}
            )
            envelope = _with_entity(
                envelope.model_copy(
                    update={"conversationRequest": ConversationRequest(userInfo=user)}
                ),
                entity,
            )
            envelope_json = envelope.model_dump_json()
        receipt = _bare_receipt(row["receipt"])
        # Unlinked: the complaint no longer leads to the customer's chat (0 is nobody's id).
        unlinking = ", user_id = 0, chat_id = 0" if unlink else ""
        desk_uid = "?" if unlink else "customer_uid"
        statements = [
            Statement(
                "UPDATE complaints SET envelope = ?, receipt = ?, anonymised_at = ?"  # noqa: S608
                f"{unlinking} WHERE id = ?",
                (envelope_json, receipt, now, row["id"]),
            ),
            Statement(
                "UPDATE desk_complaints SET customer_name = ?, problem = ?, contact = '', "  # noqa: S608
                f"attachments = '[]', customer_uid = {desk_uid} WHERE idempotency_key = ?",
                (
                    pseudonym.name,
                    ERASED,
                    *([pseudonym.uid] if unlink else []),
                    row["idempotency_key"],
                ),
            ),
        ]
        if unlink:
            statements.append(
                Statement(
                    "UPDATE complaint_ratings SET user_id = 0 WHERE complaint_id = ?", (row["id"],)
                )
            )
        return statements

    @staticmethod
    def _threads_of(ids: Sequence[int]) -> list[Statement]:
        """Deletes the complaints' threads and rating comments, and what was sent about them."""
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        return [
            Statement(
                f"DELETE FROM complaint_messages WHERE complaint_id IN ({marks})",  # noqa: S608
                tuple(ids),
            ),
            Statement(
                "UPDATE complaint_ratings SET comment = '', comment_until = 0 "  # noqa: S608
                f"WHERE complaint_id IN ({marks})",
                tuple(ids),
            ),
            Statement(
                "DELETE FROM deliveries WHERE state != 'pending' "  # noqa: S608
                f"AND complaint_id IN ({marks})",
                tuple(ids),
            ),
        ]

    # -- retention ---------------------------------------------------------------------------

    async def anonymise_finished(self, *, before: float, key: str, now: float) -> int:
        """Pseudonymises finished complaints untouched since `before` (a batch at a time);
        returns how many."""
        rows = await self._db.fetch_all(
            "SELECT * FROM complaints WHERE anonymised_at = 0 AND updated_at < ? "  # noqa: S608
            f"AND {FINISHED} ORDER BY id LIMIT ?",
            [before, RETENTION_BATCH],
        )
        statements: list[Statement] = []
        for row in rows:
            pseudonym = Pseudonym.of(key, int(row["user_id"]))
            statements += self.anonymising(row, pseudonym, unlink=True, now=now)
        statements += self._threads_of([int(row["id"]) for row in rows])
        if statements:
            await self._db.batch(*statements)
        return len(rows)

    async def prune_deliveries(self, *, before: float) -> int:
        """Deletes messages sent (or given up) before `before`: they hold texts."""
        return await self._db.execute(
            "DELETE FROM deliveries WHERE state != 'pending' AND updated_at < ?", [before]
        )


def _with_entity(envelope: ComplaintEnvelope, entity: Any) -> ComplaintEnvelope:
    query = envelope.queryInfo.model_copy(
        update={
            "parameters": envelope.queryInfo.parameters.model_copy(
                update={
                    "params": envelope.queryInfo.parameters.params.model_copy(
                        update={"entityInfo": entity}
                    )
                }
            )
        }
    )
    return envelope.model_copy(update={"queryInfo": query})


def _bare_receipt(stored: str | None) -> str | None:
    """The receipt without the backend's texts (they may quote the customer): the number,
    the reference status queries need, and the state."""
    if not stored:
        return stored
    try:
        receipt = Receipt.model_validate_json(stored)
    except ValidationError:
        return None
    bare = Receipt(number=receipt.number, reference=receipt.reference, state=receipt.state)
    return bare.model_dump_json()


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
        "author_name": row["author_name"],
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
