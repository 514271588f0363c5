"""This module contains `python -m bot`: settings → logging → application → run."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

from telegram import Update

from bot import DISTRIBUTION, __version__
from bot.app import build_application
from bot.cli import desk
from bot.cli.console import run_console
from bot.cli.link import link_item, order_hash
from bot.config import BackendName, ConfigError, Settings, load_settings
from bot.logging_setup import configure_logging
from bot.polling import run_polling

logger = logging.getLogger("bot")

EXIT_CONFIG = 2
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]
COMPLAINT_LISTS = {
    "pending": "complaints waiting to be registered",
    "failed": "complaints given up after SUBMIT_GIVE_UP_HOURS",
    "rejected": "complaints the backend refused",
    "registered": "registered complaints",
    "quarantined": "ledger rows set aside because they cannot be read",
    "undelivered": "messages to customers or operators that could not be delivered",
    "unknown": "complaints a backend may or may not have filed (no answer), set aside",
}
MISSING_TOKEN_ADVICE = (
    "TELEGRAM_BOT_TOKEN: is not set. Get a token from @BotFather, put "  # noqa: S105
    "TELEGRAM_BOT_TOKEN=<token> in .env (see .env.example), and run `make run` again."
)


CONSOLE_INSTEAD = (
    "No TELEGRAM_BOT_TOKEN yet, so you get the local console chat. To go live, put "
    "TELEGRAM_BOT_TOKEN=<token from @BotFather> in .env and run `make run` again."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs a command; returns the process's exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "check":
        from bot.cli.check import check

        return asyncio.run(check(setup_logging=True))
    if args.command == "settings-reference":  # from the model alone: no settings needed
        from bot.cli.settings_doc import settings_reference

        return settings_reference(write=args.write, check=args.check)
    try:
        # The desk commands read and change the embedded desk in the database: the settings of
        # the shop's remote backend (credentials a back-office machine may not hold) do not
        # matter to them, so they are not asked for.
        settings = load_settings(
            **({"complaint_backend": "local"} if args.command == "desk" else {})
        )
        configure_logging(settings.log_level, settings.log_format, settings.secrets())
        return _command(args, settings)
    except ConfigError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return EXIT_CONFIG


def _command(args: argparse.Namespace, settings: Settings) -> int:
    """Runs the chosen command with valid settings (a ConfigError is the caller's to print)."""
    command = args.command or "run"
    if command == "link":
        from bot.cli.link import print_link

        return asyncio.run(
            print_link(
                settings,
                args.order_id,
                days=args.days,
                order_hash=args.order_hash or "",
                items=args.item or (),
            )
        )
    if command == "console":
        return asyncio.run(run_console(settings, record=args.record, force=args.force))
    if command == "desk":
        if args.desk_command == "set-status":
            return asyncio.run(desk.set_status(settings, args.number, args.status, args.note))
        return asyncio.run(desk.show(settings, args.number))
    if command == "migrate":
        from bot.cli.migrate import migrate

        return asyncio.run(migrate(settings))
    if command == "migrate-to-postgres":
        from bot.cli.migrate import migrate_to_postgres

        return asyncio.run(migrate_to_postgres(settings, args.source))
    if command == "customer":
        from bot.cli.customer import export_customer, forget_customer

        if args.customer_command == "export":
            return asyncio.run(export_customer(settings, args.user_id))
        return asyncio.run(forget_customer(settings, args.user_id))
    if command == "complaints":
        from bot.cli.complaints import list_complaints, move_pending

        if args.move_pending_to:
            return asyncio.run(move_pending(settings, args.move_pending_to))
        if args.adopt or args.resubmit is not None:
            from bot.cli.unknown_outcomes import adopt, resubmit

            if args.adopt:
                entry_id, number = args.adopt
                return asyncio.run(adopt(settings, entry_id, number))
            return asyncio.run(resubmit(settings, args.resubmit))
        if args.ratings:
            from bot.cli.ratings import rating_summary

            return asyncio.run(rating_summary(settings, args.days))
        states = [name for name in COMPLAINT_LISTS if getattr(args, name)]
        return asyncio.run(list_complaints(settings, states or ["pending", "failed"]))
    return run(settings)


def run(settings: Settings) -> int:
    """Starts the bot in polling or webhook mode until SIGINT/SIGTERM."""
    if settings.telegram_bot_token is None:
        if not sys.stdin.isatty():
            print(f"Configuration error: {MISSING_TOKEN_ADVICE}", file=sys.stderr)
            return EXIT_CONFIG
        print(CONSOLE_INSTEAD)
        return asyncio.run(run_console(settings))
    built = build_application(settings)
    logger.info(
        "Starting %s %s in %s mode with the %s backend",
        DISTRIBUTION,
        __version__,
        settings.bot_mode,
        settings.complaint_backend,
    )
    if settings.bot_mode == "webhook":
        from bot.web.webhook import WebhookConfig, run_webhook

        run_webhook(built, WebhookConfig.from_settings(settings, ALLOWED_UPDATES))
    else:
        asyncio.run(run_polling(built, allowed_updates=ALLOWED_UPDATES))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="The order-complaints bot.")
    parser.add_argument("--version", action="version", version=f"{DISTRIBUTION} {__version__}")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="start the bot (the default)")
    desk_parser = commands.add_parser("desk", help="the embedded complaint desk's back office")
    desk_commands = desk_parser.add_subparsers(dest="desk_command", required=True)
    set_status = desk_commands.add_parser("set-status", help="change a complaint's status")
    set_status.add_argument("number")
    set_status.add_argument("status", choices=desk.DESK_STATUSES)
    set_status.add_argument("--note", help="a message for the customer")
    show = desk_commands.add_parser("show", help="show one complaint, or the latest twenty")
    show.add_argument("number", nargs="?")
    link = commands.add_parser("link", help="print a signed complaint link for an order")
    link.add_argument("order_id", help="the order ID the link starts a complaint about")
    link.add_argument(
        "--days",
        type=_positive_int,
        help="days the link works (default DEEP_LINK_DAYS; unset: it never expires)",
    )
    link.add_argument(
        "--order-hash", type=order_hash, metavar="HASH", help="the shop's hash of the order"
    )
    link.add_argument(
        "--item",
        type=link_item,
        action="append",
        metavar="ID:QUANTITY:PRICE:LABEL",
        help="an item of the order the customer may pick (repeat it; kept in the database)",
    )
    console = commands.add_parser("console", help="chat with the bot in this terminal")
    console.add_argument(
        "--record", type=Path, metavar="FILE.yaml", help="write the session as a transcript"
    )
    console.add_argument(
        "--force", action="store_true", help="with --record: overwrite FILE.yaml if it exists"
    )
    commands.add_parser("check", help="check settings, Telegram, the backend and the database")
    reference = commands.add_parser(
        "settings-reference",
        help="print the settings tables of docs/configuration.md, made from the settings model",
    )
    where = reference.add_mutually_exclusive_group()
    where.add_argument("--write", type=Path, metavar="FILE.md", help="put them in FILE.md")
    where.add_argument(
        "--check", type=Path, metavar="FILE.md", help="exit 1 if FILE.md's are out of date"
    )
    commands.add_parser("migrate", help="bring the database to the current schema")
    to_postgres = commands.add_parser(
        "migrate-to-postgres",
        help="copy an SQLite database into the empty PostgreSQL database of DATABASE_URL",
    )
    to_postgres.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="FILE.sqlite3",
        help="the SQLite database to copy (default: DATABASE_PATH)",
    )
    complaints = commands.add_parser("complaints", help="list complaints for operators")
    for state, what in COMPLAINT_LISTS.items():
        complaints.add_argument(f"--{state}", action="store_true", help=f"list {what}")
    complaints.add_argument(
        "--move-pending-to",
        choices=get_args(BackendName),
        metavar="BACKEND",
        help="move complaints still waiting for another backend to this one",
    )
    complaints.add_argument(
        "--adopt",
        nargs=2,
        metavar=("ID", "NUMBER"),
        help="a complaint of --unknown that IS in the backend, under NUMBER: register it so",
    )
    complaints.add_argument(
        "--resubmit",
        type=_positive_int,
        metavar="ID",
        help="a complaint of --unknown that is NOT in the backend: send it again",
    )
    complaints.add_argument(
        "--ratings",
        action="store_true",
        help="summarise customers' ratings: count, average, share of 4-5 stars, overall, "
        "per backend and per category",
    )
    complaints.add_argument(
        "--days",
        type=_positive_int,
        default=30,
        metavar="N",
        help="with --ratings: the ratings of the last N days (default 30)",
    )
    complaints.epilog = "Without a flag: pending and failed, the ones that need an eye."
    customer = commands.add_parser("customer", help="a customer's data: export or erase it")
    customer_commands = customer.add_subparsers(dest="customer_command", required=True)
    for name, what in (
        ("export", "print everything stored about the customer as JSON (what /mydata sends)"),
        ("forget", "erase the customer as /forgetme does"),
    ):
        sub = customer_commands.add_parser(name, help=what)
        sub.add_argument("user_id", type=int, metavar="TELEGRAM_USER_ID")
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


if __name__ == "__main__":
    sys.exit(main())
