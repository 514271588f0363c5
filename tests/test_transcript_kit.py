"""The transcript kit's operator-chat, reply, reaction, blocking and outage steps, checked
against a scripted stand-in for the bot (the relay it describes is not needed) and, where the
bot already behaves so, against the real bot in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.loopback import customer as customer_module
from bot.loopback.chats import replied_id
from bot.loopback.telegram import ApiCall, BotApiError, LoopbackTelegram
from tests.helpers.chat_steps import OperatorChat, telegram_down
from tests.helpers.driver import BotHarness, FakeClock, make_settings
from tests.helpers.targets import InProcessTarget
from tests.helpers.transcript import (
    CUSTOMER_ID,
    Cursor,
    Outputs,
    TranscriptFailure,
    load_transcript,
    prepare_telegram,
    replay,
)

OPERATORS = -100777


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kit.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# -- parsing ---------------------------------------------------------------------------------

EVERY_NEW_STEP = """
title: every new step
settings: {OPERATOR_CHAT_ID: -100777}
operator_chat: {forum: true, title: Desk}
steps:
  - user: "plain text stays valid"
  - operator: {reply_to: "New complaint 100001", text: "Could you send a photo of the base?"}
  - operator: {command: "/reply 100001 Thanks, we are sending a new one."}
  - operator: {send: photo, caption: "Like this?", reply_to: "New complaint 100001"}
  - operator_sees: {text_contains: "Ada wrote", in_topic_of: "New complaint", reply_to: "New"}
  - operator_sees: silent
  - operator_reaction: {on: last, emoji: "👍"}
  - user: {text: "It leaks from the bottom.", reply_to: "Re: complaint 100001"}
  - send: {kind: photo, reply_to: "Re: complaint 100001"}
  - customer_blocks_bot: true
  - telegram_down: {methods: [sendMessage], code: 502, times: 3}
"""


def test_every_new_step_loads(tmp_path: Path) -> None:
    transcript = load_transcript(write(tmp_path, EVERY_NEW_STEP))
    assert [kind for kind, _ in transcript.steps] == [
        "user",
        "operator",
        "operator",
        "operator",
        "operator_sees",
        "operator_sees",
        "operator_reaction",
        "user",
        "send",
        "customer_blocks_bot",
        "telegram_down",
    ]
    assert transcript.operator_chat == {"forum": True, "title": "Desk"}
    telegram = LoopbackTelegram()
    prepare_telegram(transcript, telegram)
    assert telegram.groups[OPERATORS].forum and telegram.groups[OPERATORS].title == "Desk"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "settings: {OPERATOR_CHAT_ID: -1}\nsteps:\n  - operator: {txt: hi}\n",
            "unknown field(s) ['txt']",
        ),
        ("steps:\n  - operator: {text: hi}\n", "need settings: OPERATOR_CHAT_ID"),
        ("operator_chat: {forum: true}\nsteps: []\n", "need settings: OPERATOR_CHAT_ID"),
        (
            "settings: {OPERATOR_CHAT_ID: -1}\noperator_chat: {froum: true}\nsteps: []\n",
            "operator_chat takes",
        ),
        (
            "settings: {OPERATOR_CHAT_ID: -1}\nsteps:\n  - operator_sees: {txt_contains: x}\n",
            "unknown field(s) ['txt_contains']",
        ),
        ("steps:\n  - user: {reply_to: x}\n", "needs text"),
        ("steps:\n  - telegram_down: {methods: [sendMessage], cod: 502}\n", "['cod']"),
        ("steps:\n  - wait: {for: 2m, evry: 5s}\n", "unknown field(s) ['evry']"),
    ],
)
def test_mistakes_in_new_steps_are_named_when_loading(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(TranscriptFailure) as caught:
        load_transcript(write(tmp_path, text))
    assert says in str(caught.value)


# -- replaying against a scripted stand-in --------------------------------------------------


class IdleTarget:
    """A target whose bot does nothing: Telegram's side alone."""

    def __init__(self, telegram: LoopbackTelegram) -> None:
        self.telegram = telegram
        self.http = None
        self.updates: list[dict[str, Any]] = []

    async def act(self, update: dict[str, Any]) -> None:
        self.telegram.received(update)
        self.updates.append(update)

    async def restart(self) -> None:
        return None

    async def wait(self, seconds: float) -> None:
        return None

    async def next_output(self, outputs: Cursor) -> ApiCall | None:
        return outputs.take()

    async def quiet(self) -> None:
        return None

    async def until(self, condition: Any) -> None:
        return None


class ScriptedRelay(IdleTarget):
    """Plays a bot that relays between customer and operators, by calling the loopback's Bot
    API as such a bot would: enough to see each kit step pass and fail."""

    def __init__(self, telegram: LoopbackTelegram, *, react: str = "👍") -> None:
        super().__init__(telegram)
        self.react = react
        topic = telegram.call(
            "createForumTopic", {"chat_id": OPERATORS, "name": "Complaint 100001"}
        )
        self.thread = topic["message_thread_id"]
        self.post = telegram.call(
            "sendMessage",
            {
                "chat_id": OPERATORS,
                "text": "New complaint 100001",
                "message_thread_id": self.thread,
            },
        )["message_id"]
        telegram.call("sendMessage", {"chat_id": CUSTOMER_ID, "text": "Re: complaint 100001"})

    async def act(self, update: dict[str, Any]) -> None:
        await super().act(update)
        message = update.get("message", {})
        if message.get("chat", {}).get("id") == OPERATORS:
            text = message.get("text") or message.get("caption") or ""
            relayed = self.telegram.call(
                "sendMessage", {"chat_id": CUSTOMER_ID, "text": f"Re: complaint 100001\n{text}"}
            )
            assert relayed["message_id"]
            self.telegram.call(
                "setMessageReaction",
                {
                    "chat_id": OPERATORS,
                    "message_id": message["message_id"],
                    "reaction": [{"type": "emoji", "emoji": self.react}],
                },
            )
        elif "reply_to_message" in message:
            self.telegram.call(
                "sendMessage",
                {
                    "chat_id": OPERATORS,
                    "text": f"Ada wrote about complaint 100001: {message.get('text', '[photo]')}",
                    "message_thread_id": self.thread,
                    "reply_parameters": {"message_id": self.post},
                },
            )


RELAY = """
title: a relay, scripted
settings: {OPERATOR_CHAT_ID: -100777}
operator_chat: {forum: true}
steps:
  - operator_sees: {text_contains: "New complaint 100001", topic: "Complaint 100001"}
  - user: {text: "It leaks from the bottom.", reply_to: "Re: complaint 100001"}
  - operator_sees: {text_contains: "Ada wrote about complaint 100001",
                    in_topic_of: "New complaint 100001", reply_to: "New complaint 100001"}
  - operator: {reply_to: "Ada wrote", text: "Could you send a photo of the base?"}
  - bot: {text_contains: "Could you send a photo of the base?"}
  - operator_reaction: {on: last, emoji: "👍"}
  - operator: {command: "/reply 100001 Thanks, we are sending a new one."}
  - bot: {text_contains: "Thanks, we are sending a new one."}
  - operator: {send: photo, caption: "Like this?", reply_to: "New complaint 100001"}
  - bot: {text_contains: "Like this?"}
  - send: {kind: photo, reply_to: "Like this?"}
  - operator_sees: {text_contains: "[photo]", topic: "Complaint"}
  - operator_sees: silent
"""


async def test_a_scripted_relay_passes_every_step(tmp_path: Path) -> None:
    transcript = load_transcript(write(tmp_path, RELAY))
    telegram = LoopbackTelegram()
    prepare_telegram(transcript, telegram)
    relay = ScriptedRelay(telegram)
    await replay(transcript, relay)
    operator_messages = telegram.user_messages(OPERATORS)
    assert [m.text for m in operator_messages] == [
        "Could you send a photo of the base?",
        "/reply 100001 Thanks, we are sending a new one.",
        "Like this?",
    ]
    # The operator's replies went into the replied message's topic, as Telegram does.
    assert {m.thread_id for m in operator_messages[::2]} == {relay.thread}
    command = relay.updates[2]["message"]
    assert command["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    customer_photo = relay.updates[-1]["message"]
    assert customer_photo["reply_to_message"]["text"].endswith("Like this?")


@pytest.mark.parametrize(
    ("step", "says"),
    [
        ('operator_sees: {text_contains: "Bob wrote"}', "expected a post containing 'Bob wrote'"),
        ('operator_sees: {text_contains: "New", no_topic: true}', "outside any topic"),
        ('operator_sees: {text_contains: "New", reply_to: "New"}', "no message containing"),
        ('operator_sees: {text_contains: "New", topic: "Complaint 2"}', "no topic named like"),
        ("operator_sees: {kind: photo}", "expected a photo"),
        ("operator_sees: silent", "the bot posted"),
        ('operator: {reply_to: "Complaint 999", text: x}', "no message containing"),
        ('user: {text: x, reply_to: "nothing like it"}', "no message containing"),
    ],
)
async def test_a_step_that_does_not_hold_fails_naming_it(
    tmp_path: Path, step: str, says: str
) -> None:
    text = (
        "settings: {OPERATOR_CHAT_ID: -100777}\noperator_chat: {forum: true}\n"
        f"steps:\n  - {step}\n"
    )
    transcript = load_transcript(write(tmp_path, text))
    telegram = LoopbackTelegram()
    prepare_telegram(transcript, telegram)
    with pytest.raises(TranscriptFailure) as caught:
        await replay(transcript, ScriptedRelay(telegram))
    assert "kit.yaml step 1" in str(caught.value)
    assert says in str(caught.value)


async def test_a_missing_or_wrong_reaction_fails(tmp_path: Path) -> None:
    text = RELAY.split("  - operator_reaction")[0] + '  - operator_reaction: {emoji: "👍"}\n'
    transcript = load_transcript(write(tmp_path, text))
    telegram = LoopbackTelegram()
    prepare_telegram(transcript, telegram)
    with pytest.raises(TranscriptFailure, match=r"expected the reaction \['👍'\].*it has \['👌'\]"):
        await replay(transcript, ScriptedRelay(telegram, react="👌"))


async def test_blocking_and_outages_act_on_telegrams_side(tmp_path: Path) -> None:
    text = """
steps:
  - telegram_down: {methods: [sendMessage, sendPhoto], code: 429, times: 2, retry_after: 3}
  - customer_blocks_bot: true
"""
    transcript = load_transcript(write(tmp_path, text))
    telegram = LoopbackTelegram()
    await replay(transcript, IdleTarget(telegram))
    for _ in range(2):
        with pytest.raises(BotApiError) as refused:
            telegram.call("sendMessage", {"chat_id": 1, "text": "hi"})
        assert (refused.value.code, refused.value.retry_after) == (429, 3)
        assert refused.value.description == "Too Many Requests: retry after 3"
    telegram.call("sendMessage", {"chat_id": 1, "text": "hi"})
    with pytest.raises(BotApiError, match="blocked by the user"):
        telegram.call("sendMessage", {"chat_id": CUSTOMER_ID, "text": "hi"})


class Waits(IdleTarget):
    """Records how time was moved."""

    def __init__(self) -> None:
        super().__init__(LoopbackTelegram())
        self.moves: list[float] = []

    async def wait(self, seconds: float) -> None:
        self.moves.append(seconds)


@pytest.mark.parametrize(
    ("step", "moves"),
    [
        ("wait: 2m", [120.0]),
        ("wait: {for: 2m}", [120.0]),
        ("wait: {for: 2m, every: 50s}", [50.0, 50.0, 20.0]),
        ("wait: {for: 90s, every: 30s}", [30.0, 30.0, 30.0]),
        ("wait: {for: 10s, every: 1m}", [10.0]),
    ],
)
async def test_a_wait_moves_time_at_once_or_in_steps(
    tmp_path: Path, step: str, moves: list[float]
) -> None:
    target = Waits()
    await replay(load_transcript(write(tmp_path, f"steps:\n  - {step}\n")), target)
    assert target.moves == moves


async def test_a_wait_that_is_no_duration_is_named(tmp_path: Path) -> None:
    transcript = load_transcript(write(tmp_path, "steps:\n  - wait: {every: 5s}\n"))
    with pytest.raises(TranscriptFailure, match=r"kit.yaml step 1 .*not a duration: None"):
        await replay(transcript, Waits())


def test_a_message_telegram_refused_is_not_what_anyone_saw() -> None:
    """`bot:` and `operator_sees` read what reached the chats: a send Telegram refused (down,
    blocked) is skipped, so `silent` holds and a retry is the one message seen."""
    telegram = LoopbackTelegram()
    outputs = Outputs(telegram, CUSTOMER_ID)
    operators = OperatorChat(telegram, OPERATORS, {})
    telegram_down(telegram, {"methods": ["sendMessage"], "code": 502, "times": 2})
    for chat in (CUSTOMER_ID, OPERATORS):
        with pytest.raises(BotApiError, match="Bad Gateway"):
            telegram.call("sendMessage", {"chat_id": chat, "text": "lost"})
    telegram.block(CUSTOMER_ID)
    with pytest.raises(BotApiError, match="blocked by the user"):
        telegram.call("sendMessage", {"chat_id": CUSTOMER_ID, "text": "lost"})
    assert outputs.pending() == [] and not operators.pending()

    telegram.unblock(CUSTOMER_ID)
    for chat in (CUSTOMER_ID, OPERATORS):
        telegram.call("sendMessage", {"chat_id": chat, "text": "arrived"})
    for cursor in (outputs, operators):
        arrived = cursor.take()
        assert arrived is not None and arrived.text == "arrived"
        assert cursor.take() is None
    assert [call.refusal for call in telegram.calls] == [
        ["502 Bad Gateway"],
        ["502 Bad Gateway"],
        ["403 Forbidden: bot was blocked by the user"],
        [],
        [],
    ]


# -- the real bot, in-process: its post, and an operator's reply relayed ---------------------

REAL_BOT = """
title: the operator chat sees a new complaint; the operator's reply reaches the customer
settings: {OPERATOR_CHAT_ID: -100777}
steps:
  - user: /complaint
  - user: "748596"
  - user: The kettle leaks from the bottom.
  - press: Delivery
  - press: Submit
  - bot: {toast: Submitting}
  - bot: {text_contains: "Complaint number: 100001"}
  - operator_sees: {text_contains: ["New complaint 100001", "748596"], no_topic: true}
  - operator: {reply_to: "New complaint 100001", text: "We are on it."}
  - bot: {text_contains: ["Re: complaint 100001 (order 748596):", "We are on it."]}
  - operator_reaction: {on: last, emoji: "👍"}
"""


async def test_the_kit_runs_against_the_real_bot(tmp_path: Path) -> None:
    transcript = load_transcript(write(tmp_path, REAL_BOT))
    clock = FakeClock()
    telegram = LoopbackTelegram(clock=clock)
    prepare_telegram(transcript, telegram)
    settings = make_settings(tmp_path / "bot.sqlite3", **transcript.settings)
    harness = BotHarness(settings, clock=clock, telegram=telegram)
    await harness.start()
    try:
        await replay(transcript, InProcessTarget(harness, None))
    finally:
        await harness.stop()
    [post] = [m for m in telegram.chat_messages(OPERATORS) if "New complaint" in m.text]
    [reply] = telegram.user_messages(OPERATORS)
    assert reply.reply_to == post.message_id
    assert replied_id({"reply_parameters": {"message_id": post.message_id}})[1] == post.message_id


async def test_a_reply_to_an_operators_message_is_found_whatever_its_id(tmp_path: Path) -> None:
    """Users' message ids come from the tests' own counter, the bot's from Telegram's: a reply
    to the operator's message is found by when it arrived, not by comparing the two ids."""
    text = REAL_BOT.split("  - operator: {reply_to")[0] + (
        '  - operator: {command: "/reply 999999 x"}\n'
        '  - operator_sees: {text_contains: "There is no complaint 999999.",'
        ' reply_to: "/reply 999999 x"}\n'
    )
    transcript = load_transcript(write(tmp_path, text))
    clock = FakeClock()
    telegram = LoopbackTelegram(clock=clock)
    prepare_telegram(transcript, telegram)
    while next(customer_module._message_ids) < 5000:  # as after many tests in one run
        pass
    settings = make_settings(tmp_path / "bot.sqlite3", **transcript.settings)
    harness = BotHarness(settings, clock=clock, telegram=telegram)
    await harness.start()
    try:
        await replay(transcript, InProcessTarget(harness, None))
    finally:
        await harness.stop()
    [command] = telegram.user_messages(OPERATORS)
    [answer] = [m for m in telegram.chat_messages(OPERATORS) if "There is no" in m.text]
    assert command.message_id > answer.message_id  # ids alone would say it came after
