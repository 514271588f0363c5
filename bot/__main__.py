"""This module contains `python -m bot`: settings → logging → application → run."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from telegram import Update

from bot.app import build_application
from bot.config import ConfigError, Settings, load_settings
from bot.logging_setup import configure_logging

logger = logging.getLogger("bot")

EXIT_CONFIG = 2
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]
MISSING_TOKEN_ADVICE = (
    "TELEGRAM_BOT_TOKEN: is not set. Get a token from @BotFather, put "  # noqa: S105
    "TELEGRAM_BOT_TOKEN=<token> in .env (see .env.example), and run `make run` again."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs a command; returns the process's exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.log_format, settings.secrets())
    command = args.command or "run"
    if command == "complaints":
        from bot.cli.complaints import list_complaints

        states = [
            name for name in ("pending", "failed", "rejected", "registered") if getattr(args, name)
        ]
        return asyncio.run(list_complaints(settings, states or ["pending", "failed"]))
    return run(settings)


def run(settings: Settings) -> int:
    """Starts the bot in polling or webhook mode until SIGINT/SIGTERM."""
    if settings.telegram_bot_token is None:
        print(f"Configuration error: {MISSING_TOKEN_ADVICE}", file=sys.stderr)
        return EXIT_CONFIG
    built = build_application(settings)
    application = built.application
    logger.info(
        "Starting in %s mode with the %s backend", settings.bot_mode, settings.complaint_backend
    )
    if settings.bot_mode == "webhook":
        assert settings.webhook_url is not None
        assert settings.webhook_secret is not None
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="The order-complaints bot.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="start the bot (the default)")
    complaints = commands.add_parser("complaints", help="list complaints for operators")
    for state in ("pending", "failed", "rejected", "registered"):
        complaints.add_argument(f"--{state}", action="store_true", help=f"list {state} complaints")
    complaints.epilog = "Without a flag: pending and failed, the ones that need an eye."
    return parser


if __name__ == "__main__":
    sys.exit(main())
