"""The loopback Bot API's groups, forum topics, replies, reactions and blocked users: it refuses
what Telegram refuses, through PTB's own calls and over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import Bot, InputMediaPhoto, Message, ReactionTypeEmoji, ReplyParameters, Update
from telegram.error import BadRequest, Forbidden

from bot.loopback.customer import CustomerUpdates, OperatorUpdates, make_user
from bot.loopback.server import LoopbackBotApiServer
from bot.loopback.telegram import BOT_ID, BOT_USERNAME, BotApiError, LoopbackTelegram
from tests.helpers.bot_api import FakeBotApi

OPERATORS = -100777
PLAIN_GROUP = -100888
TOKEN = "123456:TEST-TOKEN-not-a-real-one-abcdefghi"


@pytest.fixture
def telegram() -> LoopbackTelegram:
    telegram = LoopbackTelegram()
    telegram.add_group(OPERATORS, "Complaint desk", forum=True)
    telegram.add_group(PLAIN_GROUP, "Plain group")
    return telegram


@pytest.fixture
async def bot(telegram: LoopbackTelegram) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, request=FakeBotApi(telegram), get_updates_request=FakeBotApi(telegram))
    await bot.initialize()
    yield bot
    await bot.shutdown()


def operator() -> OperatorUpdates:
    return OperatorUpdates(OPERATORS, make_user(555, "Olga"), title="Complaint desk", forum=True)


# -- getChat ---------------------------------------------------------------------------------


async def test_get_chat_answers_for_groups_and_known_users_only(
    bot: Bot, telegram: LoopbackTelegram
) -> None:
    forum = await bot.get_chat(OPERATORS)
    assert (forum.type, forum.title, forum.is_forum) == ("supergroup", "Complaint desk", True)
    assert (await bot.get_chat(PLAIN_GROUP)).is_forum is False
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat(4242)
    telegram.received(CustomerUpdates(make_user(4242, "Ada")).text("hello"))
    ada = await bot.get_chat(4242)
    assert (ada.type, ada.first_name) == ("private", "Ada")


# -- forum topics ----------------------------------------------------------------------------


async def test_topics_are_created_in_forums_only_with_valid_names(
    bot: Bot, telegram: LoopbackTelegram
) -> None:
    first = await bot.create_forum_topic(OPERATORS, "Complaint 100001")
    second = await bot.create_forum_topic(OPERATORS, "x" * 128, icon_color=16766590)
    assert first.name == "Complaint 100001"
    assert second.message_thread_id > first.message_thread_id
    assert second.icon_color == 16766590
    assert [t.name for t in telegram.topics(OPERATORS)] == ["Complaint 100001", "x" * 128]
    with pytest.raises(BadRequest, match="The chat is not a forum"):
        await bot.create_forum_topic(PLAIN_GROUP, "Complaint 100002")
    with pytest.raises(BadRequest, match="The chat is not a forum"):
        await bot.create_forum_topic(4242, "Complaint 100002")
    for name in ("", "x" * 129):
        with pytest.raises(BadRequest, match="Topic_name_invalid"):
            await bot.create_forum_topic(OPERATORS, name)
    assert len(telegram.topics(OPERATORS)) == 2


async def test_messages_go_into_existing_topics_only(bot: Bot, telegram: LoopbackTelegram) -> None:
    topic = await bot.create_forum_topic(OPERATORS, "Complaint 100001")
    sent = await bot.send_message(OPERATORS, "Ada wrote", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id and sent.is_topic_message
    assert sent.chat.type == "supergroup" and sent.chat.is_forum
    # Telegram makes a topic message without a reply a reply to the topic's opening.
    assert sent.reply_to_message is not None and sent.reply_to_message.forum_topic_created
    assert telegram.chat_messages(OPERATORS)[-1].thread_id == topic.message_thread_id
    photo = telegram.add_file(b"jpeg", "photo")
    await bot.send_photo(OPERATORS, photo.file_id, message_thread_id=topic.message_thread_id)
    assert telegram.chat_messages(OPERATORS)[-1].thread_id == topic.message_thread_id
    for chat, thread in ((OPERATORS, 99999), (PLAIN_GROUP, topic.message_thread_id)):
        with pytest.raises(BadRequest, match="Message thread not found"):
            await bot.send_message(chat, "lost", message_thread_id=thread)
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_document(OPERATORS, photo.file_id, message_thread_id=99999)
    assert len(telegram.chat_messages(OPERATORS)) == 2


async def test_an_album_goes_into_a_topic_whole_or_not_at_all(
    bot: Bot, telegram: LoopbackTelegram
) -> None:
    topic = await bot.create_forum_topic(OPERATORS, "Complaint 100001")
    files = [telegram.add_file(b"jpeg", "photo").file_id for _ in range(2)]
    media = [InputMediaPhoto(file_id) for file_id in files]
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_media_group(OPERATORS, media, message_thread_id=12345)
    assert telegram.chat_messages(OPERATORS) == []
    await bot.send_media_group(OPERATORS, media, message_thread_id=topic.message_thread_id)
    assert [m.thread_id for m in telegram.chat_messages(OPERATORS)] == [topic.message_thread_id] * 2


# -- replies ---------------------------------------------------------------------------------


async def test_replies_need_the_message_in_that_chat(bot: Bot, telegram: LoopbackTelegram) -> None:
    post = await bot.send_message(OPERATORS, "New complaint 100001")
    answer = await bot.send_message(OPERATORS, "Relayed", reply_to_message_id=post.message_id)
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "New complaint 100001"
    assert telegram.chat_messages(OPERATORS)[-1].reply_to == post.message_id
    await bot.send_message(OPERATORS, "again", reply_parameters=ReplyParameters(post.message_id))
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(PLAIN_GROUP, "elsewhere", reply_to_message_id=post.message_id)
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(OPERATORS, "nowhere", reply_to_message_id=424242)
    loose = await bot.send_message(
        OPERATORS, "anyway", reply_to_message_id=424242, allow_sending_without_reply=True
    )
    assert loose.reply_to_message is None
    assert telegram.chat_messages(OPERATORS)[-1].reply_to is None


async def test_a_deleted_message_cannot_be_replied_to(bot: Bot) -> None:
    post = await bot.send_message(OPERATORS, "New complaint 100001")
    await bot.delete_message(OPERATORS, post.message_id)
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(OPERATORS, "too late", reply_to_message_id=post.message_id)


async def test_users_messages_can_be_replied_to_and_are_listed_apart(
    bot: Bot, telegram: LoopbackTelegram
) -> None:
    olga = operator()
    update = olga.text("/reply 100001 Please send a photo")
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(OPERATORS, "ok", reply_to_message_id=update["message"]["message_id"])
    telegram.received(update)
    await bot.send_message(OPERATORS, "ok", reply_to_message_id=update["message"]["message_id"])
    [remembered] = telegram.user_messages(OPERATORS)
    assert remembered.text == "/reply 100001 Please send a photo"
    assert remembered.sender["first_name"] == "Olga"
    # The bot's messages stay the bot's: chat_messages does not list the operator's.
    assert [m.text for m in telegram.chat_messages(OPERATORS)] == ["ok"]


async def test_an_edit_changes_the_remembered_text(telegram: LoopbackTelegram) -> None:
    ada = CustomerUpdates(make_user(4242, "Ada"))
    telegram.received(ada.text("first"))
    telegram.received(ada.edit("first, corrected"))
    assert [m.text for m in telegram.user_messages(4242)] == ["first, corrected"]


# -- reactions -------------------------------------------------------------------------------


async def test_reactions_come_from_telegrams_list_only(
    bot: Bot, telegram: LoopbackTelegram
) -> None:
    update = operator().text("Thanks", reply_to=None)
    telegram.received(update)
    message_id = update["message"]["message_id"]
    for allowed in ("👍", "👌", "🫡", "✍"):
        assert await bot.set_message_reaction(OPERATORS, message_id, allowed)
        assert telegram.reactions_of(OPERATORS, message_id) == [allowed]
    for refused in ("✅", "✔", "✔️", "ok"):
        with pytest.raises(BadRequest, match="Reaction_invalid"):
            await bot.set_message_reaction(OPERATORS, message_id, refused)
    assert telegram.reactions_of(OPERATORS, message_id) == ["✍"]
    with pytest.raises(BadRequest, match="Reactions_too_many"):
        await bot.set_message_reaction(
            OPERATORS, message_id, [ReactionTypeEmoji("👍"), ReactionTypeEmoji("👌")]
        )
    with pytest.raises(BadRequest, match="Message to react not found"):
        await bot.set_message_reaction(OPERATORS, 999_999, "👍")
    with pytest.raises(BadRequest, match="Message to react not found"):
        await bot.set_message_reaction(PLAIN_GROUP, message_id, "👍")
    assert await bot.set_message_reaction(OPERATORS, message_id, [])
    assert telegram.reactions_of(OPERATORS, message_id) == []


async def test_the_bot_may_react_to_its_own_messages(bot: Bot, telegram: LoopbackTelegram) -> None:
    post = await bot.send_message(OPERATORS, "New complaint 100001")
    await bot.set_message_reaction(OPERATORS, post.message_id, "👌")
    assert telegram.reactions_of(OPERATORS, post.message_id) == ["👌"]


# -- blocked users ---------------------------------------------------------------------------


async def test_a_user_who_blocked_the_bot_refuses_every_send(
    bot: Bot, telegram: LoopbackTelegram
) -> None:
    sent = await bot.send_message(4242, "Your complaint 100001")
    telegram.block(4242)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(4242, "Operators answered")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.edit_message_text("changed", chat_id=4242, message_id=sent.message_id)
    await bot.send_message(4343, "someone else")  # others are not affected
    telegram.unblock(4242)
    await bot.send_message(4242, "Welcome back")


# -- update builders -------------------------------------------------------------------------


def parsed(update: dict[str, Any], bot: Bot) -> Message:
    message = Update.de_json({"update_id": 1, **update}, bot).effective_message
    assert message is not None
    return message


async def test_customer_replies_carry_the_whole_replied_message(
    bot: Bot, telegram: LoopbackTelegram
) -> None:
    await bot.send_message(4242, "Re: complaint 100001\nPlease send a photo")
    [question] = telegram.chat_messages(4242)
    ada = CustomerUpdates(make_user(4242, "Ada"))
    message = parsed(ada.text("Here it is", reply_to=question), bot)
    assert message.reply_to_message is not None
    assert message.reply_to_message.message_id == question.message_id
    assert message.reply_to_message.from_user is not None
    assert message.reply_to_message.from_user.id == BOT_ID
    assert message.reply_to_message.text == question.text
    photo = telegram.add_file(b"jpeg", "photo")
    with_file = parsed(ada.file(photo, caption="the base", reply_to=question.message_id), bot)
    assert with_file.reply_to_message is not None
    assert with_file.reply_to_message.message_id == question.message_id
    assert with_file.photo and with_file.caption == "the base"


async def test_operator_updates_are_group_messages_with_commands_and_topics(
    bot: Bot, telegram: LoopbackTelegram
) -> None:
    olga = operator()
    topic = await bot.create_forum_topic(OPERATORS, "Complaint 100001")
    command = parsed(olga.text("/reply 100042 Please send a photo"), bot)
    assert command.chat.type == "supergroup" and command.chat.is_forum
    assert command.from_user is not None and command.from_user.first_name == "Olga"
    assert command.parse_entities(["bot_command"]) == {
        command.entities[0]: "/reply",
    }
    mentioned = parsed(olga.command("reply", 100042, "Thanks", mention=True), bot)
    assert mentioned.text == f"/reply@{BOT_USERNAME} 100042 Thanks"
    assert mentioned.entities[0].length == len(f"/reply@{BOT_USERNAME}")
    in_topic = parsed(olga.text("On it", thread_id=topic), bot)
    assert in_topic.is_topic_message and in_topic.message_thread_id == topic.message_thread_id
    assert in_topic.reply_to_message is not None
    assert in_topic.reply_to_message.forum_topic_created is not None
    assert in_topic.reply_to_message.forum_topic_created.name == "Complaint 100001"
    post = await bot.send_message(OPERATORS, "New complaint 100001")
    reply = parsed(
        olga.text("Could you send a photo?", reply_to=telegram.chat_messages(OPERATORS)[-1]), bot
    )
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == post.message_id
    assert not reply.is_topic_message
    photo = telegram.add_file(b"jpeg", "photo")
    sent_file = parsed(olga.file(photo, "photo", caption="Like this?", thread_id=topic), bot)
    assert sent_file.photo and sent_file.message_thread_id == topic.message_thread_id


# -- over HTTP -------------------------------------------------------------------------------


async def test_the_http_server_refuses_the_same(telegram: LoopbackTelegram) -> None:
    server = LoopbackBotApiServer(telegram)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"{server.base_url}{TOKEN}/") as client:
            answer = await client.post(
                "createForumTopic", data={"chat_id": str(OPERATORS), "name": "Complaint 100001"}
            )
            thread = answer.json()["result"]["message_thread_id"]
            sent = await client.post(
                "sendMessage",
                data={"chat_id": str(OPERATORS), "text": "hi", "message_thread_id": str(thread)},
            )
            assert sent.json()["result"]["message_thread_id"] == thread
            lost = await client.post(
                "sendMessage",
                data={
                    "chat_id": str(OPERATORS),
                    "text": "hi",
                    "reply_parameters": '{"message_id": 987654}',
                },
            )
            assert lost.status_code == 400
            assert lost.json()["description"] == "Bad Request: message to be replied not found"
            reaction = await client.post(
                "setMessageReaction",
                json={
                    "chat_id": OPERATORS,
                    "message_id": sent.json()["result"]["message_id"],
                    "reaction": [{"type": "emoji", "emoji": "✅"}],
                },
            )
            assert reaction.json()["description"] == "Bad Request: REACTION_INVALID"
    finally:
        await server.stop()


def test_errors_are_telegrams_words(telegram: LoopbackTelegram) -> None:
    with pytest.raises(BotApiError) as refused:
        telegram.call("createForumTopic", {"chat_id": OPERATORS, "name": ""})
    assert (refused.value.code, refused.value.description) == (
        400,
        "Bad Request: TOPIC_NAME_INVALID",
    )
    telegram.block(4242)
    with pytest.raises(BotApiError) as blocked:
        telegram.call("sendMessage", {"chat_id": 4242, "text": "hi"})
    assert (blocked.value.code, blocked.value.description) == (
        403,
        "Forbidden: bot was blocked by the user",
    )
