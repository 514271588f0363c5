"""This module contains pseudonyms: the statements replacing a complaint's personal data.

Both the erasure (/forgetme, bot/storage/erasures.py) and the retention round
(bot/storage/customer_data.py) anonymise complaints the same way: the customer's name and
texts give way to a keyed pseudonym, the refund account is dropped, the thread and rating
comment are deleted, and the files are named so their links stop working.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from bot.complaint import ComplaintEnvelope, ConversationRequest, UserInfo
from bot.receipts import Receipt
from bot.storage.database import Row, Statement

logger = logging.getLogger(__name__)

# What replaces a customer's texts (the problem statement) once they are forgotten.
ERASED = "(erased)"
PSEUDONYM_PREFIX = "Forgotten customer"
# Hex digits of the keyed hash shown in a pseudonym: 32 bits, enough to tell customers apart.
PSEUDONYM_DIGITS = 8
# The one operator-chat kind owed to the customer (bot/operators/replies.py).
OPERATOR_REPLY = "operator-reply"
# A complaint nobody will change any more: its customer need not be reachable through it.
FINISHED = (
    "(state IN ('rejected', 'failed') OR (state = 'registered' "
    "AND COALESCE(status_code, '') IN ('resolved', 'rejected', 'closed')))"
)


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


@dataclass(slots=True)
class Anonymising:
    """The statements of an anonymisation, and the files (by unique id) it erases."""

    statements: list[Statement] = field(default_factory=list)
    files: set[str] = field(default_factory=set)

    def complaint(self, row: Row, pseudonym: Pseudonym, *, unlink: bool, now: float) -> None:
        """Replaces a complaint's personal data (ledger and desk) by the pseudonym; `unlink`
        also drops the customer's id (nobody will need to reach them)."""
        self.files |= _file_ids(row["envelope"])
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
                update={
                    "problemStatment": ERASED,
                    "contact": None,
                    "attachments": None,
                    "refundAccount": None,
                }
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
        self.statements += [
            Statement(
                "UPDATE complaints SET envelope = ?, receipt = ?, anonymised_at = ?"  # noqa: S608
                f"{unlinking} WHERE id = ?",
                (envelope_json, receipt, now, row["id"]),
            ),
            Statement(
                "UPDATE desk_complaints SET customer_name = ?, problem = ?, contact = '', "  # noqa: S608
                "attachments = '[]', refund_account = '', "
                f"customer_uid = {desk_uid} WHERE idempotency_key = ?",
                (
                    pseudonym.name,
                    ERASED,
                    *([pseudonym.uid] if unlink else []),
                    row["idempotency_key"],
                ),
            ),
        ]
        if unlink:
            self.statements.append(
                Statement(
                    "UPDATE complaint_ratings SET user_id = 0 WHERE complaint_id = ?", (row["id"],)
                )
            )

    def threads(self, ids: Sequence[int], thread_files: Sequence[Row], *, before: float) -> None:
        """Deletes the complaints' thread messages and rating comments from before `before`,
        what was sent about them, and cancels the operator-chat posts still owed about them
        (they quote the customer); `thread_files` are the thread's rows with attachments."""
        if not ids:
            return
        for row in thread_files:
            self.files |= _file_ids(row["attachments"])
        marks = ", ".join("?" for _ in ids)
        self.statements += [
            Statement(
                f"DELETE FROM complaint_messages WHERE complaint_id IN ({marks}) "  # noqa: S608
                "AND created_at <= ?",
                (*ids, before),
            ),
            Statement(
                "UPDATE complaint_ratings SET comment = '', comment_until = 0 "  # noqa: S608
                f"WHERE complaint_id IN ({marks}) AND changed_at <= ?",
                (*ids, before),
            ),
            Statement(
                "DELETE FROM deliveries WHERE state != 'pending' "  # noqa: S608
                f"AND complaint_id IN ({marks}) AND created_at <= ?",
                (*ids, before),
            ),
            # Owed to the operator chat, not to the customer: cancelled, so the customer's
            # words are not posted after they asked to be forgotten. (An operator's reply is
            # owed to the customer: it is delivered, and the erasure waits for it.)
            Statement(
                "UPDATE deliveries SET state = 'dropped', message = '{}', "  # noqa: S608
                "last_error = 'erased' WHERE state = 'pending' AND kind LIKE 'operator-%' "
                f"AND kind != '{OPERATOR_REPLY}' AND complaint_id IN ({marks}) "
                "AND created_at <= ?",
                (*ids, before),
            ),
        ]

    def erased_files(self, now: float) -> None:
        """Records the erased files, so their media links are refused from now on."""
        for unique_id in sorted(self.files):
            self.statements.append(
                Statement(
                    "INSERT INTO erased_files (unique_id, erased_at) VALUES (?, ?) "
                    "ON CONFLICT (unique_id) DO NOTHING",
                    (unique_id, now),
                )
            )


def thread_files_sql(count: int) -> str:
    """The query of the thread rows with files of `count` complaints (from before a time)."""
    marks = ", ".join("?" for _ in range(count))
    return (
        "SELECT attachments FROM complaint_messages WHERE attachments != '[]' "  # noqa: S608
        f"AND complaint_id IN ({marks}) AND created_at <= ?"
    )


def _file_ids(stored: str | None) -> set[str]:
    """The files' unique ids named in an envelope or a thread message's attachments."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            unique = value.get("fileUniqueId")
            if isinstance(unique, str) and unique:
                found.add(unique)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    if stored:
        with contextlib.suppress(ValueError):
            walk(json.loads(stored))
    return found


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
