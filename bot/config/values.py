"""This module contains the values settings are made of: database URLs, `code=Label` mappings,
the patterns settings are checked against, and the errors they raise."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr

BackendName = Literal["local", "middleware", "occ", "bizkithub"]

DEFAULT_CATEGORIES = "product-related=Product-related,delivery=Delivery,payment=Payment,other=Other"
DEFAULT_ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{2,31}$"
DEFAULT_RESOLUTIONS = "refund=Refund,replacement=Replacement,repair=Repair,none=No preference"
DEFAULT_BIZKITHUB_RESOLUTIONS = "refund=refund,replacement=exchange,repair=repair,*="
DEFAULT_PHOTO_CATEGORIES = ("product-related",)
# What @BotFather hands out: the bot's id, a colon, 35 characters of A-Z a-z 0-9 _ -.
BOT_TOKEN_PATTERN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]{35}$")
BIZKITHUB_KEY_PATTERN = re.compile(r"^(PROD|DEV_|ROOT)[A-Za-z0-9]{28}$")
CATEGORY_CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# The key that maps every category not named explicitly in OCC_REASONS / BIZKITHUB_VARIANTS.
ANY_CATEGORY = "*"

MIDDLEWARE_CREDENTIALS = "MIDDLEWARE_TOKEN (or MIDDLEWARE_USERNAME and MIDDLEWARE_PASSWORD)"


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line that names the setting."""


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """DATABASE_URL, read: which engine, and where (the password kept secret)."""

    engine: Literal["sqlite", "postgresql"]
    url: SecretStr
    path: Path = Path()

    @property
    def password(self) -> str:
        """The password in a PostgreSQL URL ("" when none)."""
        return urlsplit(self.url.get_secret_value()).password or ""

    @property
    def host(self) -> str:
        """Host, port and database of a PostgreSQL URL, for messages (never the password)."""
        parts = urlsplit(self.url.get_secret_value())
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.hostname or 'localhost'}{port}{parts.path}"


def parse_database_url(value: str) -> DatabaseUrl:
    """Reads `sqlite:///path` or `postgresql://user:password@host:5432/db`."""
    text = value.strip()
    if text.startswith("sqlite:///"):
        path = text.removeprefix("sqlite:///")
        if not path:
            raise ValueError("sqlite:/// needs a path, e.g. sqlite:///data/complaints.sqlite3")
        # sqlite:////abs/path is absolute; sqlite:///rel/path is relative to the working folder.
        return DatabaseUrl("sqlite", SecretStr(text), Path(path))
    if text.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(text)
        try:
            parts.port  # noqa: B018 - reading it checks it
        except ValueError as err:
            raise ValueError("has a port that is not a number") from err
        if not parts.path.strip("/"):
            raise ValueError("names no database (postgresql://user:password@host:5432/dbname)")
        return DatabaseUrl("postgresql", SecretStr(text))
    raise ValueError(
        "must be sqlite:///path/to/file.sqlite3 or postgresql://user:password@host:5432/db"
    )


def parse_mapping(value: object, *, empty_values: bool = False) -> dict[str, str]:
    """Reads `a=A,b=B` (or a JSON object) into an ordered dict, keeping the order given.

    With `empty_values`, `a=` maps `a` to "" (BIZKITHUB_RESOLUTIONS: send nothing for it).
    """
    if isinstance(value, Mapping):
        return {str(k).strip(): str(v).strip() for k, v in value.items()}
    if not isinstance(value, str):
        raise ValueError("expected pairs like code=Label,code=Label")
    text = value.strip()
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"is not valid JSON ({err.msg})") from err
        if not isinstance(loaded, dict):
            raise ValueError("expected a JSON object")
        return parse_mapping(loaded)
    result: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        key, sep, label = pair.partition("=")
        if not sep or not key.strip() or not (label.strip() or empty_values):
            raise ValueError(f"'{pair}' is not of the form code=value")
        result[key.strip()] = label.strip()
    return result


def mapped_value(mapping: Mapping[str, str], category: str) -> str | None:
    """The value for a category in OCC_REASONS / BIZKITHUB_VARIANTS, honouring the `*` default."""
    return mapping.get(category, mapping.get(ANY_CATEGORY))


def require(value: object, name: str, choice: str, *, setting: str = "COMPLAINT_BACKEND") -> None:
    if value is None or value == "":
        raise ValueError(f"{name}: is required when {setting}={choice}")


def require_all(values: Mapping[str, object], choice: str) -> None:
    """Names every missing setting of the chosen backend at once."""
    missing = [name for name, value in values.items() if value is None or value == ""]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise ValueError(f"{', '.join(missing)}: {verb} required when COMPLAINT_BACKEND={choice}")


def check_covers(mapping: Mapping[str, str], categories: Mapping[str, str], name: str) -> None:
    missing = [code for code in categories if mapped_value(mapping, code) is None]
    if missing:
        raise ValueError(f"{name}: has no value for categories {', '.join(missing)} (or use *=…)")
    unknown = [code for code in mapping if code != ANY_CATEGORY and code not in categories]
    if unknown:
        raise ValueError(f"{name}: names unknown categories {', '.join(unknown)}")
