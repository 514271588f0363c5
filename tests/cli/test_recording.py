"""`python -m bot console --record`: a newcomer's session replays green, whatever it was."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import yaml

from bot.cli.console import run_console
from bot.config import load_settings
from tests.helpers.targets import replay_in_process
from tests.helpers.transcript import load_transcript

ROOT = Path(__file__).resolve().parents[2]
# The shipped flow: order, problem, category, [Skip] the photos, a solution, [Submit].
SHIPPED_FLOW = ["/complaint", "748596", "The kettle leaks from the bottom.", "1", "1", "1", "1"]


async def _record(
    folder: Path, env: dict[str, str], lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """A console session as a newcomer has it: `cp .env.example .env` (plus `env`), then
    `python -m bot console --record session.yaml`; returns the recording and the screen."""
    monkeypatch.chdir(folder)
    shutil.copy(ROOT / ".env.example", folder / ".env")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    recording = folder / "session.yaml"
    stdin = io.StringIO("".join(f"{line}\n" for line in [*lines, "/quit"]))
    out = io.StringIO()
    assert await run_console(settings, record=recording, stdin=stdin, out=out) == 0
    return recording, out.getvalue()


async def test_a_session_with_the_shipped_settings_replays_green(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording, screen = await _record(tmp_path, {}, SHIPPED_FLOW, monkeypatch)
    assert "Complaint number: 100001" in screen
    transcript = load_transcript(recording)
    assert ("press", "Skip") in transcript.steps and ("press", "Refund") in transcript.steps
    # The tests' own defaults leave out the photo and solution steps: the replay must not.
    await replay_in_process(transcript, tmp_path / "replay")


async def test_a_session_with_every_optional_step_on_replays_green(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "ASK_CONTACT": "required",
        "ASK_PHOTOS": "optional",
        "PHOTO_CATEGORIES": "product-related,delivery",
        "COMPLAINT_CATEGORIES": "product-related=Broken,delivery=Late,other=Other",
        "COMPLAINT_RESOLUTIONS": "refund=Money back,repair=Repair it",
        "ORDER_ID_PATTERN": "^A-[0-9]{4}$",
        "CONVERSATION_TIMEOUT_MINUTES": "30",
    }
    typed = ["/complaint", "748596", "A-1234", "It came a week late.", "2", "1", "2", "k", "1"]
    recording, screen = await _record(tmp_path, env, typed, monkeypatch)
    assert "Solution wanted: Repair it" in screen and "Contact: +420777123456" in screen
    transcript = load_transcript(recording)
    assert transcript.settings["ask_contact"] == "required"
    assert transcript.settings["order_id_pattern"] == "^A-[0-9]{4}$"
    await replay_in_process(transcript, tmp_path / "replay")


async def test_a_path_that_cannot_be_written_is_refused_before_the_session(
    tmp_path: Path,
) -> None:
    settings = load_settings(database_path=tmp_path / "bot.sqlite3")
    err = io.StringIO()
    missing = tmp_path / "no-such-folder" / "session.yaml"
    code = await run_console(settings, record=missing, stdin=io.StringIO(""), err=err)
    assert code == 2
    assert err.getvalue() == (f"--record: {missing}: the folder {missing.parent} does not exist\n")
    err = io.StringIO()
    code = await run_console(settings, record=tmp_path, stdin=io.StringIO(""), err=err)
    assert (code, err.getvalue().count("\n")) == (2, 1)
    assert "is a folder" in err.getvalue()


async def test_an_existing_recording_is_kept_unless_forced(tmp_path: Path) -> None:
    settings = load_settings(database_path=tmp_path / "bot.sqlite3")
    recording = tmp_path / "session.yaml"
    recording.write_text("my earlier session\n")
    err, out = io.StringIO(), io.StringIO()
    stdin = io.StringIO("/help\n")
    assert await run_console(settings, record=recording, stdin=stdin, out=out, err=err) == 2
    assert err.getvalue() == f"--record: {recording} exists; add --force to overwrite it\n"
    assert recording.read_text() == "my earlier session\n" and out.getvalue() == ""

    stdin = io.StringIO("/help\n")
    assert await run_console(settings, record=recording, force=True, stdin=stdin, out=out) == 0
    assert {"user": "/help"} in yaml.safe_load(recording.read_text())["steps"]


async def test_the_end_of_input_keeps_the_recording(tmp_path: Path) -> None:
    """Ctrl-D (the end of input) instead of /quit."""
    settings = load_settings(database_path=tmp_path / "bot.sqlite3")
    recording = tmp_path / "session.yaml"
    stdin = io.StringIO("/complaint\n748596\n")
    assert await run_console(settings, record=recording, stdin=stdin, out=io.StringIO()) == 0
    steps = yaml.safe_load(recording.read_text())["steps"]
    assert steps[-2] == {"user": "748596"}
    assert "describe the problem" in steps[-1]["bot"]["text_contains"]


class _TerminalGone(io.StringIO):
    """Input that fails after its lines, as a terminal that went away (EIO)."""

    def readline(self, size: int | None = -1) -> str:
        line = super().readline()
        if not line:
            raise OSError(5, "Input/output error")
        return line


async def test_an_error_mid_session_keeps_the_recording(tmp_path: Path) -> None:
    settings = load_settings(database_path=tmp_path / "bot.sqlite3")
    recording = tmp_path / "session.yaml"
    with pytest.raises(OSError, match="Input/output error"):
        await run_console(
            settings, record=recording, stdin=_TerminalGone("/complaint\n"), out=io.StringIO()
        )
    steps = yaml.safe_load(recording.read_text())["steps"]
    assert {"user": "/complaint"} in steps
