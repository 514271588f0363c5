"""Transcripts: whole conversations in YAML, replayed against the bot in-process or as a process.

The format is documented in the README ("Testing conversations"). A failing step raises
TranscriptFailure naming the file, the step and what the bot actually said.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import yaml

from bot.cli.recording import SHIPPED_DEFAULTS
from bot.config import Settings
from bot.loopback.customer import CustomerUpdates, Replied, make_user
from bot.loopback.telegram import ApiCall, LoopbackTelegram, reply_keyboard_of
from tests.helpers.chat_steps import (
    OPERATOR_CHAT_FIELDS,
    CallCursor,
    OperatorChat,
    StepError,
    check_fields,
    describe_post,
    find_message,
    normalise,
    prepare_group,
    telegram_down,
)
from tests.helpers.driver import make_settings

TRANSCRIPTS_DIR = Path(__file__).parent.parent / "transcripts"
ACTIONS = {"user", "press", "press_data", "send", "album", "edit"}
STEP_KINDS = ACTIONS | {
    "bot",
    "restart",
    "wait",
    "backend_responds",
    "backend_fails",
    "backend",
    "desk",
    "operator",
    "operator_sees",
    "operator_reaction",
    "customer_blocks_bot",
    "telegram_down",
}
OPERATOR_STEPS = {"operator", "operator_sees", "operator_reaction"}
SHOWN_METHODS = {"sendMessage", "editMessageText", "sendPhoto", "sendDocument"}
# What a `bot: {document: …}` step may check of a file the bot uploaded.
DOCUMENT_FIELDS = {"name", "json", "json_not_contains"}
CUSTOMER_ID = 424242
# A transcript's `defaults:`: the tests' own (the default) or the shipped ones (recordings).
DEFAULTS = ("tests", SHIPPED_DEFAULTS)


class TranscriptFailure(AssertionError):
    """A step of a transcript did not hold."""


@dataclass
class Transcript:
    """A conversation to replay."""

    path: Path
    title: str
    steps: list[tuple[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)
    customer: dict[str, Any] = field(default_factory=dict)
    loopback: bool = False
    # The operator chat's shape (`operator_chat:`), None when the transcript does not say.
    operator_chat: dict[str, Any] | None = None
    # `defaults: shipped` (a console recording): what `settings:` does not name takes the
    # shipped default, not the tests' three-question flow.
    shipped_defaults: bool = False

    @property
    def name(self) -> str:
        return self.path.name

    def uses(self, *kinds: str) -> bool:
        return any(kind in kinds for kind, _ in self.steps)


def load_transcript(path: Path) -> Transcript:
    """Reads and checks a transcript file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise TranscriptFailure(f"{path.name}: needs a 'steps' list")
    steps: list[tuple[str, Any]] = []
    for number, step in enumerate(data["steps"], start=1):
        if not isinstance(step, dict) or len(step) != 1:
            raise TranscriptFailure(f"{path.name} step {number}: one 'kind: value' per step")
        ((kind, value),) = step.items()
        if kind not in STEP_KINDS:
            raise TranscriptFailure(f"{path.name} step {number}: unknown step {kind!r}")
        value = normalise(value)
        try:
            check_fields(kind, value)
        except StepError as err:
            raise TranscriptFailure(f"{path.name} step {number} ({kind}): {err}") from None
        steps.append((kind, value))
    operator_chat = data.get("operator_chat")
    if operator_chat is not None and (
        not isinstance(operator_chat, dict) or set(operator_chat) - OPERATOR_CHAT_FIELDS
    ):
        raise TranscriptFailure(f"{path.name}: operator_chat takes {sorted(OPERATOR_CHAT_FIELDS)}")
    settings = {k.lower(): v for k, v in (data.get("settings") or {}).items()}
    defaults = data.get("defaults", DEFAULTS[0])
    if defaults not in DEFAULTS:
        raise TranscriptFailure(f"{path.name}: defaults is one of {list(DEFAULTS)}")
    uses_operators = operator_chat is not None or any(k in OPERATOR_STEPS for k, _ in steps)
    if uses_operators and settings.get("operator_chat_id") is None:
        raise TranscriptFailure(f"{path.name}: operator steps need settings: OPERATOR_CHAT_ID")
    return Transcript(
        path=path,
        title=str(data.get("title", path.stem)),
        steps=steps,
        settings=settings,
        customer=dict(data.get("customer") or {}),
        loopback=bool(data.get("loopback", False)),
        operator_chat=dict(operator_chat) if operator_chat is not None else None,
        shipped_defaults=defaults == SHIPPED_DEFAULTS,
    )


def transcript_settings(transcript: Transcript, database_path: Path) -> Settings:
    """The settings a transcript replays with: the tests' defaults (or, for a recording, the
    shipped ones), then what the transcript names."""
    return make_settings(database_path, shipped=transcript.shipped_defaults, **transcript.settings)


def prepare_telegram(transcript: Transcript, telegram: LoopbackTelegram) -> None:
    """Sets Telegram's side up before the bot starts: the operator chat as a supergroup."""
    chat_id = transcript.settings.get("operator_chat_id")
    if chat_id is not None and (
        transcript.operator_chat is not None or transcript.uses(*OPERATOR_STEPS)
    ):
        prepare_group(telegram, int(chat_id), transcript.operator_chat or {})


def all_transcripts() -> list[Path]:
    """Every transcript file shipped in tests/transcripts/."""
    return sorted(TRANSCRIPTS_DIR.glob("*.yaml"))


def plain(text: str) -> str:
    """What the customer reads: HTML tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def parse_duration(value: object) -> float:
    """'20m', '90s', '2h' or a number of seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(value))
    if match is None:
        raise ValueError(f"not a duration: {value!r}")
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]


def _wait_steps(value: object, where: str) -> list[float]:
    """The moves of time of a `wait` step: one jump (`wait: 2m`), or `wait: {for: 2m, every:
    10s}`, time moving on in steps and what falls due at each one running (a message that
    Telegram refuses several times is retried along the way, as in a running bot)."""
    spec = dict(value) if isinstance(value, dict) else {"for": value}
    try:
        total = parse_duration(spec.get("for"))
        every = parse_duration(spec.get("every", total))
    except ValueError as err:
        raise TranscriptFailure(f"{where}: {err}") from None
    if total <= 0 or every >= total:
        return [total]
    if every <= 0:
        raise TranscriptFailure(f"{where}: 'every' must be more than 0s")
    steps = [every] * int(total // every)
    rest = total - sum(steps)
    return [*steps, rest] if rest > 1e-9 else steps


# -- the scripted HTTP backend -------------------------------------------------------------


@dataclass
class _Scripted:
    path: str | None
    respond: Callable[[httpx.Request], httpx.Response]


class ScriptedHttp:
    """An httpx transport answering backend requests as the transcript scripts them."""

    def __init__(self) -> None:
        self.queue: list[_Scripted] = []
        self.requests: list[httpx.Request] = []
        self.checked = 0
        self.problems: list[str] = []

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self._handle))

    def responds(self, spec: dict[str, Any]) -> None:
        status = int(spec.get("status", 200))
        headers = {str(k): str(v) for k, v in (spec.get("headers") or {}).items()}
        if "json" in spec:
            body = json.dumps(spec["json"]).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = str(spec.get("body", "")).encode()
        self.queue.append(
            _Scripted(
                spec.get("path"), lambda _: httpx.Response(status, headers=headers, content=body)
            )
        )

    def fails(self, spec: object) -> None:
        details = spec if isinstance(spec, dict) else {"with": spec}
        failure = str(details.get("with"))

        def respond(request: httpx.Request) -> httpx.Response:
            if failure == "timeout":
                raise httpx.ReadTimeout("scripted timeout", request=request)
            if failure == "connect":
                raise httpx.ConnectError("scripted refusal", request=request)
            return httpx.Response(int(failure), text="scripted failure")

        self.queue.append(_Scripted(details.get("path"), respond))

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for index, scripted in enumerate(self.queue):
            if scripted.path is None or scripted.path in request.url.path:
                del self.queue[index]
                return scripted.respond(request)
        self.problems.append(
            f"the bot called {request.method} {request.url.path}, "
            "but the transcript scripted no answer for it"
        )
        return httpx.Response(599, text="unscripted")


def matches(expected: object, actual: object) -> bool:
    """Whether `actual` contains `expected` (dicts by subset, other values by equality)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and matches(value, actual[key]) for key, value in expected.items()
        )
    return expected == actual


# -- what the bot showed ---------------------------------------------------------------------


class Target(Protocol):
    """Where a transcript runs: in-process or a `python -m bot` process."""

    telegram: LoopbackTelegram
    http: ScriptedHttp | None

    async def act(self, update: dict[str, Any]) -> None: ...
    async def restart(self) -> None: ...
    async def wait(self, seconds: float) -> None: ...
    async def desk(self, number: str, status: str, note: str | None) -> None: ...
    async def next_output(self, outputs: Cursor) -> ApiCall | None: ...
    async def quiet(self) -> None: ...
    async def until(self, condition: Callable[[], bool]) -> None: ...


class Cursor(Protocol):
    """What the bot showed in one chat, taken one at a time."""

    def take(self) -> ApiCall | None: ...


class Outputs(CallCursor):
    """A cursor over what the bot showed the customer: messages, edits, photos and toasts."""

    def __init__(self, telegram: LoopbackTelegram, chat_id: int) -> None:
        self.telegram = telegram
        self.chat_id = chat_id
        self.cursor = len(telegram.calls)

    def pending(self) -> list[ApiCall]:
        return [c for c in self.telegram.calls[self.cursor :] if self._shown(c)]

    def _shown(self, call: ApiCall) -> bool:
        if call.refused:
            return False  # Telegram refused it (blocked, down): the customer never saw it
        if call.method == "answerCallbackQuery":
            return bool(call.text)
        return call.method in SHOWN_METHODS and call.chat_id == self.chat_id

    def skip_all(self) -> None:
        self.cursor = len(self.telegram.calls)


def describe(call: ApiCall | None) -> str:
    if call is None:
        return "nothing"
    if call.method == "answerCallbackQuery":
        return f"a toast {call.text!r}"
    buttons = f" with buttons {call.buttons}" if call.buttons else " with no buttons"
    photo = f" (a photo {call.params.get('photo')})" if call.method == "sendPhoto" else ""
    if call.method == "sendDocument":
        photo = f" (a document {call.params.get('document')})"
    return f"{plain(call.text)!r}{photo}{buttons}"


def contains_json(expected: object, actual: object) -> bool:
    """Whether a JSON document holds `expected`: objects by subset, lists by each expected
    item matching some item, other values by equality."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and contains_json(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and all(
            any(contains_json(item, candidate) for candidate in actual) for item in expected
        )
    return expected == actual


def check_document(
    spec: object, call: ApiCall, telegram: LoopbackTelegram | None, where: str
) -> None:
    """Raises TranscriptFailure unless the bot uploaded the file a `document:` step describes
    (its name contains `name`; parsed as JSON, it holds `json` and none of `json_not_contains`)."""
    if not isinstance(spec, dict) or set(spec) - DOCUMENT_FIELDS:
        raise TranscriptFailure(f"{where}: document takes {sorted(DOCUMENT_FIELDS)}")
    if call.method != "sendDocument" or telegram is None:
        raise TranscriptFailure(f"{where}: expected a document; the bot said {describe(call)}")
    stored = telegram.files.get(str(call.params.get("document")))
    if stored is None or not stored.file_name:
        raise TranscriptFailure(f"{where}: the document was not a file the bot uploaded")
    if str(spec.get("name", "")) not in stored.file_name:
        raise TranscriptFailure(
            f"{where}: expected a file named like {spec['name']!r}; got {stored.file_name!r}"
        )
    if "json" not in spec and "json_not_contains" not in spec:
        return
    try:
        document = json.loads(stored.content)
    except ValueError as err:
        raise TranscriptFailure(f"{where}: {stored.file_name} is not JSON ({err})") from None
    if "json" in spec and not contains_json(spec["json"], document):
        shown = json.dumps(document, ensure_ascii=False)[:1500]
        raise TranscriptFailure(
            f"{where}: {stored.file_name} does not hold {spec['json']}: {shown}"
        )
    unwanted = spec.get("json_not_contains", [])
    text = stored.content.decode()
    for fragment in [unwanted] if isinstance(unwanted, str) else unwanted:
        if str(fragment) in text:
            raise TranscriptFailure(f"{where}: {stored.file_name} holds {fragment!r}")


def check_output(
    expected: dict[str, Any],
    call: ApiCall | None,
    where: str,
    telegram: LoopbackTelegram | None = None,
) -> None:
    """Raises TranscriptFailure unless the bot's output fits the `bot:` step."""
    if call is None:
        raise TranscriptFailure(f"{where}: the bot said nothing")
    said = describe(call)
    if "toast" in expected:
        if call.method != "answerCallbackQuery" or str(expected["toast"]) not in call.text:
            raise TranscriptFailure(
                f"{where}: expected the toast {expected['toast']!r}; got {said}"
            )
        return
    if call.method == "answerCallbackQuery":
        raise TranscriptFailure(f"{where}: expected a message; the bot only showed {said}")
    if "document" in expected:
        check_document(expected["document"], call, telegram, where)
    elif call.method == "sendDocument":
        raise TranscriptFailure(f"{where}: expected a message; the bot sent a document {said}")
    text = plain(call.text)
    wanted = expected.get("text_contains", [])
    for fragment in [wanted] if isinstance(wanted, str) else wanted:
        if str(fragment) not in text:
            raise TranscriptFailure(
                f"{where}: expected text containing {fragment!r}; the bot said {said}"
            )
    unwanted = expected.get("text_not_contains", [])
    for fragment in [unwanted] if isinstance(unwanted, str) else unwanted:
        if str(fragment) in text:
            raise TranscriptFailure(
                f"{where}: {fragment!r} should not be there; the bot said {said}"
            )
    if "buttons" in expected and call.buttons != list(expected["buttons"]):
        raise TranscriptFailure(
            f"{where}: expected buttons {expected['buttons']}; the bot said {said}"
        )
    if "photo" in expected and (call.method == "sendPhoto") != bool(expected["photo"]):
        kind = "a photo" if expected["photo"] else "a text message, not a photo"
        raise TranscriptFailure(f"{where}: expected {kind}; the bot said {said}")
    if "reply_keyboard" in expected and reply_keyboard_of(call.params) != list(
        expected["reply_keyboard"]
    ):
        raise TranscriptFailure(
            f"{where}: expected the keyboard {expected['reply_keyboard']} under the message "
            f"field; got {reply_keyboard_of(call.params)} with {said}"
        )
    if expected.get("keyboard_removed") and not _removes_keyboard(call):
        raise TranscriptFailure(f"{where}: expected the keyboard to be taken away; got {said}")
    if "edited" in expected and (call.method == "editMessageText") != bool(expected["edited"]):
        kind = "an edit of its message" if expected["edited"] else "a new message"
        raise TranscriptFailure(f"{where}: expected {kind}; got {call.method} {said}")


def _removes_keyboard(call: ApiCall) -> bool:
    markup = call.params.get("reply_markup")
    return isinstance(markup, dict) and bool(markup.get("remove_keyboard"))


async def replay(transcript: Transcript, target: Target, customer_id: int = CUSTOMER_ID) -> None:
    """Runs every step of the transcript against the target."""
    customer = CustomerUpdates(make_user(customer_id, **transcript.customer))
    outputs = Outputs(target.telegram, customer.id)
    operators: OperatorChat | None = None
    chat_id = transcript.settings.get("operator_chat_id")
    if chat_id is not None and (
        transcript.operator_chat is not None or transcript.uses(*OPERATOR_STEPS)
    ):
        operators = OperatorChat(target.telegram, int(chat_id), transcript.operator_chat or {})
    for number, (kind, value) in enumerate(transcript.steps, start=1):
        where = f"{transcript.name} step {number} ({kind}: {json.dumps(value, ensure_ascii=False)})"
        try:
            handled = await _chat_step(kind, value, target, customer, operators)
        except StepError as err:
            raise TranscriptFailure(f"{where}: {err}") from None
        if handled:
            pass
        elif kind in ACTIONS:
            outputs.skip_all()
            for update in _action(kind, value, customer, target.telegram, where):
                await target.act(update)
        elif kind == "bot":
            if value == "silent":
                await target.quiet()
                if outputs.pending():
                    raise TranscriptFailure(f"{where}: the bot said {describe(outputs.take())}")
            else:
                output = await target.next_output(outputs)
                check_output(dict(value), output, where, target.telegram)
        elif kind == "restart":
            await target.restart()
        elif kind == "wait":
            outputs.skip_all()
            for seconds in _wait_steps(value, where):
                await target.wait(seconds)
        elif kind == "desk":
            outputs.skip_all()
            await _desk_step(value, target, where)
        else:
            _backend_step(kind, value, target.http, where)
        if target.http is not None and target.http.problems:
            raise TranscriptFailure(f"{where}: {target.http.problems[0]}")


async def _chat_step(
    kind: str,
    value: Any,
    target: Target,
    customer: CustomerUpdates,
    operators: OperatorChat | None,
) -> bool:
    """Runs a step about the operator chat, a blocked customer or Telegram failing calls;
    False when the step is none of those."""
    if kind == "customer_blocks_bot":
        if value:
            target.telegram.block(customer.id)
        else:
            target.telegram.unblock(customer.id)
        return True
    if kind == "telegram_down":
        telegram_down(target.telegram, dict(value))
        return True
    if kind not in OPERATOR_STEPS:
        return False
    assert operators is not None  # load_transcript made sure of OPERATOR_CHAT_ID
    if kind == "operator":
        operators.skip_all()
        await target.act(operators.action(value))
    elif kind == "operator_sees":
        if value == "silent":
            await target.quiet()
            if operators.pending():
                raise StepError(f"the bot posted {describe_post(operators.take())}")
        else:
            operators.check(dict(value), await target.next_output(operators))
    else:
        expected = dict(value)
        await target.until(lambda: operators.reaction(expected) is None)
        problem = operators.reaction(expected)
        if problem is not None:
            raise StepError(problem)
    return True


def _action(
    kind: str, value: Any, customer: CustomerUpdates, telegram: LoopbackTelegram, where: str
) -> list[dict[str, Any]]:
    """The updates a step's action makes (an album is several)."""
    if kind == "album":
        options = dict(value) if isinstance(value, dict) else {"count": value}
        album = f"album-{len(telegram.calls)}"
        updates = []
        for index in range(int(options.get("count", 3))):
            caption = options.get("caption") if index == 0 else None
            updates.append(_file(customer, telegram, {"caption": caption, "album": album}))
        return updates
    return [_one_action(kind, value, customer, telegram, where)]


def _file(
    customer: CustomerUpdates,
    telegram: LoopbackTelegram,
    options: dict[str, Any],
    reply_to: Replied | None = None,
) -> dict[str, Any]:
    kind = str(options.get("kind", "photo"))
    stored = telegram.add_file(f"{kind} sent in a transcript".encode(), kind)
    return customer.file(
        stored,
        kind,
        caption=options.get("caption"),
        album=options.get("album"),
        name=options.get("name"),
        mime=options.get("mime"),
        size=options.get("size"),
        reply_to=reply_to,
    )


def _replied(
    options: dict[str, Any], customer: CustomerUpdates, telegram: LoopbackTelegram, where: str
) -> Replied | None:
    """The message a customer's `reply_to: "fragment"` names, in their chat."""
    if options.get("reply_to") is None:
        return None
    try:
        return find_message(telegram, customer.id, str(options["reply_to"]))
    except StepError as err:
        raise TranscriptFailure(f"{where}: {err}") from None


def _one_action(
    kind: str, value: Any, customer: CustomerUpdates, telegram: LoopbackTelegram, where: str
) -> dict[str, Any]:
    if kind == "user":
        if isinstance(value, dict):
            replied = _replied(value, customer, telegram, where)
            return customer.text(str(value["text"]), reply_to=replied)
        return customer.text(str(value))
    if kind == "send":
        options = dict(value) if isinstance(value, dict) else {"kind": str(value)}
        replied = _replied(options, customer, telegram, where)
        if options["kind"] in ("photo", "video", "document"):
            return _file(customer, telegram, options, replied)
        if options["kind"] == "contact" and "own" in options:
            return customer.contact(own=bool(options["own"]))
        return customer.content(str(options["kind"]), reply_to=replied)
    if kind == "edit":
        return customer.edit(str(value))
    messages = telegram.chat_messages(customer.id)
    if kind == "press_data":
        if not messages:
            raise TranscriptFailure(f"{where}: there is no message to press a button on")
        return customer.press(messages[-1], str(value))
    for message in reversed(messages):
        if str(value) in message.buttons:
            return customer.press(message, message.callback_data(str(value)))
    shown = [m.buttons for m in messages[-3:]]
    raise TranscriptFailure(f"{where}: no button {value!r}; the last messages had {shown}")


async def _desk_step(value: Any, target: Target, where: str) -> None:
    """An operator changes a desk complaint's status (`python -m bot desk set-status`)."""
    spec = dict(value) if isinstance(value, dict) else {}
    if "set_status" not in spec or "to" not in spec:
        raise TranscriptFailure(f"{where}: write desk: {{set_status: NUMBER, to: STATUS}}")
    note = spec.get("note")
    await target.desk(str(spec["set_status"]), str(spec["to"]), None if note is None else str(note))


def _backend_step(kind: str, value: Any, http: ScriptedHttp | None, where: str) -> None:
    if http is None:
        raise TranscriptFailure(f"{where}: backend steps need an HTTP backend in settings")
    if kind == "backend_responds":
        http.responds(dict(value))
    elif kind == "backend_fails":
        http.fails(value)
    else:
        expected = dict(value).get("request_matches", {})
        if http.checked >= len(http.requests):
            raise TranscriptFailure(f"{where}: the backend received no further request")
        request = http.requests[http.checked]
        http.checked += 1
        actual: dict[str, Any] = {"method": request.method, "path": request.url.path}
        if request.content and request.headers.get("content-type", "").startswith(
            "application/json"
        ):
            actual["json"] = json.loads(request.content)
        if not matches(expected, actual):
            raise TranscriptFailure(
                f"{where}: the request was {json.dumps(actual, ensure_ascii=False)}"
            )
