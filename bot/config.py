"""This module contains the Settings of the bot, read once from the environment and `.env`."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.operators.hours import WorkingHours

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

Mapping_ = Annotated[dict[str, str], NoDecode]
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


class Settings(BaseSettings):
    """Every setting of the bot; names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_rate_limit_per_second: float = Field(default=30, ge=0)
    bot_mode: Literal["polling", "webhook"] = "polling"
    bot_username: str | None = None
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"  # noqa: S104 - the webhook server must be reachable
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    # The private /metrics server, in either mode (unset: none).
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_listen: str = "127.0.0.1"
    # What clients may hold of the bot's web servers (bot/web/server.py).
    web_max_connections: int = Field(default=200, ge=1, le=100_000)
    web_idle_timeout_seconds: float = Field(default=60, gt=0, le=3600)
    web_body_timeout_seconds: float = Field(default=10, gt=0, le=3600)

    complaint_backend: BackendName = "local"
    database_path: Path = Path("data/complaints.sqlite3")
    database_url: Annotated[DatabaseUrl | None, NoDecode] = None
    database_pool_size: int = Field(default=10, ge=2, le=200)
    claim_seconds: float = Field(default=60, ge=3, le=3600)
    complaint_categories: Mapping_ = Field(
        default_factory=lambda: parse_mapping(DEFAULT_CATEGORIES)
    )
    order_id_pattern: str = DEFAULT_ORDER_ID_PATTERN
    conversation_timeout_minutes: float = Field(default=15, gt=0)
    submit_retry_base_seconds: float = Field(default=30, gt=0)
    submit_retry_max_seconds: float = Field(default=3600, gt=0)
    submit_give_up_hours: float = Field(default=24, gt=0)
    submit_max_in_flight: int = Field(default=64, ge=1, le=512)
    status_poll_minutes: float = Field(default=30, gt=0)
    backend_connect_timeout_seconds: float = Field(default=5, gt=0)
    backend_read_timeout_seconds: float = Field(default=20, gt=0)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    operator_chat_id: int | None = None
    # Unset or empty: operators are always in.
    operator_hours: Annotated[WorkingHours | None, NoDecode] = None
    # Messages one customer may send the operator chat per hour (0: no limit).
    follow_ups_per_hour: int = Field(default=30, ge=0, le=10000)
    default_language: str = "en-US"
    deep_link_secret: SecretStr | None = None
    # Days a link from `python -m bot link` works (unset: it never expires).
    deep_link_days: int | None = Field(default=None, ge=1, le=3650)

    middleware_base_url: str | None = None
    middleware_username: str | None = None
    middleware_password: SecretStr | None = None
    middleware_token: SecretStr | None = None
    middleware_interest_type: str = "productComplaint"
    # Whether the middleware files a complaint once per Idempotency-Key (then a create whose
    # answer was lost is simply sent again); the API documents no such promise.
    middleware_honours_idempotency_key: bool = False

    occ_base_url: str | None = None
    occ_username: str | None = None
    occ_password: SecretStr | None = None
    occ_site_id: str | None = None
    occ_reasons: Mapping_ = Field(
        default_factory=lambda: parse_mapping(
            "product-related=itemArrivedDamaged,delivery=orderArrivedLate,*=other"
        )
    )

    bizkithub_base_url: str = "https://api.bizkithub.com"
    bizkithub_api_key: SecretStr | None = None
    bizkithub_variants: Mapping_ = Field(default_factory=lambda: parse_mapping("*=reklamace"))
    bizkithub_resolutions: Mapping_ = Field(
        default_factory=lambda: parse_mapping(DEFAULT_BIZKITHUB_RESOLUTIONS, empty_values=True)
    )

    photo_categories: Annotated[list[str] | None, NoDecode] = None
    ask_photos: Literal["off", "optional", "required"] = "optional"
    complaint_resolutions: Mapping_ = Field(
        default_factory=lambda: parse_mapping(DEFAULT_RESOLUTIONS)
    )
    ask_contact: Literal["off", "optional", "required"] = "off"
    media_base_url: str | None = None
    media_link_secret: SecretStr | None = None
    media_link_days: int = Field(default=30, ge=1, le=3650)
    media_cache_dir: Path | None = None
    # The customers' data rights: finished complaints older than this are anonymised daily
    # (unset: kept), and the key pseudonyms are derived with (unset: the bot token's).
    retention_days: int | None = Field(default=None, ge=1, le=36500)
    pseudonym_secret: SecretStr | None = None

    @field_validator("database_url", mode="before")
    @classmethod
    def _parse_database_url(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_database_url(value) if value.strip() else None
        if isinstance(value, SecretStr):
            return parse_database_url(value.get_secret_value())
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _check_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked before any network call: Telegram would only say "Not Found" (never the
        # token in the message: it is a secret even when malformed).
        if value is None or not value.get_secret_value():
            return None
        if not BOT_TOKEN_PATTERN.match(value.get_secret_value()):
            raise ValueError(
                "is not a bot token: @BotFather gives one of the form <digits>:<35 characters> "
                "(letters, digits, _ and -), e.g. 123456789:AAE… (copy it whole)"
            )
        return value

    @field_validator("operator_hours", mode="before")
    @classmethod
    def _parse_operator_hours(cls, value: object) -> object:
        if isinstance(value, str):
            return WorkingHours.parse(value) if value.strip() else None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator(
        "complaint_categories",
        "occ_reasons",
        "bizkithub_variants",
        "complaint_resolutions",
        mode="before",
    )
    @classmethod
    def _parse_mapping(cls, value: object) -> dict[str, str]:
        return parse_mapping(value)

    @field_validator("bizkithub_resolutions", mode="before")
    @classmethod
    def _parse_mapping_with_empty_values(cls, value: object) -> dict[str, str]:
        return parse_mapping(value, empty_values=True)

    @field_validator("photo_categories", mode="before")
    @classmethod
    def _parse_codes(cls, value: object) -> object:
        if isinstance(value, str):
            return [code.strip() for code in value.split(",") if code.strip()]
        return value

    @field_validator("complaint_resolutions")
    @classmethod
    def _check_resolutions(cls, value: dict[str, str]) -> dict[str, str]:
        for code in value:
            if not CATEGORY_CODE_PATTERN.match(code):
                raise ValueError(
                    f"resolution code '{code}' must be 1-32 lowercase letters, digits, - or _"
                )
        return value

    @field_validator("complaint_categories")
    @classmethod
    def _check_categories(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("needs at least one category")
        for code in value:
            if not CATEGORY_CODE_PATTERN.match(code):
                raise ValueError(
                    f"category code '{code}' must be 1-32 lowercase letters, digits, - or _"
                )
        return value

    @field_validator("order_id_pattern")
    @classmethod
    def _check_pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"is not a valid regular expression ({err})") from err
        return value

    @field_validator(
        "telegram_api_base_url",
        "middleware_base_url",
        "occ_base_url",
        "bizkithub_base_url",
        "webhook_url",
    )
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _check_backend_settings(self) -> Settings:
        backend = self.complaint_backend
        if backend == "middleware":
            has_basic = self.middleware_username is not None and self.middleware_password
            credentials = self.middleware_token if not has_basic else "basic"
            _require_all(
                {
                    "MIDDLEWARE_BASE_URL": self.middleware_base_url,
                    MIDDLEWARE_CREDENTIALS: credentials,
                },
                backend,
            )
        elif backend == "occ":
            _require_all(
                {
                    "OCC_BASE_URL": self.occ_base_url,
                    "OCC_USERNAME": self.occ_username,
                    "OCC_PASSWORD": self.occ_password,
                },
                backend,
            )
            _check_covers(self.occ_reasons, self.complaint_categories, "OCC_REASONS")
        elif backend == "bizkithub":
            _require(self.bizkithub_api_key, "BIZKITHUB_API_KEY", backend)
            assert self.bizkithub_api_key is not None
            if not BIZKITHUB_KEY_PATTERN.match(self.bizkithub_api_key.get_secret_value()):
                raise ValueError(
                    "BIZKITHUB_API_KEY: is not a BizKitHub key (PROD, DEV_ or ROOT followed "
                    "by 28 letters or digits)"
                )
            _check_covers(self.bizkithub_variants, self.complaint_categories, "BIZKITHUB_VARIANTS")
            # Codes of resolutions not offered are harmless (the default names refund, repair, ...).
            missing = [
                code
                for code in self.complaint_resolutions
                if mapped_value(self.bizkithub_resolutions, code) is None
            ]
            if missing:
                raise ValueError(
                    f"BIZKITHUB_RESOLUTIONS: has no value for resolutions {', '.join(missing)} "
                    "(or use *=…)"
                )
        if self.photo_categories is not None:
            unknown = [c for c in self.photo_categories if c not in self.complaint_categories]
            if unknown:
                raise ValueError(f"PHOTO_CATEGORIES: names unknown categories {', '.join(unknown)}")
        if self.media_base_url is not None:
            if not self.media_base_url.startswith("https://"):
                raise ValueError("MEDIA_BASE_URL: must be an https:// URL (the bot's public one)")
            if self.media_link_secret is None and self.deep_link_secret is None:
                raise ValueError(
                    "MEDIA_LINK_SECRET: set it (16+ characters), or DEEP_LINK_SECRET, to sign "
                    "the links of MEDIA_BASE_URL"
                )
        if (
            self.media_link_secret is not None
            and len(self.media_link_secret.get_secret_value()) < 16
        ):
            raise ValueError("MEDIA_LINK_SECRET: needs at least 16 characters")
        if self.deep_link_secret is not None and len(self.deep_link_secret.get_secret_value()) < 16:
            raise ValueError(
                "DEEP_LINK_SECRET: needs at least 16 characters (32 random ones is good)"
            )
        if self.bot_mode == "webhook":
            _require(self.webhook_url, "WEBHOOK_URL", "webhook", setting="BOT_MODE")
            if self.webhook_url and not self.webhook_url.startswith("https://"):
                raise ValueError(
                    "WEBHOOK_URL: must be an https:// URL (Telegram posts updates over HTTPS "
                    "only; put a TLS-terminating proxy in front of the bot)"
                )
            secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
            if len(secret) < 32 or not re.fullmatch(r"[A-Za-z0-9_-]+", secret):
                raise ValueError(
                    "WEBHOOK_SECRET: needs at least 32 characters of A-Z a-z 0-9 _ - "
                    "when BOT_MODE=webhook"
                )
        return self

    @property
    def order_id_regex(self) -> re.Pattern[str]:
        """The compiled ORDER_ID_PATTERN."""
        return re.compile(self.order_id_pattern)

    @property
    def telegram_file_base_url(self) -> str:
        """Where files named by getFile are downloaded: the Bot API's /file/bot<token>/."""
        base = self.telegram_api_base_url.rstrip("/")
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file/bot"

    @property
    def photo_category_codes(self) -> frozenset[str]:
        """The categories whose complaints ask for photos (PHOTO_CATEGORIES, else
        product-related where it is configured)."""
        if self.ask_photos == "off":
            return frozenset()
        if self.photo_categories is not None:
            return frozenset(self.photo_categories)
        return frozenset(c for c in DEFAULT_PHOTO_CATEGORIES if c in self.complaint_categories)

    @property
    def media_secret(self) -> str | None:
        """The key media links are signed with (MEDIA_LINK_SECRET, else DEEP_LINK_SECRET)."""
        secret = self.media_link_secret or self.deep_link_secret
        return secret.get_secret_value() if secret is not None else None

    @property
    def pseudonym_key(self) -> str | None:
        """The key customers' pseudonyms are derived with (PSEUDONYM_SECRET, else the bot
        token: stable while the bot keeps its token, and never stored beside the data)."""
        secret = self.pseudonym_secret or self.telegram_bot_token
        return secret.get_secret_value() if secret is not None else None

    @property
    def working_hours(self) -> WorkingHours:
        """OPERATOR_HOURS, read (always open when unset)."""
        return self.operator_hours or WorkingHours.always()

    @property
    def conversation_timeout_seconds(self) -> float:
        """CONVERSATION_TIMEOUT_MINUTES in seconds."""
        return self.conversation_timeout_minutes * 60

    def secrets(self) -> list[str]:
        """Every secret value configured, for the log redaction filter."""
        values = [
            self.telegram_bot_token,
            self.webhook_secret,
            self.deep_link_secret,
            self.middleware_password,
            self.middleware_token,
            self.occ_password,
            self.bizkithub_api_key,
            self.media_link_secret,
            self.pseudonym_secret,
        ]
        found = [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]
        if self.database_url is not None and self.database_url.password:
            found.append(self.database_url.password)
        return found


def mapped_value(mapping: Mapping[str, str], category: str) -> str | None:
    """The value for a category in OCC_REASONS / BIZKITHUB_VARIANTS, honouring the `*` default."""
    return mapping.get(category, mapping.get(ANY_CATEGORY))


def _require(value: object, name: str, choice: str, *, setting: str = "COMPLAINT_BACKEND") -> None:
    if value is None or value == "":
        raise ValueError(f"{name}: is required when {setting}={choice}")


def _require_all(values: Mapping[str, object], choice: str) -> None:
    """Names every missing setting of the chosen backend at once."""
    missing = [name for name, value in values.items() if value is None or value == ""]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise ValueError(f"{', '.join(missing)}: {verb} required when COMPLAINT_BACKEND={choice}")


def _check_covers(mapping: Mapping[str, str], categories: Mapping[str, str], name: str) -> None:
    missing = [code for code in categories if mapped_value(mapping, code) is None]
    if missing:
        raise ValueError(f"{name}: has no value for categories {', '.join(missing)} (or use *=…)")
    unknown = [code for code in mapping if code != ANY_CATEGORY and code not in categories]
    if unknown:
        raise ValueError(f"{name}: names unknown categories {', '.join(unknown)}")


# Settings where an empty value means "none" (elsewhere an empty value means "the default").
EMPTY_MEANS_NONE = ("COMPLAINT_RESOLUTIONS",)


def load_settings(**overrides: Any) -> Settings:
    """Reads and validates the settings; raises ConfigError with one line naming the setting."""
    for name in EMPTY_MEANS_NONE:
        if name.lower() not in overrides and _set_but_empty(name):
            overrides[name.lower()] = {}
    try:
        return Settings(**overrides)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err)) from None


def _set_but_empty(name: str) -> bool:
    """Whether the environment or .env sets `name` to nothing (not: leaves it out)."""
    if name in os.environ:
        return not os.environ[name].strip()
    dotenv = Path(".env")
    if dotenv.is_file():
        values = dotenv_values(dotenv)
        return name in values and not (values[name] or "").strip()
    return False


def describe_validation_error(err: ValidationError) -> str:
    """One line for the first problem: the setting's name and what is wrong (never its value)."""
    first = err.errors(include_input=False, include_url=False)[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["loc"]:
        return f"{str(first['loc'][0]).upper()}: {_friendly(message)}"
    return message


def _friendly(message: str) -> str:
    """Pydantic's words, made to read as advice to an operator."""
    return message[0].lower() + message[1:] if message else message
