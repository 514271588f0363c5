"""Every transcript in tests/transcripts/ replayed through the real Application.

Transcripts marked `loopback: true` also run against `python -m bot` as a separate process,
polling a loopback Bot API over HTTP: start-up, networking and shutdown included.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.targets import ProcessTarget, replay_in_process
from tests.helpers.transcript import all_transcripts, load_transcript, prepare_telegram, replay

TRANSCRIPTS = all_transcripts()
LOOPBACK = [path for path in TRANSCRIPTS if load_transcript(path).loopback]


def test_enough_transcripts_ship() -> None:
    assert len(TRANSCRIPTS) >= 15


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
async def test_transcript(path: Path, tmp_path: Path) -> None:
    await replay_in_process(load_transcript(path), tmp_path)


@pytest.mark.parametrize("path", LOOPBACK, ids=lambda p: p.stem)
async def test_transcript_against_the_bot_process(path: Path, tmp_path: Path) -> None:
    transcript = load_transcript(path)
    target = ProcessTarget(
        tmp_path, transcript.settings, shipped_defaults=transcript.shipped_defaults
    )
    prepare_telegram(transcript, target.telegram)
    await target.start()
    try:
        await replay(transcript, target)
    finally:
        await target.stop()
