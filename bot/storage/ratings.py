"""This module contains the RatingStore: customers' 1–5 star ratings of finished complaints.

One row per complaint (`complaint_ratings`). A rating may be changed for a day after it was
first given. While `comment_until` lies ahead, the customer's next text is the rating's
comment: that state is a column, not memory, so any instance on a shared database sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.database import Database, Row, Statement

# A rating can be changed for this long after it was first given.
CHANGE_SECONDS = 24 * 3600.0
MIN_STARS = 1
MAX_STARS = 5


@dataclass(frozen=True, slots=True)
class Rating:
    """One row of `complaint_ratings`."""

    complaint_id: int
    user_id: int
    stars: int
    comment: str
    rated_at: float
    changed_at: float
    comment_until: float

    @classmethod
    def from_row(cls, row: Row) -> Rating:
        """Reads a `complaint_ratings` row."""
        return cls(
            complaint_id=row["complaint_id"],
            user_id=row["user_id"],
            stars=row["stars"],
            comment=row["comment"],
            rated_at=row["rated_at"],
            changed_at=row["changed_at"],
            comment_until=row["comment_until"],
        )

    def changeable(self, now: float) -> bool:
        """Whether a new press may still change it."""
        return now - self.rated_at <= CHANGE_SECONDS


@dataclass(frozen=True, slots=True)
class RatedComplaint:
    """A rating with what the summary groups it by."""

    stars: int
    backend: str
    category: str


class RatingStore:
    """Reads and writes `complaint_ratings`; the writes are statements for a caller's batch,
    so a rating and the operators' post about it are one transaction."""

    def __init__(self, database: Database) -> None:
        self._db = database
        # On a database of its own, this process knows whose comment may be awaited (every
        # text a customer sends is checked, so most need no query); shared: always asked.
        self._awaiting: set[int] = set()

    async def load(self, *, now: float) -> None:
        """Reads whose comments are awaited (at start)."""
        rows = await self._db.fetch_all(
            "SELECT user_id FROM complaint_ratings WHERE comment_until > ?", [now]
        )
        self._awaiting = {int(row[0]) for row in rows}

    def forget(self, user_id: int) -> None:
        """Drops what this process knows of a customer's awaited comment (it was erased)."""
        self._awaiting.discard(user_id)

    def may_await(self, user_id: int) -> bool:
        """False when no comment of the customer's is surely awaited."""
        return self._db.shared or user_id in self._awaiting

    async def get(self, complaint_id: int) -> Rating | None:
        """The complaint's rating, if it has one."""
        row = await self._db.fetch_one(
            "SELECT * FROM complaint_ratings WHERE complaint_id = ?", [complaint_id]
        )
        return Rating.from_row(row) if row is not None else None

    async def awaiting_comment(self, user_id: int, *, now: float) -> Rating | None:
        """The customer's rating whose comment is awaited now (the newest, if several)."""
        row = await self._db.fetch_one(
            "SELECT * FROM complaint_ratings WHERE user_id = ? AND comment_until > ? "
            "ORDER BY changed_at DESC, complaint_id DESC LIMIT 1",
            [user_id, now],
        )
        if row is None:
            self._awaiting.discard(user_id)  # commented, skipped or lapsed: no more queries
            return None
        return Rating.from_row(row)

    def first(
        self, complaint_id: int, user_id: int, stars: int, *, now: float, comment_until: float
    ) -> Statement:
        """The guarded statement of a first rating (fails when one was stored meanwhile)."""
        self._awaiting.add(user_id)
        return Statement(
            "INSERT INTO complaint_ratings (complaint_id, user_id, stars, comment, rated_at, "
            "changed_at, comment_until) VALUES (?, ?, ?, '', ?, ?, ?) "
            "ON CONFLICT (complaint_id) DO NOTHING RETURNING complaint_id",
            (complaint_id, user_id, stars, now, now, comment_until),
            required=True,
        )

    def change(self, rating: Rating, stars: int, *, now: float, comment_until: float) -> Statement:
        """The guarded statement changing a rating as it was read (and still changeable)."""
        self._awaiting.add(rating.user_id)
        return Statement(
            "UPDATE complaint_ratings SET stars = ?, changed_at = ?, comment_until = ? "
            "WHERE complaint_id = ? AND changed_at = ? AND rated_at >= ? "
            "RETURNING complaint_id",
            (
                stars,
                now,
                comment_until,
                rating.complaint_id,
                rating.changed_at,
                now - CHANGE_SECONDS,
            ),
            required=True,
        )

    def others_done(self, user_id: int, complaint_id: int) -> Statement:
        """Stops awaiting comments on the customer's other ratings: the newest one asks."""
        return Statement(
            "UPDATE complaint_ratings SET comment_until = 0 "
            "WHERE user_id = ? AND complaint_id != ? AND comment_until > 0",
            (user_id, complaint_id),
        )

    def comment(self, rating: Rating, text: str, *, now: float) -> Statement:
        """The guarded statement storing the comment, if it is still awaited."""
        return Statement(
            "UPDATE complaint_ratings SET comment = ?, comment_until = 0 "
            "WHERE complaint_id = ? AND comment_until > ? RETURNING complaint_id",
            (text, rating.complaint_id, now),
            required=True,
        )

    def skip(self, complaint_id: int, user_id: int, *, now: float) -> Statement:
        """The guarded statement ending the wait for a comment ([Skip]), if it still runs."""
        return Statement(
            "UPDATE complaint_ratings SET comment_until = 0 "
            "WHERE complaint_id = ? AND user_id = ? AND comment_until > ? "
            "RETURNING complaint_id",
            (complaint_id, user_id, now),
            required=True,
        )

    async def since(self, cutoff: float) -> list[RatedComplaint]:
        """Every rating given since `cutoff`, with its complaint's backend and category."""
        rows = await self._db.fetch_all(
            "SELECT r.stars, c.backend, c.category FROM complaint_ratings r "
            "JOIN complaints c ON c.id = r.complaint_id WHERE r.rated_at >= ? "
            "ORDER BY r.complaint_id",
            [cutoff],
        )
        return [RatedComplaint(row["stars"], row["backend"], row["category"]) for row in rows]
