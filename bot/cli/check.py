"""This module contains `python -m bot check`: settings, Telegram, the backend and the database."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

import httpx
from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.request import BaseRequest

from bot.backends.base import BackendError
from bot.backends.factory import create_backend, create_http_client
from bot.config import ConfigError, Settings, load_settings
from bot.logging_setup import Redactor, configure_logging, quiet_library_tracebacks
from bot.storage.engines import database_for
from bot.storage.inspection import DatabaseReport, inspect_database, inspect_postgres
from bot.telegram_errors import describe_not_a_bot_api, not_a_bot_api_reason
from bot.words import counted


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of the report: what was checked, whether it passed, and what was found."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """`ok   <name>: <detail>` or `FAIL <name>: <reason>`."""
        return f"{'ok' if self.ok else 'FAIL':<4} {self.name}: {self.detail}"


async def check(
    *,
    settings: Settings | None = None,
    load: Callable[[], Settings] = load_settings,
    request: BaseRequest | None = None,
    http_client: httpx.AsyncClient | None = None,
    out: TextIO | None = None,
    setup_logging: bool = False,
) -> int:
    """Runs every check and prints one line each; 0 only when all of them pass.

    `request` replaces the Bot API transport and `http_client` the backend's HTTP client
    (tests); `setup_logging` installs the redacting log handler at WARNING (the command does).
    """
    stream = out or sys.stdout
    if settings is None:
        try:
            settings = load()
        except ConfigError as err:
            print(CheckResult("settings", False, str(err)).line(), file=stream)
            return 1
    if setup_logging:
        configure_logging("WARNING", settings.log_format, settings.secrets())
    quiet_library_tracebacks()  # the report says what went wrong, in one line
    redact = Redactor(settings.secrets())
    results = await run_checks(settings, request=request, http_client=http_client)
    for result in results:
        print(redact(result.line()), file=stream)
    return 0 if all(result.ok for result in results) else 1


async def run_checks(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> list[CheckResult]:
    """The settings (already valid), Telegram's getMe, the database, and the backend's probe."""
    results = [
        CheckResult(
            "settings",
            True,
            f"COMPLAINT_BACKEND={settings.complaint_backend}, BOT_MODE={settings.bot_mode}, "
            f"LOG_FORMAT={settings.log_format}",
        ),
        await check_telegram(settings, request),
    ]
    url = settings.database_url
    if url is not None and url.engine == "postgresql":
        report = await inspect_postgres(url)
    else:
        path = url.path if url is not None else settings.database_path
        report = await asyncio.to_thread(inspect_database, path)
    results.append(CheckResult("database", report.ok, report.detail))
    client = http_client or create_http_client(settings)
    try:
        results.append(await check_backend(settings, report, client))
    finally:
        if http_client is None:
            await client.aclose()
    return results


async def check_telegram(settings: Settings, request: BaseRequest | None) -> CheckResult:
    """getMe with TELEGRAM_BOT_TOKEN at TELEGRAM_API_BASE_URL."""
    if settings.telegram_bot_token is None:
        return CheckResult(
            "telegram", False, "TELEGRAM_BOT_TOKEN is not set (get a token from @BotFather)"
        )
    host = _host(settings.telegram_api_base_url)
    bot = Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_api_base_url,
        request=request,
        get_updates_request=request,
    )
    try:
        async with bot:  # initialize() asks getMe
            me = bot.bot
    except (TelegramError, KeyError) as err:  # a KeyError: JSON without the Bot API's result
        return _telegram_failure(err, host)
    return CheckResult("telegram", True, f"@{me.username} (id {me.id}) at {host}")


def _telegram_failure(err: TelegramError | KeyError, host: str) -> CheckResult:
    """The report line of a getMe that failed (`run` stops with the same words)."""
    reason = not_a_bot_api_reason(err)
    if reason is not None:
        return CheckResult("telegram", False, describe_not_a_bot_api(host, reason))
    if isinstance(err, KeyError):
        raise err
    if isinstance(err, InvalidToken):  # its message may quote the token: never print it
        return CheckResult(
            "telegram", False, f"{host} refused TELEGRAM_BOT_TOKEN (check it with @BotFather)"
        )
    if isinstance(err, NetworkError):
        return CheckResult(
            "telegram", False, f"could not reach {host} ({type(err).__name__}: {err.message})"
        )
    return CheckResult("telegram", False, f"{host} answered getMe with an error: {err}")


async def check_backend(
    settings: Settings, database: DatabaseReport, client: httpx.AsyncClient
) -> CheckResult:
    """The configured backend's own probe: reachable, and our credentials accepted."""
    name = settings.complaint_backend
    if name == "local":
        if not database.ok:
            return CheckResult("backend", False, "local: the complaint desk needs the database")
        if not database.exists:
            return CheckResult(
                "backend", True, "local: the complaint desk starts with the database"
            )
        held = f"local complaint desk holds {counted(database.desk_complaints, 'complaint')}"
        return CheckResult("backend", True, f"local: {held}")
    try:
        # The HTTP backends never touch the database: it stays closed (and uncreated).
        backend = create_backend(
            settings, database=database_for(settings), http_client=client, clock=time.time
        )
    except ConfigError as err:
        return CheckResult("backend", False, f"{name}: {err}")
    try:
        await backend.initialize()
        detail = await backend.probe()
    except BackendError as err:
        return CheckResult("backend", False, f"{name}: {err.detail}")
    except Exception as err:  # a bug in an adapter must still give a report line
        return CheckResult("backend", False, f"{name}: unexpected {type(err).__name__}")
    finally:
        await backend.shutdown()
    return CheckResult("backend", True, f"{name}: {detail}")


def _host(url: str) -> str:
    """The host (and port) of a URL, never its path (a Bot API URL's path holds the token)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "an invalid URL"
    return f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host
