"""Customers rate a finished complaint with 1–5 stars, may add a comment, and operators see it."""

from __future__ import annotations

import pytest

from bot.__main__ import _parser
from bot.backends.base import ComplaintStatus, StatusCode
from bot.cli.desk import set_status, show
from bot.cli.ratings import rating_summary
from bot.messages.callbacks import MAX_CALLBACK_BYTES, Action, decode, encode
from bot.storage.ratings import Rating, RatingStore
from tests.conftest import StartBot
from tests.helpers.backends import ScriptedBackend
from tests.helpers.bot_api import ApiCall
from tests.helpers.driver import BotHarness, Customer

pytestmark = pytest.mark.both_engines

OPERATORS = -1009876543210
STARS = ["1 ★", "2 ★", "3 ★", "4 ★", "5 ★"]
HOUR = 3600.0


def operator_posts(bot: BotHarness) -> list[ApiCall]:
    return [c for c in bot.api.calls_to("sendMessage") if c.chat_id == OPERATORS]


async def ledger_id(bot: BotHarness, customer: Customer) -> int:
    (entry,) = await bot.built.services.ledger.for_customer(customer.id, limit=1)
    return entry.id


async def rating_of(bot: BotHarness, complaint_id: int) -> Rating | None:
    return await RatingStore(bot.built.services.database).get(complaint_id)


async def finished_complaint(bot: BotHarness, status: str = "resolved") -> Customer:
    """Ada files a complaint on the desk, and an operator sets it to `status`."""
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    assert await set_status(bot.settings, "100001", status, "Refund sent.") == 0
    await bot.settle()  # the running bot sends what the desk CLI owes
    return ada


async def test_a_final_status_offers_stars_and_a_press_of_four_is_stored_and_posted(
    harness_factory: StartBot, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await harness_factory(operator_chat_id=OPERATORS)
    ada = await finished_complaint(bot)
    notice = ada.messages()[-1]
    assert "resolved" in notice.text and "How did we do?" in notice.text
    assert notice.buttons == [*STARS, "Check status", "New complaint"]
    assert all(len(notice.callback_data(s).encode()) <= MAX_CALLBACK_BYTES for s in STARS)

    turn = await ada.press("4 ★")
    assert turn.toast == "Thank you for your rating!"
    assert "Anything you would like to add?" in turn.text
    assert turn.buttons == ["Skip"]
    rating = await rating_of(bot, await ledger_id(bot, ada))
    assert rating is not None and rating.stars == 4 and rating.user_id == ada.id

    await bot.settle()
    post = operator_posts(bot)[-1].text
    assert "Complaint 100001 rated 4/5" in post and "★★★★☆" in post
    assert "Order: 748596" in post and f"tg://user?id={ada.id}" in post

    capsys.readouterr()
    assert await rating_summary(bot.settings, 30, now=bot.clock()) == 0
    out = capsys.readouterr().out
    assert "Ratings of the last 30 days" in out
    lines = {line.split("  ")[0].strip(): line.split() for line in out.splitlines()[2:]}
    assert lines["all"][-3:] == ["1", "4.00", "100%"]
    assert lines["backend local"][-3:] == ["1", "4.00", "100%"]
    assert lines["category product-related"][-3:] == ["1", "4.00", "100%"]


async def test_the_summary_groups_by_backend_and_category_and_counts_the_days(
    bot: BotHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    database = bot.built.services.database
    store = RatingStore(database)
    customers = [bot.customer(name) for name in ("Ada", "Bob", "Cy")]
    for customer, category in zip(customers, ("Delivery", "Delivery", "Payment"), strict=True):
        await customer.file_complaint(category=category)
        await bot.settle()
    ids = [await ledger_id(bot, c) for c in customers]
    now = bot.clock()
    for complaint_id, customer, stars, age in zip(
        ids, customers, (5, 2, 4), (1, 2, 40), strict=True
    ):
        rated_at = now - age * 86400
        await database.batch(
            store.first(complaint_id, customer.id, stars, now=rated_at, comment_until=0)
        )
    capsys.readouterr()
    await rating_summary(bot.settings, 30, now=now)
    out = capsys.readouterr().out
    assert "all                                   2     3.50        50%" in out
    assert "category delivery                     2     3.50        50%" in out
    assert "payment" not in out  # rated 40 days ago
    await rating_summary(bot.settings, 60, now=now)
    out = capsys.readouterr().out
    assert "all                                   3     3.67        67%" in out
    assert "category payment                      1     4.00       100%" in out
    await rating_summary(bot.settings, 30, now=now + 100 * 86400)
    assert "No ratings in the last 30 days" in capsys.readouterr().out


async def test_a_second_press_within_a_day_changes_the_rating(harness_factory: StartBot) -> None:
    bot = await harness_factory(operator_chat_id=OPERATORS)
    ada = await finished_complaint(bot)
    await ada.press("4 ★")
    bot.clock.advance(2 * HOUR)
    turn = await ada.press("2 ★")
    assert turn.toast == "Your rating is now 2 ★."
    assert "Your rating of complaint 100001 is now 2 ★" in turn.text
    rating = await rating_of(bot, await ledger_id(bot, ada))
    assert rating is not None and rating.stars == 2
    await bot.settle()
    assert "Rating of complaint 100001 changed to 2/5" in operator_posts(bot)[-1].text


async def test_a_press_after_a_day_is_refused_politely(bot: BotHarness) -> None:
    ada = await finished_complaint(bot, "closed")
    await ada.press("4 ★")
    bot.clock.advance(25 * HOUR)
    turn = await ada.press("1 ★")
    assert turn.toast == "You have already rated this complaint. Thank you!"
    assert turn.silent
    rating = await rating_of(bot, await ledger_id(bot, ada))
    assert rating is not None and rating.stars == 4


async def test_forged_and_foreign_presses_are_refused(bot: BotHarness) -> None:
    ada = await finished_complaint(bot, "rejected")
    complaint_id = await ledger_id(bot, ada)
    bob = bot.customer("Bob")
    await bob.send("/start")
    for data in (
        f"rt:{complaint_id}:5",  # Ada's complaint, pressed by Bob
        f"rn:{complaint_id}",
        f"rt:{complaint_id}:9",
        f"rt:{complaint_id}:0",
        "rt:abc:5",
        f"rt:{complaint_id}",
        "rt:99999:5",
    ):
        turn = await bob.press_data(data)
        assert turn.toast == "This button is no longer active.", data
    assert await rating_of(bot, complaint_id) is None
    # Ada's own complaint before it is finished cannot be rated either.
    cy = bot.customer("Cy")
    await cy.file_complaint()
    await bot.settle()
    turn = await cy.press_data(f"rt:{await ledger_id(bot, cy)}:5")
    assert turn.toast == "This button is no longer active."
    assert await rating_of(bot, await ledger_id(bot, cy)) is None


async def test_the_next_text_is_the_comment_and_reaches_the_operators(
    harness_factory: StartBot, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await harness_factory(operator_chat_id=OPERATORS)
    ada = await finished_complaint(bot)
    await ada.press("5 ★")
    turn = await ada.send("Quick & <friendly> help, thanks!")
    assert turn.text == "Thank you! We have passed your comment on to our team."
    rating = await rating_of(bot, await ledger_id(bot, ada))
    assert rating is not None and rating.comment == "Quick & <friendly> help, thanks!"
    await bot.settle()
    post = operator_posts(bot)[-1].text
    assert "Comment on the rating of complaint 100001" in post and "5/5" in post
    assert "Quick &amp; &lt;friendly&gt; help, thanks!" in post
    # The comment is taken once: the next text is an ordinary message.
    assert "To raise a complaint" in (await ada.send("Hello again")).text
    assert "Skip" in ada.last_message_with("Skip").buttons
    assert (await ada.press("Skip")).toast == "This button is no longer active."
    capsys.readouterr()
    assert await show(bot.settings, "100001") == 0
    assert "  rating:   5 ★ Quick & <friendly> help, thanks!" in capsys.readouterr().out


async def test_skip_ends_the_wait_for_a_comment(bot: BotHarness) -> None:
    ada = await finished_complaint(bot)
    await ada.press("3 ★")
    turn = await ada.press("Skip")
    assert turn.text == "Thank you for your rating!"
    assert turn.replies[-1].method == "editMessageText"
    assert "To raise a complaint" in (await ada.send("Hello")).text
    rating = await rating_of(bot, await ledger_id(bot, ada))
    assert rating is not None and rating.stars == 3 and rating.comment == ""


async def test_the_wait_for_a_comment_ends_after_the_conversation_timeout(bot: BotHarness) -> None:
    ada = await finished_complaint(bot)
    await ada.press("5 ★")
    bot.clock.advance(bot.settings.conversation_timeout_seconds + 1)
    assert "To raise a complaint" in (await ada.send("Late words")).text
    rating = await rating_of(bot, await ledger_id(bot, ada))
    assert rating is not None and rating.comment == ""


async def test_an_open_draft_takes_the_text_and_a_restart_keeps_the_wait(bot: BotHarness) -> None:
    ada = await finished_complaint(bot)
    await ada.press("5 ★")
    await ada.send("/complaint")
    assert "problem" in (await ada.send("748597")).text  # the draft's answer, not a comment
    await ada.send("/cancel")
    await bot.restart()
    turn = await ada.send("All good now.")
    assert turn.text == "Thank you! We have passed your comment on to our team."
    rating = await rating_of(bot, await ledger_id(bot, ada))
    assert rating is not None and rating.comment == "All good now."


async def test_cancel_ends_the_wait_for_a_comment(bot: BotHarness) -> None:
    ada = await finished_complaint(bot)
    await ada.press("4 ★")
    turn = await ada.send("/cancel")
    assert turn.text == "Thank you for your rating!"
    turn = await ada.send("Hello?")
    assert "Thank you! We have passed" not in turn.text
    rating = await rating_of(bot, await ledger_id(bot, ada))
    assert rating is not None and rating.comment == ""


async def test_a_complaint_filed_after_the_press_ends_the_wait(bot: BotHarness) -> None:
    ada = await finished_complaint(bot)
    await ada.press("3 ★")
    rated = await ledger_id(bot, ada)
    bot.clock.advance(1)
    await ada.file_complaint(order_id="ORD-2", problem="The toaster burns everything.")
    await bot.settle()
    turn = await ada.send("By the way, the box was wet.")
    assert "Thank you! We have passed" not in turn.text
    rating = await rating_of(bot, rated)
    assert rating is not None and rating.comment == ""


async def test_a_remote_backend_final_status_offers_stars(harness_factory: StartBot) -> None:
    backend = ScriptedBackend(name="middleware")
    bot = await harness_factory(backend)
    ada = bot.customer()
    await ada.file_complaint()
    await bot.settle()
    backend.statuses["500001"] = ComplaintStatus(code=StatusCode.IN_PROGRESS, text="open")
    bot.clock.advance(31 * 60)
    await bot.built.poller.poll()
    await bot.settle()
    assert ada.messages()[-1].buttons == ["Check status", "New complaint"]  # not final yet
    backend.statuses["500001"] = ComplaintStatus(code=StatusCode.CLOSED, text="closed")
    bot.clock.advance(31 * 60)
    await bot.built.poller.poll()
    await bot.settle()
    assert ada.messages()[-1].buttons == [*STARS, "Check status", "New complaint"]
    assert (await ada.press("1 ★")).toast == "Thank you for your rating!"


async def test_czech_customers_are_asked_in_czech(bot: BotHarness) -> None:
    ada = bot.customer(language_code="cs")
    await ada.send("/complaint")
    await ada.send("748596")
    await ada.send("Mixér dorazil rozbitý.")
    await ada.press("Vada zboží")
    await ada.press("Odeslat")
    await bot.settle()
    await set_status(bot.settings, "100001", "resolved")
    await bot.settle()
    assert "Jak jsme si vedli?" in ada.messages()[-1].text
    turn = await ada.press("5 ★")
    assert turn.toast == "Děkujeme za vaše hodnocení!"
    assert turn.buttons == ["Přeskočit"]


def test_rating_callbacks_fit_and_decode() -> None:
    longest = encode(Action.RATE, "9" * 18, "5")
    assert len(longest.encode()) <= MAX_CALLBACK_BYTES
    press = decode(longest)
    assert press is not None and press.action is Action.RATE and press.argument == "5"
    assert decode("rt:12:6") is None and decode("rt:12") is None and decode("rn:12:1") is None
    assert decode("rt:" + "9" * 19 + ":1") is None


def test_the_ratings_flag_parses() -> None:
    args = _parser().parse_args(["complaints", "--ratings", "--days", "7"])
    assert args.ratings and args.days == 7
    assert _parser().parse_args(["complaints", "--ratings"]).days == 30


async def test_a_press_while_a_draft_is_open_asks_no_comment_and_the_draft_goes_on(
    bot: BotHarness,
) -> None:
    """The customer's next text could not be told from the draft's answer: no comment is asked
    for, the rating is kept, and the draft's question follows."""
    ada = await finished_complaint(bot)
    await ada.send("/complaint")
    turn = await ada.press("5 ★")
    assert turn.toast == "Thank you for your rating!"
    assert "Let us go on with the complaint you are writing" in turn.text
    assert "order ID" in turn.text and "Skip" not in turn.buttons
    assert "problem" in (await ada.send("748597")).text  # the draft's answer, as asked
    await ada.send("/cancel")
    assert "Thank you! We have passed" not in (await ada.send("Hello")).text
    rating = await rating_of(bot, await ledger_id(bot, ada))
    assert rating is not None and rating.stars == 5 and rating.comment == ""
