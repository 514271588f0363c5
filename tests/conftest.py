"""Shared fixtures: a clean environment, and a started bot on the local desk."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from tests.helpers.backends import ScriptedBackend
from tests.helpers.driver import BotHarness, make_settings

StartBot = Callable[..., Coroutine[Any, Any, BotHarness]]


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


@pytest.fixture
async def harness_factory(tmp_path: Path) -> AsyncIterator[StartBot]:
    """Starts bots on one database with any settings or backend; stops them after the test."""
    started: list[BotHarness] = []

    async def start(backend: ScriptedBackend | None = None, **overrides: Any) -> BotHarness:
        harness = BotHarness(make_settings(tmp_path / "bot.sqlite3", **overrides), backend=backend)
        await harness.start()
        started.append(harness)
        return harness

    yield start
    for harness in started:
        await harness.stop()


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--transcript NAME` runs that one transcript (in-process, and as a process if marked)."""
    parser.addoption(
        "--transcript",
        metavar="NAME",
        help="run only tests/transcripts/NAME.yaml (make transcript NAME=...)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    name = config.getoption("--transcript")
    if not name:
        return
    chosen = [item for item in items if item.name.endswith(f"[{name}]")]
    if not chosen:
        raise pytest.UsageError(f"no transcript tests/transcripts/{name}.yaml")
    config.hook.pytest_deselected(items=[item for item in items if item not in chosen])
    items[:] = chosen
