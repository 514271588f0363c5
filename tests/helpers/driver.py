"""The replay driver: the real Application, a fake Bot API, and customers who talk to it.

A test reads like a conversation::

    ada = bot.customer()
    turn = await ada.send("/complaint")
    assert "order ID" in turn.text
    turn = await ada.press("Submit")
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from telegram import Update
from telegram.ext import CallbackContext

from bot.app import BuiltBot, build_application
from bot.backends.base import ComplaintBackend
from bot.config import DEFAULT_RESOLUTIONS, Settings
from bot.loopback.customer import CustomerUpdates, Replied, make_user
from bot.loopback.telegram import LoopbackTelegram
from tests.helpers.bot_api import ApiCall, BotMessage, FakeBotApi

REPLY_METHODS = ("sendMessage", "editMessageText", "sendPhoto")
START_TIME = 1_780_000_000.0


# The PostgreSQL database of a both_engines test's second turn (None: SQLite).
_database_url: str | None = None


def use_database_url(url: str | None) -> None:
    """Makes make_settings name this PostgreSQL database (tests/conftest.py's engine fixture)."""
    global _database_url
    _database_url = url


# The same, for a `python -m bot` process (an empty COMPLAINT_RESOLUTIONS means none).
OLD_FLOW = {"COMPLAINT_RESOLUTIONS": "", "ASK_PHOTOS": "off"}
# What make_settings sets unless a test starts from the shipped defaults.
TEST_FLOW: dict[str, Any] = {"complaint_resolutions": {}, "ask_photos": "off"}
TEST_TOKEN = "123456:TEST-TOKEN-not-a-real-one-abcdefghi"
# The settings of the steps after CATEGORY as a shop gets them without setting anything.
PRODUCT_DEFAULTS: dict[str, Any] = {
    "complaint_resolutions": DEFAULT_RESOLUTIONS,
    "ask_photos": "optional",
}


def make_settings(database_path: Path, *, shipped: bool = False, **overrides: Any) -> Settings:
    """Settings for a test: no .env, no rate limiting, a test token, the given database (or,
    in a both_engines test's PostgreSQL turn, that test's PostgreSQL database).

    Tests get the three-question flow of a shop that sets `COMPLAINT_RESOLUTIONS=` and
    `ASK_PHOTOS=off` (the flow every shop had before those steps); the tests of those steps
    turn them on with PRODUCT_DEFAULTS or their own values. `shipped` starts from the shipped
    defaults instead (a console recording, which names what it changed).
    """
    values: dict[str, Any] = {
        "telegram_bot_token": TEST_TOKEN,
        "database_path": database_path,
        "telegram_rate_limit_per_second": 0,
    }
    if not shipped:
        values.update(TEST_FLOW)
    if _database_url is not None:
        values["database_url"] = _database_url
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def sample_bytes(kind: str) -> bytes:
    """A few bytes standing in for a file of this kind."""
    headers = {"photo": b"\xff\xd8\xff\xe0JFIF", "video": b"\x00\x00\x00\x18ftypmp42"}
    return headers.get(kind, b"%PDF-1.7\n") + kind.encode() * 8


class FakeClock:
    """Time that moves only when the test says so."""

    def __init__(self, start: float = START_TIME) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def offline_http_client() -> httpx.AsyncClient:
    """An HTTP client that fails any test trying to reach a network."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the test tried to reach {request.url.host}")

    return httpx.AsyncClient(transport=httpx.MockTransport(refuse))


@dataclass
class Turn:
    """What the bot did in answer to one customer action."""

    calls: list[ApiCall]
    chat_id: int

    @property
    def replies(self) -> list[ApiCall]:
        """Messages sent or edited in the customer's chat."""
        return [c for c in self.calls if c.method in REPLY_METHODS and c.chat_id == self.chat_id]

    @property
    def text(self) -> str:
        """The last reply's text ("" when the bot said nothing)."""
        return self.replies[-1].text if self.replies else ""

    @property
    def all_text(self) -> str:
        """Every reply's text, joined."""
        return "\n".join(c.text for c in self.replies)

    @property
    def buttons(self) -> list[str]:
        """The buttons under the last reply."""
        if not self.replies:
            return []
        markup = self.replies[-1].params.get("reply_markup") or {}
        return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def toast(self) -> str:
        """The text of the answer to a button press, if any."""
        answers = [c for c in self.calls if c.method == "answerCallbackQuery"]
        return answers[-1].text if answers else ""

    @property
    def silent(self) -> bool:
        """The bot sent or edited nothing in the chat."""
        return not self.replies


class BotHarness:
    """Runs the real Application (handlers, processor, storage, outbox) against a FakeBotApi."""

    def __init__(
        self,
        settings: Settings,
        *,
        backend: ComplaintBackend | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: FakeClock | None = None,
        telegram: LoopbackTelegram | None = None,
        first_update_id: int = 1,
    ) -> None:
        self.settings = settings
        self.clock = clock or FakeClock()
        self.api = FakeBotApi(telegram or LoopbackTelegram(clock=self.clock))
        self.backend = backend
        self.http_client = http_client or offline_http_client()
        self.errors: list[BaseException] = []
        self._built: BuiltBot | None = None
        # Telegram's update ids only grow; a bot that continues another's database continues them.
        self._update_ids = itertools.count(first_update_id)
        self.last_update_id = first_update_id - 1  # the id of the update fed last
        self._user_ids = itertools.count(100_001)

    @property
    def built(self) -> BuiltBot:
        assert self._built is not None, "the harness has not been started"
        return self._built

    async def start(self) -> None:
        """Initialises the application as run_polling would, without polling."""
        self._built = build_application(
            self.settings,
            request=self.api,
            backend=self.backend,
            http_client=self.http_client,
            clock=self.clock,
        )
        app = self._built.application
        app.add_error_handler(self._record_error)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)

    async def stop(self) -> None:
        """Shuts down as the application does on SIGTERM."""
        app = self.built.application
        assert app.post_stop is not None
        assert app.post_shutdown is not None
        await app.post_stop(app)
        await app.shutdown()
        await app.post_shutdown(app)

    async def restart(self) -> None:
        """Stops and starts again on the same database (Telegram keeps its messages)."""
        await self.stop()
        await self.start()

    async def _record_error(
        self, update: object, context: CallbackContext[Any, Any, Any, Any]
    ) -> None:
        assert context.error is not None
        self.errors.append(context.error)

    # -- driving ---------------------------------------------------------------------------

    def customer(self, first_name: str = "Ada", **fields: Any) -> Customer:
        """A new Telegram user who talks to the bot in a private chat."""
        user_id = fields.pop("user_id", next(self._user_ids))
        return Customer(self, make_user(user_id, first_name, **fields))

    async def feed(
        self,
        payload: dict[str, Any],
        chat_id: int,
        *,
        expect_error: bool = False,
        update_id: int | None = None,
        pressed_at: float | None = None,
    ) -> Turn:
        """Processes one update through the update processor; returns what the bot did.

        `update_id` repeats an earlier update (a redelivery); `pressed_at` dates a button press
        (Telegram refuses to answer one older than 15 seconds).
        """
        before = len(self.api.calls)
        errors_before = len(self.errors)
        app = self.built.application
        number = update_id if update_id is not None else next(self._update_ids)
        self.last_update_id = number
        self.api.telegram.received(payload, at=pressed_at)
        update = Update.de_json({"update_id": number, **payload}, app.bot)
        await app.update_processor.process_update(update, app.process_update(update))
        new_errors = self.errors[errors_before:]
        if new_errors and not expect_error:
            raise new_errors[0]
        return Turn(self.api.calls[before:], chat_id)

    async def settle(self) -> list[ApiCall]:
        """Lets the outbox submit everything due and the messages owed go out; returns the
        Bot API calls that made."""
        before = len(self.api.calls)
        services = self.built.services
        await services.outbox.drain()
        if self.built.withdrawals is not None:
            await self.built.withdrawals.drain()
        await services.delivery.drain()
        return self.api.calls[before:]

    async def advance(self, seconds: float) -> list[ApiCall]:
        """Moves time on and runs what time triggers: idle-draft expiry, due retries, and
        erasures that waited."""
        before = len(self.api.calls)
        self.clock.advance(seconds)
        context = CallbackContext(self.built.application)  # type: ignore[arg-type]
        await self.built.flow.expire_idle(context)
        await self.settle()
        # Erasures that waited for a complaint to be registered, finished or told.
        await self.built.data_rights.finish_erasures()
        return self.api.calls[before:]


class Customer:
    """A Telegram user in a private chat with the bot."""

    def __init__(self, harness: BotHarness, user: dict[str, Any]) -> None:
        self.harness = harness
        self.updates = CustomerUpdates(user, clock=harness.clock)

    @property
    def user(self) -> dict[str, Any]:
        return self.updates.user

    @property
    def id(self) -> int:
        return self.updates.id

    async def send(self, text: str, *, reply_to: Replied | None = None, **options: Any) -> Turn:
        """Types a message (a leading /word is sent as a command, as Telegram does);
        `reply_to` makes it a Telegram reply to that message."""
        update = self.updates.text(text, reply_to=reply_to)
        return await self.harness.feed(update, self.id, **options)

    async def send_content(self, kind: str) -> Turn:
        """Sends a sticker, photo, voice message, location or contact instead of text."""
        return await self.harness.feed(self.updates.content(kind), self.id)

    async def send_file(
        self,
        kind: str = "photo",
        *,
        content: bytes | None = None,
        caption: str | None = None,
        album: str | None = None,
        name: str | None = None,
        mime: str | None = None,
        size: int | None = None,
        reply_to: Replied | None = None,
    ) -> Turn:
        """Sends a photo, video or document (kept by the loopback Telegram, so getFile and the
        file URL serve `content`)."""
        stored = self.harness.api.telegram.add_file(content or sample_bytes(kind), kind)
        update = self.updates.file(
            stored,
            kind,
            caption=caption,
            album=album,
            name=name,
            mime=mime,
            size=size,
            reply_to=reply_to,
        )
        return await self.harness.feed(update, self.id)

    async def send_album(
        self, count: int = 3, *, caption: str | None = None, kind: str = "photo"
    ) -> Turn:
        """An album: `count` messages sharing a media_group_id, the caption on the first."""
        album = f"album-{self.id}-{len(self.harness.api.calls)}"
        calls: list[ApiCall] = []
        for index in range(count):
            turn = await self.send_file(kind, caption=caption if index == 0 else None, album=album)
            calls.extend(turn.calls)
        return Turn(calls, self.id)

    async def share_contact(self, *, own: bool = True) -> Turn:
        """Shares a contact: their own number (Telegram's button) or someone else's card."""
        return await self.harness.feed(self.updates.contact(own=own), self.id)

    async def edit(self, text: str) -> Turn:
        """Edits the customer's previous message."""
        return await self.harness.feed(self.updates.edit(text), self.id)

    def messages(self) -> list[BotMessage]:
        """The bot's messages in this chat as they look now, oldest first."""
        return self.harness.api.chat_messages(self.id)

    def last_message_with(self, label: str) -> BotMessage:
        """The newest message carrying a button with this label."""
        for message in reversed(self.messages()):
            if label in message.buttons:
                return message
        raise AssertionError(
            f"no message with a {label!r} button; last messages: "
            f"{[(m.text[:60], m.buttons) for m in self.messages()[-3:]]}"
        )

    async def press(self, label: str, *, on: BotMessage | None = None) -> Turn:
        """Taps the button with this label (on the newest message that has one)."""
        message = on or self.last_message_with(label)
        return await self.press_data(message.callback_data(label), on=message)

    async def press_data(self, data: str, *, on: BotMessage | None = None) -> Turn:
        """Sends a callback query with any data (forged presses included)."""
        message = on or self.messages()[-1]
        return await self.harness.feed(self.updates.press(message, data), self.id)

    async def file_complaint(
        self,
        order_id: str = "748596",
        problem: str = "The blender arrived broken.",
        category: str = "Product-related",
    ) -> Turn:
        """Walks the whole flow up to (and including) Submit."""
        await self.send("/complaint")
        await self.send(order_id)
        await self.send(problem)
        await self.press(category)
        return await self.press("Submit")

    async def show_the_damage(self, photos: int = 3, *, receipt: bool = False) -> Turn:
        """With the PHOTOS step on: order, problem, Product-related, an album of `photos` (and
        a PDF receipt), Done; the solution question is next."""
        await self.send("/complaint")
        await self.send("748596")
        await self.send("The blender arrived with a cracked jug.")
        await self.press("Product-related")
        await self.send_album(photos)
        if receipt:
            await self.send_file("document", name="receipt.pdf", mime="application/pdf")
        return await self.press("Done")
