"""`migrate` and `migrate-to-postgres`: an operator who started small moves to PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.postgres import PostgresServer
from bot.cli.desk import set_status
from bot.cli.migrate import TABLES, migrate, migrate_to_postgres
from bot.storage.ledger import LedgerState
from bot.storage.migrations import SQLITE_MIGRATIONS
from bot.storage.ratings import RatingStore
from bot.telegram_html import plain_text
from tests.helpers.driver import BotHarness, make_settings


async def test_an_sqlite_database_moves_to_postgresql_with_everything_kept(
    tmp_path: Path, postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    small = BotHarness(make_settings(tmp_path / "bot.sqlite3", operator_chat_id=-100777))
    await small.start()
    small.api.telegram.add_group(-100777, "Shop team")
    ada, bob = small.customer("Ada"), small.customer("Bob")
    await ada.file_complaint()
    await bob.file_complaint(order_id="ORD-2")
    await small.settle()
    await ada.press("✍️ Write about this complaint")
    await ada.send("It also leaks from the bottom.")  # a thread is copied too
    assert await set_status(small.settings, "100002", "resolved") == 0
    await small.settle()
    await bob.press("5 ★")  # a rating is copied too
    await ada.send("/language")
    await ada.press("Čeština")
    await ada.send("/complaint")
    await ada.send("ORD-3")  # a draft left half way
    await small.stop()

    url = postgres_server.new_database()
    settings = make_settings(tmp_path / "bot.sqlite3", database_url=url, operator_chat_id=-100777)
    assert await migrate_to_postgres(settings, tmp_path / "bot.sqlite3") == 0
    assert "Copied" in capsys.readouterr().out

    big = BotHarness(settings, telegram=small.api.telegram, first_update_id=10_000)
    big.clock.now = small.clock.now
    await big.start()
    try:
        turn = await ada.__class__(big, ada.user).send("Der Wasserkocher leckt unten.")
        assert "kategorie" in turn.text  # Czech kept, the draft continues at the problem
        carl = big.customer("Carl", user_id=777)
        await carl.file_complaint(order_id="ORD-4")
        await big.settle()
        (entry,) = await big.built.services.ledger.for_customer(777)
        assert entry.complaint_number == "100003"  # the desk's numbering goes on
        registered = await big.built.services.ledger.in_state(LedgerState.REGISTERED)
        assert len(registered) == 3
        assert "100003" in plain_text(big.api.chat_messages(777)[-1].text)
        rating = await RatingStore(big.built.services.database).get(2)
        assert rating is not None and rating.stars == 5
        [said] = await big.built.services.threads.messages(1)
        assert said.text == "It also leaks from the bottom."
    finally:
        await big.stop()

    assert await migrate_to_postgres(settings, tmp_path / "bot.sqlite3") == 1  # not empty now
    assert "is not empty" in capsys.readouterr().err


async def test_migrate_says_where_the_database_stands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await migrate(make_settings(tmp_path / "bot.sqlite3")) == 0
    assert capsys.readouterr().out.strip() == (
        f"SQLite {tmp_path / 'bot.sqlite3'} is at schema version {len(SQLITE_MIGRATIONS)}."
    )


def test_migrate_to_postgres_copies_every_table_but_the_leases() -> None:
    # A table added by a migration and forgotten here would be lost in the move.
    created = {
        name for script in SQLITE_MIGRATIONS for name in re.findall(r"CREATE TABLE (\w+)", script)
    }
    assert created - {"leases"} == set(TABLES)
