"""`python -m bot desk` on a back-office machine: it needs the database, not the credentials
of the shop's remote backend."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.processes import TEST_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def _bot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        # The shop files complaints with the middleware; its settings are not on this machine.
        "COMPLAINT_BACKEND": "middleware",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )


def test_desk_show_works_without_the_remote_backends_settings(tmp_path: Path) -> None:
    shown = _bot(tmp_path, "desk", "show")
    assert (shown.returncode, shown.stdout) == (0, "No desk complaints.\n")
    assert "Configuration error" not in shown.stderr
    changed = _bot(tmp_path, "desk", "set-status", "100001", "resolved")
    assert changed.returncode == 1
    assert changed.stderr.splitlines()[-1] == "No desk complaint 100001."


def test_the_bot_itself_still_asks_for_them(tmp_path: Path) -> None:
    started = _bot(tmp_path, "check")
    assert started.returncode == 1
    assert "MIDDLEWARE_BASE_URL" in started.stdout
