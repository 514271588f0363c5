"""Shared fixtures: a clean environment, and a started bot on the local desk."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.postgres import INSTALL_HINT, PostgresServer, find_binaries
from bot.config import Settings
from tests.helpers import driver
from tests.helpers.backends import ScriptedBackend
from tests.helpers.driver import BotHarness, make_settings

NO_POSTGRES = f"PostgreSQL is not installed ({INSTALL_HINT} runs these)"

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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_engines: runs on SQLite and again on a real PostgreSQL server"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked both_engines run once per engine."""
    if metafunc.definition.get_closest_marker("both_engines"):
        metafunc.parametrize("engine", ["sqlite", "postgres"], indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throw-away PostgreSQL server for the session (skips where none is installed)."""
    binaries = find_binaries()
    if binaries is None:
        pytest.skip(NO_POSTGRES)
    server = PostgresServer(binaries)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """The engine the test's bots run on: SQLite, or (in a both_engines test's second turn) a
    fresh database on the session's PostgreSQL server, which make_settings then names."""
    name = str(getattr(request, "param", "sqlite"))
    if name == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        driver.use_database_url(server.new_database())
    try:
        yield name
    finally:
        driver.use_database_url(None)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line when the PostgreSQL tests could not run, and how to make them run."""
    skipped = terminalreporter.stats.get("skipped", [])
    count = sum(1 for report in skipped if NO_POSTGRES in str(report.longrepr))
    if count:
        terminalreporter.write_line(
            f"{count} tests on PostgreSQL were skipped: it is not installed. "
            f"`{INSTALL_HINT}` installs it; `make test` then runs them."
        )
