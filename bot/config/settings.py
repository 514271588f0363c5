"""This module contains the Settings of the bot, read once from the environment and `.env`."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config.checks import check_combinations
from bot.config.claim_settings import ClaimSettings
from bot.config.types import (
    Backend,
    BotMode,
    BotToken,
    Categories,
    CodeList,
    DatabaseUrlSetting,
    Hours,
    LogFormat,
    LogLevel,
    Mapping_,
    MappingWithEmpty,
    OptionalUrl,
    Pattern,
    Resolutions,
    Step,
    Url,
)
from bot.config.values import (
    DEFAULT_BIZKITHUB_RESOLUTIONS,
    DEFAULT_CATEGORIES,
    DEFAULT_ORDER_ID_PATTERN,
    DEFAULT_PHOTO_CATEGORIES,
    DEFAULT_RESOLUTIONS,
    parse_mapping,
)
from bot.hours import WorkingHours


class CoreSettings(BaseSettings):
    """Every setting of the bot but what is claimed (bot/config/claim_settings.py); names are
    the environment variables, upper-cased. Each field's description is its row in
    docs/configuration.md (`make docs`), and `unset` (in json_schema_extra) what no value
    means where "—" alone does not say it."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    # -- Telegram --------------------------------------------------------------------------
    telegram_bot_token: BotToken = Field(
        default=None,
        description="the bot's token from @BotFather, `<digits>:<35 characters>` (without it "
        "`make run` opens the console)",
    )
    telegram_api_base_url: Url = Field(
        default="https://api.telegram.org/bot",
        description="a self-hosted Bot API server, or the loopback stand-in",
    )
    telegram_rate_limit_per_second: float = Field(
        default=30,
        ge=0,
        description="overall cap on Bot API calls, with retries on flood waits; `0` turns it off",
    )
    bot_mode: BotMode = Field(
        default="polling", description="`polling` or `webhook` (see [Deploying](deploying.md))"
    )
    bot_username: str | None = Field(
        default=None,
        description="for `python -m bot link`",
        json_schema_extra={"unset": "asked of Telegram"},
    )
    webhook_url: OptionalUrl = Field(
        default=None,
        description="webhook mode: the public `https://` URL Telegram posts to; the bot listens "
        "on its path",
    )
    webhook_listen: str = Field(
        default="0.0.0.0",  # noqa: S104 - the webhook server must be reachable
        description="the address the bot's public server listens on (webhook mode, media links)",
    )
    webhook_port: int = Field(default=8443, ge=1, le=65535, description="the port of that server")
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="webhook mode: 32+ characters of `A-Za-z0-9_-` Telegram sends with every "
        "update; a request without it is answered 403",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Prometheus `/metrics` on a private server of its own, in either mode; in "
        "webhook mode `WEBHOOK_PORT` serves it on the webhook server instead",
        json_schema_extra={"unset": "not served"},
    )
    metrics_listen: str = Field(
        default="127.0.0.1", description="the address of the `/metrics` server"
    )
    web_max_connections: int = Field(
        default=200,
        ge=1,
        le=100_000,
        description="open connections each of the bot's web servers keeps; one beyond is closed "
        "at once (keep it above the webhook's `max_connections`, 40 by default)",
    )
    web_idle_timeout_seconds: float = Field(
        default=60,
        gt=0,
        le=3600,
        description="a request's headers must arrive within this, and an idle connection is "
        "closed after it",
    )
    web_body_timeout_seconds: float = Field(
        default=10,
        gt=0,
        le=3600,
        description="a request's body must arrive within this (an update is at most 1 MiB, "
        "answered 413 beyond), and a file being sent must move on within it",
    )

    # -- Complaints ------------------------------------------------------------------------
    complaint_backend: Backend = Field(
        default="local", description="`local`, `middleware`, `occ` or `bizkithub`"
    )
    database_path: Path = Field(
        default=Path("data/complaints.sqlite3"),
        description="the one SQLite file: ledger, desk, conversations, preferences (relative: "
        "to the working folder; the Docker image sets `/data/complaints.sqlite3`)",
    )
    database_url: DatabaseUrlSetting = Field(
        default=None,
        description="`sqlite:///path` or `postgresql://user:password@host:5432/db` (several "
        "instances); wins over `DATABASE_PATH`; the password is never logged",
        json_schema_extra={"unset": "SQLite at `DATABASE_PATH`"},
    )
    database_pool_size: int = Field(
        default=10,
        ge=2,
        le=200,
        description="PostgreSQL: connections per instance (as many again hold customers' turns "
        "in webhook mode)",
    )
    claim_seconds: float = Field(
        default=60,
        ge=3,
        le=3600,
        description="how soon work claimed by an instance that died is taken over by another "
        "(polling Telegram: within 15 s at most)",
    )
    complaint_categories: Categories = Field(
        default_factory=lambda: parse_mapping(DEFAULT_CATEGORIES),
        description="the categories offered, `code=Label` pairs or a JSON object; codes are 1-32 "
        "of `a-z0-9-_`",
    )
    order_id_pattern: Pattern = Field(
        default=DEFAULT_ORDER_ID_PATTERN,
        description="what an order ID looks like (a regular expression for the whole answer)",
    )
    conversation_timeout_minutes: float = Field(
        default=15, gt=0, description="inactivity before a draft is closed (the customer is told)"
    )
    submit_retry_base_seconds: float = Field(
        default=30, gt=0, description="first retry after a backend outage; doubles each time"
    )
    submit_retry_max_seconds: float = Field(
        default=3600, gt=0, description="the cap of that backoff"
    )
    submit_give_up_hours: float = Field(
        default=24,
        gt=0,
        description="after this long unregistered, a complaint is marked failed and the "
        "customer told",
    )
    submit_max_in_flight: int = Field(
        default=64,
        ge=1,
        le=512,
        description="backend calls under way at once (sizes the HTTP connection pool)",
    )
    status_poll_minutes: float = Field(
        default=30,
        gt=0,
        description="how often open complaints are checked for changes (fractions allowed; the "
        "local desk: every minute at most)",
    )
    backend_connect_timeout_seconds: float = Field(
        default=5, gt=0, description="connect timeout of every backend call"
    )
    backend_read_timeout_seconds: float = Field(
        default=20, gt=0, description="read timeout of every backend call"
    )

    # -- Operations ------------------------------------------------------------------------
    log_level: LogLevel = Field(default="INFO", description="`DEBUG`, `INFO`, `WARNING` or `ERROR`")
    log_format: LogFormat = Field(default="text", description="`text`, or `json` for JSON lines")
    operator_chat_id: int | None = Field(
        default=None,
        description="a chat that receives new complaints, failures and error reports (turn the "
        "bot's privacy mode off, or make it an admin, in a group)",
    )
    operator_hours: Hours = Field(
        default=None,
        description="when operators answer, e.g. `Mon-Fri 09:00-17:00, Sat 10:00-12:00 "
        "Europe/Prague` (`22:00-06:00` closes the next morning, `24:00` is midnight; wall-clock "
        "times); outside them relayed messages say when operators are back",
        json_schema_extra={"unset": "always"},
    )
    follow_ups_per_hour: int = Field(
        default=30,
        ge=0,
        le=10000,
        description="messages one customer may send the operator chat per hour; more are "
        "answered with when they may write again and not relayed; `0`: no limit",
    )
    default_language: str = Field(
        default="en-US",
        description="language when the customer's is unknown or not translated",
    )
    deep_link_secret: SecretStr | None = Field(
        default=None, description="16+ characters; enables signed links from the shop"
    )
    deep_link_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="days a link from `python -m bot link` works",
        json_schema_extra={"unset": "it never expires"},
    )

    # -- COMPLAINT_BACKEND=middleware -------------------------------------------------------
    middleware_base_url: OptionalUrl = Field(
        default=None, description="the chatbot middleware's base URL"
    )
    middleware_username: str | None = Field(
        default=None, description="HTTP Basic user (with `MIDDLEWARE_PASSWORD`)"
    )
    middleware_password: SecretStr | None = Field(default=None, description="HTTP Basic password")
    middleware_token: SecretStr | None = Field(
        default=None, description="a Bearer token instead (wins when both are set)"
    )
    middleware_interest_type: str = Field(
        default="productComplaint", description="`queryInfo.interestType` of every complaint"
    )
    middleware_honours_idempotency_key: bool = Field(
        default=False,
        description="`true` if the middleware files one complaint per `Idempotency-Key` (a create "
        "whose answer was lost is then sent again); `false`: it waits for an operator "
        "(`python -m bot complaints --unknown`)",
    )

    # -- COMPLAINT_BACKEND=occ ---------------------------------------------------------------
    occ_base_url: OptionalUrl = Field(default=None, description="Oracle Commerce Cloud's base URL")
    occ_username: str | None = Field(default=None, description="the agent's login")
    occ_password: SecretStr | None = Field(default=None, description="the agent's password")
    occ_site_id: str | None = Field(default=None, description="sent as `X-CCSite` when set")
    occ_reasons: Mapping_ = Field(
        default_factory=lambda: parse_mapping(
            "product-related=itemArrivedDamaged,delivery=orderArrivedLate,*=other"
        ),
        description="category → appeasement reason id; `*` covers the categories not named",
    )

    # -- COMPLAINT_BACKEND=bizkithub ---------------------------------------------------------
    bizkithub_base_url: Url = Field(
        default="https://api.bizkithub.com", description="BizKitHub's API"
    )
    bizkithub_api_key: SecretStr | None = Field(
        default=None,
        description="`PROD…`, `DEV_…` or `ROOT…` and 28 letters or digits; sent only as a Bearer "
        "header",
    )
    bizkithub_variants: Mapping_ = Field(
        default_factory=lambda: parse_mapping("*=reklamace"),
        description="category → `variantCode`; `*` covers the categories not named",
    )
    bizkithub_resolutions: MappingWithEmpty = Field(
        default_factory=lambda: parse_mapping(DEFAULT_BIZKITHUB_RESOLUTIONS, empty_values=True),
        description="solution → `resolutionMethodCode`; an empty value sends none",
    )

    # -- The conversation's optional steps, files and data ----------------------------------
    photo_categories: CodeList = Field(
        default=None,
        description="categories whose complaints get the PHOTOS step (comma-separated codes)",
        json_schema_extra={"unset": "`product-related`, where it is a category"},
    )
    ask_photos: Step = Field(
        default="optional", description="the PHOTOS step: `off`, `optional` ([Skip]) or `required`"
    )
    complaint_resolutions: Resolutions = Field(
        default_factory=lambda: parse_mapping(DEFAULT_RESOLUTIONS),
        description="the solutions offered, `code=Label` pairs; empty leaves the step out",
    )
    ask_contact: Step = Field(
        default="off",
        description="`off`, `optional` or `required`: a shared phone number or a typed e-mail",
    )
    media_base_url: str | None = Field(
        default=None,
        description="the bot's public `https://` address; enables signed links to the files",
    )
    media_link_secret: SecretStr | None = Field(
        default=None,
        description="16+ characters; the key the links are signed with",
        json_schema_extra={"unset": "`DEEP_LINK_SECRET`"},
    )
    media_link_days: int = Field(
        default=30, ge=1, le=3650, description="how long a link opens its file"
    )
    media_cache_dir: Path | None = Field(
        default=None,
        description="keep each file the first time its link is opened (by Telegram's unique id)",
        json_schema_extra={"unset": "nothing is stored"},
    )
    retention_days: int | None = Field(
        default=None,
        ge=1,
        le=36500,
        description="finished complaints untouched for this many days are anonymised daily, and "
        "older sent messages deleted ([your customers' data](operating.md#your-customers-data))",
        json_schema_extra={"unset": "kept"},
    )
    pseudonym_secret: SecretStr | None = Field(
        default=None,
        description="the key pseudonyms are derived with; set it when the token may change",
        json_schema_extra={"unset": "the bot token"},
    )

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


class Settings(ClaimSettings, CoreSettings):
    """The bot's settings: the core ones first (the reference keeps this order), then what is
    claimed."""

    model_config = CoreSettings.model_config

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        check_combinations(self)
        return self
