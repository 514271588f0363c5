"""This module contains polling mode: one instance polls Telegram, any others stand by.

Telegram lets one `getUpdates` consumer per token; a second one is answered 409 Conflict and
the two knock each other out. Instances on one database therefore hold a lease: the holder
polls, the others run only the workers (submissions, messages, status rounds) and take over
within seconds when the holder stops, or within a claim's life when it dies. A process that
still meets 409 (another bot process on another database) waits quietly with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence

from telegram.error import Conflict, NetworkError, TelegramError

from bot.app import BuiltBot
from bot.lifecycle import shut_down, start, stop_on_signals, stop_updater
from bot.telegram_errors import host_of
from bot.web.media import media_routes
from bot.web.metrics import METRICS_PATH, metrics_server
from bot.web.server import HEALTH_PATH, WebLimits, WebServer
from bot.workers.claims import POLLING_LEASE_SECONDS

logger = logging.getLogger(__name__)

POLLING_LEASE = "telegram-polling"
# How often a standing-by instance looks whether it can take over polling.
STANDBY_CHECK_SECONDS = 2.0
# The long poll: Telegram holds a getUpdates this long when there is nothing to deliver.
LONG_POLL_SECONDS = 10
# A 409 within this long after we started polling means another process was polling first.
NEWCOMER_SECONDS = 5.0
# The longest a newcomer stands by before trying again (and taking over if the other is gone).
MAX_STANDBY_SECONDS = 30.0


class Contention:
    """Another process polling the same token (one not on our database, so no lease keeps us
    apart): Telegram ends the older of two polls with 409. A 409 soon after we started polling
    means we are the newcomer: we stand down and try again later, waiting longer each time
    (the incumbent loses one poll each time, not its updates); one that comes later means a
    newcomer arrived, and we keep polling."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started_at: float | None = None
        self._retry_at = 0.0
        self._backoff = 0.0
        self.must_yield = False
        self.changed = asyncio.Event()

    def polling_started(self) -> None:
        """We have just started polling."""
        self._started_at = self._clock()

    def conflict(self) -> None:
        """Telegram answered a poll with 409 (called from the updater's loop)."""
        started = self._started_at
        if started is not None and self._clock() - started < NEWCOMER_SECONDS:
            self.must_yield = True
            self.changed.set()

    def yielded(self) -> float:
        """We stopped polling to let the incumbent poll; seconds until we try again."""
        self._backoff = min(MAX_STANDBY_SECONDS, max(2.0, self._backoff * 2))
        delay = self._backoff * random.uniform(0.8, 1.2)  # noqa: S311 - jitter
        self._retry_at = self._clock() + delay
        self._started_at = None
        self.must_yield = False
        return delay

    @property
    def retrying(self) -> bool:
        """Whether we stood down before and are trying again."""
        return self._backoff > 0

    def seconds_until_retry(self) -> float:
        """How long a process that stood down still waits."""
        return max(0.0, self._retry_at - self._clock())

    def settle(self) -> None:
        """Polling undisturbed for a while: we are the incumbent, and start afresh next time."""
        started = self._started_at
        if started is not None and self._clock() - started >= NEWCOMER_SECONDS:
            self._backoff = 0.0


class PollingErrors:
    """The updater's error callback: one line per failed poll, the first of a kind at WARNING
    and repeats at DEBUG, never a traceback (a Telegram outage is not a bug)."""

    def __init__(self, contention: Contention, host: str = "Telegram") -> None:
        self._contention = contention
        self._host = host  # named in outage lines: which server could not be reached
        self._last: str = ""

    def __call__(self, error: TelegramError) -> None:
        if isinstance(error, Conflict):
            self._contention.conflict()
            if self._contention.must_yield:
                return  # we are the newcomer: the runner says so, once
            text = "Telegram answered 409 Conflict: another process polls with this bot token"
        elif isinstance(error, NetworkError):
            text = f"Telegram ({self._host}) could not be reached ({error.message}); trying again"
        else:
            text = f"Polling Telegram failed ({type(error).__name__}: {error.message})"
        level = logging.DEBUG if text == self._last else logging.WARNING
        logger.log(level, "%s", text)
        self._last = text


async def run_polling(
    built: BuiltBot,
    *,
    allowed_updates: Sequence[str],
    stop: asyncio.Event | None = None,
) -> None:
    """Runs the bot in polling mode until `stop` is set (or SIGINT/SIGTERM).

    The lifecycle is PTB's own (initialize, post_init, start … stop, post_stop, shutdown,
    post_shutdown); only the updater is started and stopped, with the polling lease.
    """
    stop = stop if stop is not None else stop_on_signals()
    services = built.services
    web = media_server(built)
    private = metrics_server(built)
    try:
        if web is not None:
            port = await web.start()
            logger.info("Serving media links and %s on %s:%d", HEALTH_PATH, web.listen, port)
        if private is not None:
            port = await private.start()
            logger.info("Serving %s on %s:%d", METRICS_PATH, private.listen, port)
        if not await start(built, stop):
            return
        app = built.application
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        await _poll_while_leading(built, stop, list(allowed_updates))
        logger.info("Stopping")
    finally:
        await stop_updater(built.application.updater)
        with contextlib.suppress(Exception):
            await services.leases.release(POLLING_LEASE, services.holder)
        if web is not None:
            await web.stop()
        if private is not None:
            await private.stop()
        await shut_down(built)


def media_server(built: BuiltBot) -> WebServer | None:
    """In polling mode Telegram needs no server, but MEDIA_BASE_URL's links do: a small one
    on WEBHOOK_LISTEN:WEBHOOK_PORT (the bot's public port in either mode) with the media
    links and /healthz. None when MEDIA_BASE_URL is not set."""
    routes = media_routes(built)
    if not routes:
        return None
    settings = built.services.settings
    return WebServer(
        built.application,
        settings.webhook_listen,
        settings.webhook_port,
        routes,
        limits=WebLimits.from_settings(settings),
    )


async def _poll_while_leading(
    built: BuiltBot, stop: asyncio.Event, allowed_updates: list[str]
) -> None:
    """Polls while this instance holds the polling lease (and no other process on another
    database polled first); stands by otherwise."""
    updater = built.application.updater
    assert updater is not None
    leases, holder, clock = built.services.leases, built.services.holder, built.services.clock
    contention = Contention()
    errors = PollingErrors(contention, host_of(built.services.settings.telegram_api_base_url))
    standby_said = False
    lease_seconds = min(POLLING_LEASE_SECONDS, built.services.settings.claim_seconds)
    renew_seconds = lease_seconds / 3
    while not stop.is_set():
        now = clock()
        leading = await leases.acquire(POLLING_LEASE, holder, now=now, until=now + lease_seconds)
        if updater.running and (contention.must_yield or not leading):
            await stop_updater(updater)
            if leading:
                first = not contention.retrying
                delay = contention.yielded()
                logger.log(
                    logging.WARNING if first else logging.DEBUG,
                    "Another process polls Telegram with this bot token (409 Conflict); "
                    "standing by, trying again in %.0f s",
                    delay,
                )
            else:
                logger.warning("Another instance took over polling Telegram")
        if leading and not updater.running and not contention.seconds_until_retry():
            if contention.retrying:
                logger.debug("Trying to poll Telegram again")
            else:
                logger.info("Polling Telegram for updates")
            # Updates a stopped poll took and left unprocessed are Telegram's again.
            built.pacer.reset()
            await updater.start_polling(
                # No fixed pause between polls: PacedPolls (bot/poll_pacing.py) waits only
                # while several updates are in hand.
                poll_interval=0,
                timeout=LONG_POLL_SECONDS,
                allowed_updates=allowed_updates,
                bootstrap_retries=-1,
                error_callback=errors,
            )
            contention.polling_started()
            standby_said = False
        elif not leading and not standby_said:
            logger.info(
                "Another instance polls Telegram; this one submits complaints and sends "
                "messages, and takes over polling when that one stops"
            )
            standby_said = True
        contention.settle()
        pause = _pause(leading, updater.running, contention, renew_seconds)
        await _wait_for(stop, contention.changed, pause)
        contention.changed.clear()


def _pause(leading: bool, polling: bool, contention: Contention, renew_seconds: float) -> float:
    """How long the loop rests: the lease is renewed well before it runs out, a standing-by
    instance looks often, and a newcomer's first seconds are watched for a 409."""
    if not leading:
        return STANDBY_CHECK_SECONDS
    if not polling:
        return min(renew_seconds, contention.seconds_until_retry())
    return min(renew_seconds, NEWCOMER_SECONDS)


async def _wait_for(stop: asyncio.Event, changed: asyncio.Event, seconds: float) -> None:
    """Rests `seconds`, or until either event is set."""
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(changed.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
