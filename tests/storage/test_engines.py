"""The storage port behaves the same on both engines; DATABASE_URL chooses one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.storage.migrations import SQLITE_MIGRATIONS
from bot.storage.postgres import PostgresDatabase, numbered
from bot.storage.sqlite import SqliteDatabase
from tests.helpers.driver import BotHarness

pytestmark = pytest.mark.both_engines


async def test_the_engine_is_the_one_the_settings_name(bot: BotHarness, engine: str) -> None:
    database = bot.built.services.database
    expected = PostgresDatabase if engine == "postgres" else SqliteDatabase
    assert isinstance(database, expected)
    assert await database.schema_version() == len(SQLITE_MIGRATIONS)


async def test_desk_numbers_start_at_100001_and_are_never_reused(bot: BotHarness) -> None:
    ada, bob = bot.customer("Ada"), bot.customer("Bob")
    await ada.file_complaint()
    await bot.settle()
    await bob.file_complaint(order_id="ORD-2")
    await bot.settle()
    numbers = sorted(
        entry.complaint_number or ""
        for entry in await bot.built.services.ledger.for_customer(ada.id)
        + await bot.built.services.ledger.for_customer(bob.id)
    )
    assert numbers == ["100001", "100002"]
    database = bot.built.services.database
    await database.execute("DELETE FROM desk_complaints WHERE number = ?", [100002])
    carl = bot.customer("Carl")
    await carl.file_complaint(order_id="ORD-3")
    await bot.settle()
    (entry,) = await bot.built.services.ledger.for_customer(carl.id)
    assert entry.complaint_number == "100003"


async def test_a_guarded_batch_writes_all_or_nothing(bot: BotHarness) -> None:
    from bot.storage.database import Statement

    database = bot.built.services.database
    await database.execute(
        "INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)", ["x", "a", 1.0]
    )
    written = await database.batch(
        Statement("UPDATE leases SET until = ? WHERE name = ?", (2.0, "x")),
        Statement("UPDATE leases SET until = ? WHERE name = ? RETURNING name", (3.0, "none"), True),
    )
    assert written is None
    row = await database.fetch_one("SELECT until FROM leases WHERE name = ?", ["x"])
    assert row is not None and row[0] == 1.0


def test_placeholders_are_numbered_for_postgresql() -> None:
    assert numbered("SELECT ? WHERE a = ? AND b IN (?, ?)") == (
        "SELECT $1 WHERE a = $2 AND b IN ($3, $4)"
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://x", "must be sqlite:///path/to/file.sqlite3 or postgresql://"),
        ("postgresql://user:pw@host:5432", "names no database"),
        ("postgresql://user:pw@host:port/db", "has a port that is not a number"),
        ("sqlite:///", "needs a path"),
    ],
)
def test_a_bad_database_url_is_one_line_that_never_shows_the_password(url: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(database_url=url)
    assert str(raised.value).startswith("DATABASE_URL: ") and says in str(raised.value)
    assert "pw" not in str(raised.value)


def test_the_database_password_is_a_secret(tmp_path: Path) -> None:
    settings = load_settings(database_url="postgresql://bot:s3cret-pass@db:5432/complaints")
    assert "s3cret-pass" in settings.secrets()
    assert settings.database_url is not None
    assert settings.database_url.host == "db:5432/complaints"
    sqlite = load_settings(database_url=f"sqlite:///{tmp_path}/x.sqlite3")
    assert sqlite.database_url is not None and sqlite.database_url.path == tmp_path / "x.sqlite3"
