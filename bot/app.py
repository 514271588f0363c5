"""This module contains build_application: the one place that wires the bot together."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
)
from telegram.request import BaseRequest, HTTPXRequest
from telegram.warnings import PTBUserWarning

from bot.backends.base import ComplaintBackend
from bot.backends.factory import create_backend, create_http_client
from bot.backends.local import LocalDeskBackend
from bot.backends.measured import MeasuredBackend
from bot.concurrency import CustomerLocks, PerCustomerUpdateProcessor
from bot.config import ConfigError, Settings
from bot.conversation.commands import CustomerCommands
from bot.conversation.data_rights import DataRights
from bot.conversation.flow import ComplaintFlow
from bot.conversation.follow_ups import CustomerFollowUps
from bot.conversation.preferences import PreferenceCommands
from bot.conversation.ratings import RatingAnswers
from bot.conversation.withdrawals import CustomerWithdrawals
from bot.errors import error_handler
from bot.handlers import MENU_COMMANDS, Conversing, register_handlers
from bot.i18n import Translator
from bot.lean_request import LeanRequest, proxy_configured
from bot.measured_request import MeasuredRequest
from bot.media_links import MediaLinks
from bot.metrics import Metrics
from bot.operators.chat import OPERATOR_LANGUAGE, OperatorChat
from bot.operators.desk import DeskChanges
from bot.operators.desk_buttons import OperatorDeskButtons
from bot.operators.replies import OperatorReplies
from bot.operators.threads import OperatorThreads
from bot.poll_pacing import PacedPolls, PollPacer
from bot.rate_limiter import RateLimiter
from bot.services import BotApplication, Services
from bot.storage.clock import RESYNC_SECONDS, DatabaseClock
from bot.storage.conversations import ConversationStore
from bot.storage.customer_data import CustomerData
from bot.storage.customers import CustomerPreferences
from bot.storage.deliveries import Delivery, DeliveryStore
from bot.storage.engines import database_for
from bot.storage.figures import read_figures
from bot.storage.leases import Leases
from bot.storage.ledger import Ledger
from bot.storage.ratings import RatingStore
from bot.storage.threads import ThreadStore
from bot.storage.updates import UpdateLog
from bot.storage.withdrawals import WithdrawalStore
from bot.workers.announcements import Announcements
from bot.workers.backoff import RetryPolicy
from bot.workers.claims import instance_name
from bot.workers.delivery import DELIVERY_RETRY, DeliveryWorker
from bot.workers.outbox import OutboxWorker
from bot.workers.status_poller import StatusPoller
from bot.workers.team_chat import TeamChat
from bot.workers.withdrawals import WithdrawalWorker

logger = logging.getLogger(__name__)

# How often idle drafts are looked for, at most; shorter timeouts are swept more often.
IDLE_SWEEP_SECONDS = 60.0
# How often the embedded desk is asked for status changes, at most.
LOCAL_DESK_POLL_SECONDS = 60.0
# How often erasures waiting for a complaint (registered, finished, told) are looked at.
ERASURE_SWEEP_SECONDS = 60.0
# How often RETENTION_DAYS is applied (the first time a minute after the start).
RETENTION_SECONDS = 86400.0
# Telegram's answer to a burst: wait as told and try again, this many times.
RATE_LIMIT_RETRIES = 3
# Connections of the Bot API transport (PTB's default when it builds the transport itself).
API_CONNECTIONS = 256


@dataclass(frozen=True, slots=True)
class BuiltBot:
    """The wired application and the services it was wired with."""

    application: BotApplication
    services: Services
    flow: ComplaintFlow
    commands: CustomerCommands
    poller: StatusPoller
    metrics: Metrics
    data_rights: DataRights
    # What polling has in hand; started afresh with each start of polling.
    pacer: PollPacer = field(default_factory=PollPacer)
    # Tells the backend of customers' withdrawals.
    withdrawals: WithdrawalWorker | None = None

    async def prepare(self) -> None:
        """Opens the database and checks the ledger against the settings before Telegram is
        contacted, so a wrong setting is reported at once (post_init does it too)."""
        await prepare(self.services)


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    backend: ComplaintBackend | None = None,
    http_client: httpx.AsyncClient | None = None,
    clock: Callable[[], float] | None = None,
) -> BuiltBot:
    """Builds the Application with its handlers, storage, backend and outbox worker.

    `request` replaces the Bot API transport (tests); `backend` and `http_client` replace the
    configured backend or its HTTP client; `clock` the time (default: this host's, or on a
    database several instances share, the database server's).
    """
    if settings.telegram_bot_token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN: is not set (get one from @BotFather)")
    database = database_for(settings)
    server_clock = DatabaseClock() if clock is None and database.shared else None
    if clock is None:
        clock = server_clock or time.time
    translator = Translator(settings.default_language)
    locks = CustomerLocks()
    updates = UpdateLog(database, clock)
    preferences = CustomerPreferences(database)
    client = http_client or create_http_client(settings)
    adapter = backend or create_backend(
        settings, database=database, http_client=client, clock=clock
    )
    # Owned by this application: tests and several bots in one process never share counters.
    metrics = Metrics(clock=clock)
    metrics.read_database_with(lambda: read_figures(database))
    backend = MeasuredBackend(adapter, metrics)
    pacer = PollPacer()

    builder: ApplicationBuilder = (  # type: ignore[type-arg]
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .concurrent_updates(
            PerCustomerUpdateProcessor(
                locks,
                updates,
                # Webhook instances on one database are each handed some of a customer's
                # updates: they take turns there. (Polling: one instance handles them all.)
                across_instances=(
                    database.turn_of if database.shared and settings.bot_mode == "webhook" else None
                ),
                before=preferences.refresh if database.shared else None,
                metrics=metrics,
                pacer=pacer,
            )
        )
    )
    if request is not None:
        measured = MeasuredRequest(request, metrics)
        builder = builder.request(measured).get_updates_request(PacedPolls(measured, pacer))
    else:
        # PTB's pool sizes, counted: one transport for calls, one for the long poll.
        builder = builder.request(
            MeasuredRequest(_transport(API_CONNECTIONS), metrics)
        ).get_updates_request(PacedPolls(MeasuredRequest(_transport(1), metrics), pacer))
    if settings.telegram_rate_limit_per_second > 0:
        builder = builder.rate_limiter(
            RateLimiter(
                overall_max_rate=settings.telegram_rate_limit_per_second,
                overall_time_period=1,
                max_retries=RATE_LIMIT_RETRIES,
            )
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBUserWarning)
        application = builder.build()

    desk = adapter if isinstance(adapter, LocalDeskBackend) else None
    operator = (
        OperatorChat(
            application.bot,
            settings.operator_chat_id,
            translator,
            settings.complaint_categories,
            resolutions=settings.complaint_resolutions,
            desk_buttons=desk is not None,
        )
        if settings.operator_chat_id is not None
        else None
    )
    announcements = Announcements(
        translator,
        settings.complaint_categories,
        preferences,
        operator,
        resolutions=settings.complaint_resolutions,
    )
    deliveries = DeliveryStore(database)
    give_up_seconds = settings.submit_give_up_hours * 3600

    async def tell_operators(delivery: Delivery, reason: str) -> None:
        await worker.owe(owed=announcements.undelivered(delivery, reason))

    holder = instance_name()
    worker = DeliveryWorker(
        deliveries,
        application.bot,
        locks,
        clock=clock,
        holder=holder,
        policy=RetryPolicy(
            base_seconds=DELIVERY_RETRY.base_seconds,
            max_seconds=DELIVERY_RETRY.max_seconds,
            give_up_seconds=give_up_seconds,
        ),
        on_given_up=tell_operators,
        claim_seconds=settings.claim_seconds,
        metrics=metrics,
    )
    ledger = Ledger(database)
    leases = Leases(database)
    threads = ThreadStore(database)
    ratings = RatingStore(database)
    if operator is not None:
        # Messages about a complaint go into its thread; operators see their answers arrive.
        worker.placement = OperatorThreads(
            application.bot,
            operator.chat_id,
            threads,
            ledger,
            translator.for_language(OPERATOR_LANGUAGE),
            clock,
        )
        worker.confirmations = operator
        worker.team_chat = TeamChat(operator.chat_id, metrics)
    # The backend's retries, for submissions and withdrawals alike.
    submit_policy = RetryPolicy(
        base_seconds=settings.submit_retry_base_seconds,
        max_seconds=settings.submit_retry_max_seconds,
        give_up_seconds=give_up_seconds,
    )
    outbox = OutboxWorker(
        ledger,
        backend,
        worker,
        announcements,
        submit_policy,
        clock=clock,
        max_in_flight=settings.submit_max_in_flight,
        claim_seconds=settings.claim_seconds,
    )
    withdrawal_store = WithdrawalStore(database)
    withdrawals = WithdrawalWorker(
        withdrawal_store,
        ledger,
        backend,
        worker,
        announcements,
        submit_policy,
        clock=clock,
        claim_seconds=settings.claim_seconds,
    )
    services = Services(
        settings=settings,
        database=database,
        translator=translator,
        conversations=ConversationStore(database),
        ledger=ledger,
        backend=backend,
        outbox=outbox,
        delivery=worker,
        leases=leases,
        updates=updates,
        locks=locks,
        preferences=preferences,
        threads=threads,
        clock=clock,
        holder=holder,
        media_links=MediaLinks.from_settings(settings, clock),
    )
    poller = StatusPoller(
        ledger=ledger,
        leases=leases,
        backend=backend,
        announcements=announcements,
        delivery=worker,
        interval_seconds=_poll_interval(settings),
        clock=clock,
        metrics=metrics,
    )
    flow = ComplaintFlow(services)
    commands = CustomerCommands(services, flow)
    operator_desk = (
        OperatorDeskButtons(
            operator_chat_id=operator.chat_id,
            changes=DeskChanges(
                desk=desk,
                ledger=ledger,
                announcements=announcements,
                deliveries=deliveries,
                delivery=worker,
                clock=clock,
                metrics=metrics,
            ),
            translator=translator,
        )
        if operator is not None and desk is not None
        else None
    )
    conversing = (
        Conversing(
            customers=CustomerFollowUps(services, operator),
            operators=OperatorReplies(services, operator, announcements),
            operator_chat_id=operator.chat_id,
        )
        if operator is not None
        else None
    )
    commands.follow_ups = conversing.customers if conversing is not None else None
    commands.withdrawals = CustomerWithdrawals(
        services,
        withdrawal_store,
        wake=withdrawals.wake,
        offered=backend.withdraws or operator is not None,
    )
    data_rights = DataRights(services, CustomerData(database), ratings)
    register_handlers(
        application,
        commands,
        flow,
        PreferenceCommands(services, flow),
        operator_desk,
        conversing,
        ratings=RatingAnswers(services, flow, operator, ratings),
        data_rights=data_rights,
    )
    application.add_error_handler(error_handler(services, operator))

    async def poll_statuses(context: ContextTypes.DEFAULT_TYPE) -> None:
        await poller.poll()

    async def keep_time(context: ContextTypes.DEFAULT_TYPE) -> None:
        assert server_clock is not None
        await server_clock.sync(database)

    async def post_init(app: BotApplication) -> None:
        await prepare(services)
        if server_clock is not None:  # claims on the server's clock, whatever the hosts' say
            await server_clock.sync(database)
            if app.job_queue is not None:
                app.job_queue.run_repeating(
                    keep_time, interval=RESYNC_SECONDS, first=RESYNC_SECONDS
                )
        await preferences.load()
        await threads.load(now=clock())
        await ratings.load(now=clock())
        await updates.load()
        await backend.initialize()
        await worker.start()
        await outbox.start()
        await withdrawals.start()
        sweep = min(IDLE_SWEEP_SECONDS, settings.conversation_timeout_seconds / 2)
        if app.job_queue is not None:
            app.job_queue.run_repeating(flow.expire_idle, interval=sweep, first=sweep)
            interval = _poll_interval(settings)
            app.job_queue.run_repeating(poll_statuses, interval=interval, first=interval)
            app.job_queue.run_repeating(
                data_rights.finish_erasures,
                interval=ERASURE_SWEEP_SECONDS,
                first=ERASURE_SWEEP_SECONDS,
            )
            if settings.retention_days is not None:
                app.job_queue.run_repeating(
                    data_rights.retention, interval=RETENTION_SECONDS, first=IDLE_SWEEP_SECONDS
                )
        await _set_menu(app, translator)

    async def post_stop(app: BotApplication) -> None:
        await withdrawals.stop()
        await outbox.stop()
        await worker.stop()
        await updates.close()

    async def post_shutdown(app: BotApplication) -> None:
        await backend.shutdown()
        if http_client is None:
            await client.aclose()
        await database.close()

    application.post_init = post_init
    application.post_stop = post_stop
    application.post_shutdown = post_shutdown
    return BuiltBot(
        application, services, flow, commands, poller, metrics, data_rights, pacer, withdrawals
    )


async def prepare(services: Services) -> None:
    """Opens the database (migrating it) and refuses to start while complaints wait for
    another backend than the configured one: they would be filed where the ledger does not
    say, or never."""
    await services.database.open()
    backend = services.backend.name
    pending = await services.ledger.pending_by_backend()
    waiting = {name: n for name, n in pending.items() if name != backend}
    if waiting:
        where = ", ".join(f"{n} on {name}" for name, n in sorted(waiting.items()))
        raise ConfigError(
            f"COMPLAINT_BACKEND: complaints still wait for another backend ({where}); start "
            f"with that COMPLAINT_BACKEND until they are registered, or move them with "
            f"`python -m bot complaints --move-pending-to {backend}`"
        )


def _transport(connection_pool_size: int) -> BaseRequest:
    """LeanRequest (a fraction of httpx's CPU per call), or PTB's HTTPXRequest when the
    environment names a proxy, which httpx follows and LeanRequest does not."""
    if proxy_configured():
        return HTTPXRequest(connection_pool_size=connection_pool_size)
    return LeanRequest(connection_pool_size)


def _poll_interval(settings: Settings) -> float:
    """STATUS_POLL_MINUTES in seconds; the local desk is asked every minute at most, since
    asking it costs one database read and its operators expect changes to reach customers soon.
    """
    seconds = settings.status_poll_minutes * 60
    return (
        min(seconds, LOCAL_DESK_POLL_SECONDS) if settings.complaint_backend == "local" else seconds
    )


async def _set_menu(app: BotApplication, translator: Translator) -> None:
    """Registers the command menu in every language we have a catalogue for."""
    for language in translator.languages:
        t = translator.for_language(language)
        commands = [BotCommand(name, t(key)) for name, key in MENU_COMMANDS.items()]
        code = None if language == "en" else language
        try:
            await app.bot.set_my_commands(commands, language_code=code)
        except TelegramError as err:
            logger.warning("Could not register the command menu (%s): %s", language, err)
