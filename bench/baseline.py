"""This module contains the baseline: a plain python-telegram-bot ConversationHandler bot.

The same four steps as ours (order ID, problem, category buttons, confirm Submit), written
the way the PTB examples do: default settings, state in memory (no persistence), one update
at a time. Submit posts the seed-000 request to MIDDLEWARE_BASE_URL inline, when it is set,
and answers "Complaint number: N" with a number of its own.

    TELEGRAM_BOT_TOKEN=… TELEGRAM_API_BASE_URL=… python bench/baseline.py
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import warnings

import httpx
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

ORDER_ID, PROBLEM, CATEGORY, CONFIRM = range(4)
CATEGORIES = {
    "product-related": "Product-related",
    "delivery": "Delivery",
    "payment": "Payment",
    "other": "Other",
}
ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,31}$")
RAISE_PATH = "/api/rest/v1/ecom/integrations/raiseComplaintsAgainstOrder"
NUMBERS = itertools.count(100001)

logger = logging.getLogger("baseline")


async def complaint(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/complaint: asks for the order ID."""
    assert update.message is not None
    await update.message.reply_text("Which order is it about? Please send the order ID.")
    return ORDER_ID


async def order_id(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The order ID: checked, kept, then the problem is asked for."""
    assert update.message is not None
    assert update.message.text is not None
    text = update.message.text.strip()
    if not ORDER_ID_PATTERN.match(text):
        await update.message.reply_text("That does not look like an order ID. Please send it.")
        return ORDER_ID
    context.user_data["order_id"] = text  # type: ignore[index]
    await update.message.reply_text("Thank you. Now please describe the problem.")
    return PROBLEM


async def problem(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The problem: kept, then the category buttons."""
    assert update.message is not None
    assert update.message.text is not None
    text = update.message.text.strip()
    if len(text) < 5:
        await update.message.reply_text("Please describe the problem in a few more words.")
        return PROBLEM
    context.user_data["problem"] = text  # type: ignore[index]
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=code)] for code, label in CATEGORIES.items()]
    )
    await update.message.reply_text("Which category fits best?", reply_markup=keyboard)
    return CATEGORY


async def category(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """A category button: the summary with Submit and Cancel."""
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    await query.answer()
    data = context.user_data
    assert data is not None
    data["category"] = query.data
    summary = (
        f"Please check your complaint\n\nOrder: {data['order_id']}\n"
        f"Category: {CATEGORIES[query.data]}\nProblem: {data['problem']}"
    )
    buttons = [
        InlineKeyboardButton("Submit", callback_data="submit"),
        InlineKeyboardButton("Cancel", callback_data="cancel"),
    ]
    await query.edit_message_text(summary, reply_markup=InlineKeyboardMarkup([buttons]))
    return CONFIRM


async def submit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Submit: raises the complaint with the backend (inline), then shows its number."""
    query = update.callback_query
    assert query is not None
    assert query.from_user is not None
    await query.answer()
    data = context.user_data
    assert data is not None
    try:
        await _raise(context, query.from_user.to_dict(), data)
    except httpx.HTTPError as err:
        logger.warning("The backend failed: %s", err)
        await query.edit_message_text("Sorry, your complaint could not be sent. Try again later.")
        return ConversationHandler.END
    await query.edit_message_text(
        f"Thank you, your complaint is registered. Complaint number: {next(NUMBERS)}"
    )
    data.clear()
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/cancel or the Cancel button."""
    if update.callback_query is not None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("Your complaint was cancelled.")
    elif update.message is not None:
        await update.message.reply_text("Your complaint was cancelled.")
    if context.user_data is not None:
        context.user_data.clear()
    return ConversationHandler.END


async def _raise(
    context: ContextTypes.DEFAULT_TYPE, user: dict[str, object], data: dict[str, str]
) -> None:
    """POSTs the seed-000 envelope when MIDDLEWARE_BASE_URL is set."""
    base_url = os.environ.get("MIDDLEWARE_BASE_URL")
    if not base_url:
        return
    client: httpx.AsyncClient = context.bot_data["http"]
    payload = {
        "conversationRequest": {
            "channel": "TELEGRAM",
            "userInfo": {
                "first_name": user.get("first_name"),
                "last_name": user.get("last_name"),
                "uid": str(user.get("id")),
                "username": user.get("username"),
            },
        },
        "queryInfo": {
            "interestType": "productComplaint",
            "parameters": {
                "params": {
                    "entityInfo": {
                        "orderId": data["order_id"],
                        "problemStatment": data["problem"],
                        "category": data["category"],
                    }
                }
            },
        },
        "languageCode": "en",
    }
    token = os.environ.get("MIDDLEWARE_TOKEN", "")
    response = await client.post(
        base_url.rstrip("/") + RAISE_PATH,
        json=payload,
        headers={"Authorization": f"Bearer {token}"} if token else None,
    )
    response.raise_for_status()


async def _open_http(application: Application) -> None:  # type: ignore[type-arg]
    application.bot_data["http"] = httpx.AsyncClient(timeout=20)


async def _close_http(application: Application) -> None:  # type: ignore[type-arg]
    await application.bot_data["http"].aclose()


def build() -> Application:  # type: ignore[type-arg]
    """The application: one ConversationHandler, PTB's defaults otherwise."""
    application = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ.get("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot"))
        .post_init(_open_http)
        .post_shutdown(_close_http)
        .build()
    )
    text = filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        # per_message=False with CallbackQueryHandlers is what we want (one draft per chat).
        warnings.simplefilter("ignore", PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[CommandHandler("complaint", complaint)],
            states={
                ORDER_ID: [MessageHandler(text, order_id)],
                PROBLEM: [MessageHandler(text, problem)],
                CATEGORY: [
                    CallbackQueryHandler(category, pattern="^(" + "|".join(CATEGORIES) + ")$")
                ],
                CONFIRM: [
                    CallbackQueryHandler(submit, pattern="^submit$"),
                    CallbackQueryHandler(cancel, pattern="^cancel$"),
                ],
            },
            fallbacks=[CommandHandler("cancel", cancel)],
        )
    application.add_handler(conversation)
    return application


def main() -> None:
    """Runs the baseline bot until SIGINT/SIGTERM."""
    logging.basicConfig(level=logging.WARNING)
    build().run_polling()


if __name__ == "__main__":
    main()
