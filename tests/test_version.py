"""The version: kept in pyproject.toml alone, printed by `--version`, logged once at start."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import bot
from tests.helpers.processes import BotProcess, until

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def test_the_version_is_pyprojects_as_installed() -> None:
    # A mismatch means the installed metadata is stale: `make test` reinstalls when
    # pyproject.toml changes, `pip install -e '.[dev]'` does it by hand.
    assert bot.__version__ == _pyproject_version()


def test_python_m_bot_version_needs_no_settings_and_no_token(tmp_path: Path) -> None:
    # A .env with a wrong setting proves the settings are not even read.
    (tmp_path / ".env").write_text("COMPLAINT_BACKEND=fax\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--version"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"order-complaints-bot {_pyproject_version()}\n"
    assert result.stderr == ""


async def test_the_version_is_logged_once_at_start(tmp_path: Path) -> None:
    process = BotProcess(tmp_path, {})  # Telegram unreachable: it starts, then retries
    try:
        await process.start()
        await until(lambda: "could not be reached at start" in process.output(), "the start")
    finally:
        await process.stop()
    named = f"order-complaints-bot {bot.__version__}"
    lines = [line for line in process.output().splitlines() if named in line]
    assert len(lines) == 1, process.output()
    assert f"Starting {named} in polling mode with the local backend" in lines[0]
