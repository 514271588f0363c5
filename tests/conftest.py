"""Shared fixtures: a clean environment, and a started bot on the local desk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from tests.helpers.driver import BotHarness, make_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's environment or .env file."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotHarness]:
    """The bot on the local complaint desk, started, stopped after the test."""
    harness = BotHarness(make_settings(tmp_path / "bot.sqlite3"))
    await harness.start()
    yield harness
    await harness.stop()
