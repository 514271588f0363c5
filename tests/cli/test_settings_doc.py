"""docs/configuration.md's tables are made from the settings model, and a test says when the
document has fallen behind it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.settings_doc import BEGIN, END, OUT_OF_DATE, render_tables, update_document
from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "configuration.md"


def test_the_configuration_reference_is_the_settings_models() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    assert text == update_document(text), OUT_OF_DATE.format(path=REFERENCE)


def test_every_setting_has_a_row_with_its_default_and_one_line_of_meaning() -> None:
    tables = render_tables()
    for name, field in Settings.model_fields.items():
        assert field.description and "\n" not in field.description, name
        (row,) = [line for line in tables.splitlines() if line.startswith(f"| `{name.upper()}` |")]
        assert row.endswith(f" | {field.description} |")
    assert "| `ASK_PHOTOS` | `optional` |" in tables
    assert "| `MIDDLEWARE_HONOURS_IDEMPOTENCY_KEY` | `false` |" in tables
    assert "| `MEDIA_LINK_SECRET` | — (`DEEP_LINK_SECRET`) |" in tables


def test_the_prose_around_the_tables_is_kept() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    before, after = text.split(BEGIN)[0], text.split(END)[1]
    assert before.startswith("# Configuration\n") and "Secrets are never printed." in before
    assert "In `OCC_REASONS` and `BIZKITHUB_VARIANTS`" in after


def _reference(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "settings-reference", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        check=False,
    )


def test_a_stale_reference_is_found_and_make_docs_brings_it_up_to_date(tmp_path: Path) -> None:
    """As `make docs` runs it: a default changed in code but not in the document is caught."""
    copy = tmp_path / "configuration.md"
    shutil.copy(REFERENCE, copy)
    assert _reference(tmp_path, "--check", str(copy)).returncode == 0
    stale = copy.read_text().replace("| `WEBHOOK_PORT` | `8443` |", "| `WEBHOOK_PORT` | `8080` |")
    copy.write_text(stale)
    checked = _reference(tmp_path, "--check", str(copy))
    assert checked.returncode == 1
    assert checked.stderr == OUT_OF_DATE.format(path=copy) + "\n"
    written = _reference(tmp_path, "--write", str(copy))
    assert written.returncode == 0 and copy.read_text() == REFERENCE.read_text()


def test_a_document_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="needs the markers"):
        update_document("# Configuration\n\nno tables here\n")
