"""This module contains the logging set-up: text or JSON lines, with every secret redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType

REDACTED = "[REDACTED]"
# Shapes of secrets whatever their value: bot tokens (also inside Bot API URLs, where "bot"
# runs into the token's digits), Authorization headers (also as bytes), credentials as
# query or form parameters or as JSON / dict entries, and customers' refund accounts (IBANs,
# compact or in groups of four, and Czech `[prefix-]number/bank code`), which libraries'
# DEBUG logs of updates and SQL parameters would otherwise carry.
SECRET_PATTERNS = (
    re.compile(r"(?<![0-9])\d{5,}:[A-Za-z0-9_-]{30,}"),
    re.compile(
        r"(?i)(authorization['\"]?\s*[:=]\s*(?:b(?=['\"]))?['\"]?(?:bearer\s+|basic\s+)?)"
        r"[^\s'\",}]+"
    ),
    re.compile(
        r"(?i)((?:api_?key|access_token|refresh_token|id_token|client_secret|password|passwd"
        r"|secret_token)(?:=|['\"]\s*:\s*(?:b(?=['\"]))?['\"]))[^&\s'\"]+"
    ),
    re.compile(
        r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])"
    ),
    re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?\d{4}){2,7}(?: ?\d{1,4})?(?![A-Za-z0-9])"),
    re.compile(r"(?<![\w/-])(?:\d{1,6}-)?\d{2,10}/\d{4}(?![\w/])"),
)
# Libraries whose request logs carry URLs (the Bot API URL contains the token).
NOISY_LOGGERS = ("httpx", "httpcore", "apscheduler", "aiosqlite")
# PTB logs a traceback for every answer that is not JSON (a proxy's error page, another
# server), and raises an error the bot then handles and reports in one line: the traceback is
# kept for DEBUG.
PTB_REQUEST_LOGGER = "telegram.request.BaseRequest"


class TracebackToDebug(logging.Filter):
    """Lowers a library's error records with a traceback to DEBUG (the caller reports them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keeps the record, at DEBUG, only when DEBUG is wanted."""
        if record.exc_info and record.levelno >= logging.ERROR:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


class Redactor:
    """Removes known secret values and secret-shaped strings from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is removed whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern in SECRET_PATTERNS:
            text = pattern.sub(_keep_prefix, text)
        return text


def _keep_prefix(match: re.Match[str]) -> str:
    return (match.group(1) if match.groups() else "") + REDACTED


class RedactingFormatter(logging.Formatter):
    """A text formatter whose whole output, traceback included, passes the Redactor."""

    def __init__(self, redactor: Redactor, fmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        """The record as one redacted line (plus its traceback)."""
        return self.redactor(super().format(record))


class JsonFormatter(RedactingFormatter):
    """One JSON object per line: time, level, logger, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a redacted JSON line."""
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redactor(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = self.redactor(self.formatException(record.exc_info))
        # Each field before encoding (a secret with quotes or backslashes is escaped by JSON),
        # and the whole line after.
        return self.redactor(json.dumps(entry, ensure_ascii=False))


def quiet_library_tracebacks() -> None:
    """Installs TracebackToDebug on PTB's request logger (once)."""
    ptb_requests = logging.getLogger(PTB_REQUEST_LOGGER)
    if not any(isinstance(f, TracebackToDebug) for f in ptb_requests.filters):
        ptb_requests.addFilter(TracebackToDebug())


def log_uncaught(
    exc_type: type[BaseException], exc: BaseException, traceback: TracebackType | None
) -> None:
    """sys.excepthook: a crash's traceback goes through the redacting handler, not raw to stderr.

    (PTB's InvalidToken, for one, quotes the token in its message.)
    """
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, traceback)
        return
    logging.getLogger("bot").critical(
        "Stopped by an uncaught %s", exc_type.__name__, exc_info=(exc_type, exc, traceback)
    )


def configure_logging(level: str, fmt: str, secrets: Iterable[str]) -> logging.Handler:
    """Sends every log record, redacted, to standard error; returns the handler.

    Uncaught exceptions are logged too (sys.excepthook), so they are redacted as well.
    """
    redactor = Redactor(secrets)
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(redactor) if fmt == "json" else RedactingFormatter(redactor))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO; keep it to warnings unless debugging.
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(level if level == "DEBUG" else "WARNING")
    quiet_library_tracebacks()
    sys.excepthook = log_uncaught
    return handler
