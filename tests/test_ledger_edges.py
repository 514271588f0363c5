"""The ledger at its edges: an unreadable row, and complaints waiting for another backend."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.backends.base import BackendUnavailable
from bot.cli.complaints import list_complaints, move_pending
from bot.config import ConfigError
from bot.storage.ledger import LedgerState
from bot.telegram_html import plain_text
from tests.helpers.backends import ScriptedBackend
from tests.helpers.driver import BotHarness, make_settings

pytestmark = pytest.mark.both_engines

OPERATORS = -100555


async def test_an_unreadable_pending_row_is_set_aside_and_the_others_go_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    down = ScriptedBackend(script=[BackendUnavailable("down")] * 2)
    bot = BotHarness(
        make_settings(tmp_path / "bot.sqlite3", operator_chat_id=OPERATORS), backend=down
    )
    await bot.start()
    ada, bob = bot.customer("Ada"), bot.customer("Bob")
    await ada.file_complaint(order_id="ADA-1")
    await bob.file_complaint(order_id="BOB-2")
    await bot.settle()
    # A newer release wrote this row before a rollback (or somebody edited it by hand).
    await bot.built.services.database.execute(
        "UPDATE complaints SET envelope = '{\"version\": 2}' WHERE order_id = 'ADA-1'"
    )
    await bot.advance(120)
    await bot.advance(120)

    registered = await bot.built.services.ledger.in_state(LedgerState.REGISTERED)
    assert [entry.order_id for entry in registered] == ["BOB-2"]
    assert "Complaint number" in plain_text(bob.messages()[-1].text)
    posts = [plain_text(m.text) for m in bot.api.chat_messages(OPERATORS)]
    assert len([p for p in posts if "cannot be read" in p]) == 1  # reported once, not per round
    await bot.stop()

    await list_complaints(bot.settings, ["quarantined"])
    listing = capsys.readouterr().out
    assert "ADA-1" in listing and "conversationRequest" in listing and "BOB-2" not in listing
    await list_complaints(bot.settings, ["pending", "failed"])
    assert "ADA-1" not in capsys.readouterr().out  # set aside, not waiting


async def _one_pending(tmp_path: Path, backend_name: str) -> BotHarness:
    down = ScriptedBackend(name=backend_name, script=[BackendUnavailable("down")])
    bot = BotHarness(make_settings(tmp_path / "bot.sqlite3"), backend=down)
    await bot.start()
    await bot.customer().file_complaint(order_id="WAIT-1")
    await bot.settle()
    await bot.stop()
    return bot


async def test_starting_with_another_backend_while_complaints_wait_stops_with_one_line(
    tmp_path: Path,
) -> None:
    await _one_pending(tmp_path, "middleware")
    bot = BotHarness(make_settings(tmp_path / "bot.sqlite3"), backend=ScriptedBackend())
    with pytest.raises(ConfigError) as raised:
        await bot.start()
    message = str(raised.value)
    assert message.startswith("COMPLAINT_BACKEND: complaints still wait for another backend")
    assert "1 on middleware" in message and "--move-pending-to local" in message
    await bot.built.application.shutdown()
    await bot.built.application.post_shutdown(bot.built.application)  # type: ignore[misc]


async def test_python_m_bot_says_it_in_one_line_and_exits_2(tmp_path: Path) -> None:
    bot = await _one_pending(tmp_path, "middleware")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN-not-a-real-one-abcdefghi",
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "LOG_LEVEL": "ERROR",
    }
    if bot.settings.database_url is not None:  # the PostgreSQL turn
        env["DATABASE_URL"] = bot.settings.database_url.url.get_secret_value()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        _, err = await process.communicate()
    assert process.returncode == 2, err.decode()
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Configuration error: COMPLAINT_BACKEND:")


async def test_moving_pending_complaints_lets_the_new_backend_file_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _one_pending(tmp_path, "middleware")
    settings = make_settings(tmp_path / "bot.sqlite3")
    assert await move_pending(settings, "local") == 0
    assert "Moved 1 pending complaint to the local backend." in capsys.readouterr().out
    backend = ScriptedBackend()
    bot = BotHarness(settings, backend=backend)
    await bot.start()
    await bot.advance(120)
    assert [call.envelope.entity.orderId for call in backend.calls] == ["WAIT-1"]
    await bot.stop()


async def test_a_complaint_the_old_backend_holds_part_of_is_not_moved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await _one_pending(tmp_path, "occ")
    await bot.built.services.database.open()
    await bot.built.services.database.execute(
        'UPDATE complaints SET checkpoint = \'{"appeasement_id": "app1"}\''
    )
    await bot.built.services.database.close()
    assert await move_pending(make_settings(tmp_path / "bot.sqlite3"), "local") == 1
    captured = capsys.readouterr()
    assert "Moved 0" in captured.out and "1 pending complaint(s) were kept" in captured.err
