"""This module contains `python -m bot settings-reference`: the tables of docs/configuration.md,
rendered from the settings model (each setting's name, default and description), so that the
reference and the code cannot drift apart (`make docs` writes them; a test compares)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from pydantic.fields import FieldInfo

from bot.config import Settings

BEGIN = "<!-- settings:begin: generated from bot/config/settings.py by `make docs`; edit there -->"
END = "<!-- settings:end -->"
# Each section of the reference and the first setting in it (the model's order is kept).
SECTIONS = (
    ("Telegram and the bot's web servers", "telegram_bot_token"),
    ("Complaints, the database and the backends' calls", "complaint_backend"),
    ("Operations", "log_level"),
    ("`COMPLAINT_BACKEND=middleware`", "middleware_base_url"),
    ("`COMPLAINT_BACKEND=occ`", "occ_base_url"),
    ("`COMPLAINT_BACKEND=bizkithub`", "bizkithub_base_url"),
    ("The conversation's optional steps, the customers' files and data", "photo_categories"),
)
OUT_OF_DATE = "{path} is out of date with the settings model: run `make docs`"


def value_text(value: object) -> str:
    """A default as it is written in `.env`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping):
        return ",".join(f"{key}={item}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def shown_default(field: FieldInfo) -> str:
    """The default column: the value in code style, or — (and what unset means)."""
    default = field.get_default(call_default_factory=True)
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if default is None:
        unset = extra.get("unset")
        return f"— ({unset})" if unset else "—"
    text = value_text(default)
    return f"`{text}`" if text else "empty"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_tables(fields: Mapping[str, FieldInfo] | None = None) -> str:
    """Every setting, section by section: `| NAME | default | description |`."""
    fields = Settings.model_fields if fields is None else fields
    starts = {first: title for title, first in SECTIONS}
    missing = [first for first in starts if first not in fields]
    if missing:
        raise ValueError(f"SECTIONS names settings the model does not have: {missing}")
    lines: list[str] = []
    for name, field in fields.items():
        if name in starts:
            lines += ["", f"### {starts[name]}", "", "| setting | default | meaning |"]
            lines.append("|---|---|---|")
        if not field.description or "\n" in field.description:
            raise ValueError(f"{name.upper()}: needs a one-line Field(description=...)")
        row = (f"`{name.upper()}`", shown_default(field), field.description)
        lines.append("| " + " | ".join(_cell(part) for part in row) + " |")
    return "\n".join(lines).strip("\n")


def update_document(text: str, tables: str | None = None) -> str:
    """The document with what stands between the markers replaced by the tables."""
    tables = render_tables() if tables is None else tables
    if BEGIN not in text or END not in text:
        raise ValueError(f"the document needs the markers {BEGIN} and {END}")
    before, rest = text.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    return f"{before}{BEGIN}\n{tables}\n{END}{after}"


def settings_reference(
    *, write: Path | None = None, check: Path | None = None, out: TextIO | None = None
) -> int:
    """Prints the tables; with `write`, puts them in that document; with `check`, exits 1
    (saying so in one line) when that document's tables are not the model's."""
    stream = out or sys.stdout
    path = write or check
    if path is None:
        print(render_tables(), file=stream)
        return 0
    current = path.read_text(encoding="utf-8")
    try:
        wanted = update_document(current)
    except ValueError as err:
        print(f"{path}: {err}", file=sys.stderr)
        return 2
    if check is not None:
        if current != wanted:
            print(OUT_OF_DATE.format(path=path), file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        path.write_text(wanted, encoding="utf-8")
        print(f"Wrote the settings tables into {path}", file=stream)
    return 0
