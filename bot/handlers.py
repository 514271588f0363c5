"""This module contains the registration of every handler on the Application: the customer
conversation's and the operator chat's, in one room above both (neither registers the other's)."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.conversation.attachments import AttachmentAnswers
from bot.conversation.commands import CustomerCommands
from bot.conversation.data_rights import DataRights
from bot.conversation.flow import ComplaintFlow
from bot.conversation.follow_ups import CustomerFollowUps
from bot.conversation.preferences import PreferenceCommands
from bot.conversation.ratings import COMMENT_GROUP, RatingAnswers
from bot.messages.callbacks import Action
from bot.operators.desk_buttons import OperatorDeskButtons
from bot.operators.replies import OperatorReplies
from bot.services import BotApplication

# The commands customers see in Telegram's menu, with their catalogue keys.
MENU_COMMANDS = {
    "complaint": "menu.complaint",
    "mycomplaints": "menu.mycomplaints",
    "status": "menu.status",
    "cancel": "menu.cancel",
    "notifications": "menu.notifications",
    "language": "menu.language",
    "mydata": "menu.mydata",
    "forgetme": "menu.forgetme",
    "help": "menu.help",
}


# Handlers that look at a message before the complaint conversation does: a customer's
# follow-up first (they pressed [Write about this complaint]), then a rating's comment
# (COMMENT_GROUP). A group runs at most one handler, so each has its own.
BEFORE_THE_CONVERSATION = COMMENT_GROUP - 1


@dataclass(frozen=True, slots=True)
class Conversing:
    """The handlers of customers and operators talking about a complaint (with an operator
    chat only)."""

    customers: CustomerFollowUps
    operators: OperatorReplies
    operator_chat_id: int


def register_handlers(
    application: BotApplication,
    commands: CustomerCommands,
    flow: ComplaintFlow,
    preferences: PreferenceCommands,
    operator_desk: OperatorDeskButtons | None = None,
    conversing: Conversing | None = None,
    ratings: RatingAnswers | None = None,
    data_rights: DataRights | None = None,
) -> None:
    """Adds the handlers, most specific first: the operator chat, groups, commands, buttons,
    text, files and contacts, the rest."""
    private = filters.ChatType.PRIVATE
    files = filters.PHOTO | filters.VIDEO | filters.Document.ALL
    if conversing is not None:
        _register_conversing(application, conversing, files)
    # Commands are read from new messages only: editing an old "/cancel" must not cancel again.
    command_filter = private & filters.UpdateType.MESSAGE
    # One answer per command in a group: editing the command does not answer again.
    application.add_handler(
        MessageHandler(
            filters.ChatType.GROUPS & filters.UpdateType.MESSAGE & filters.COMMAND,
            commands.group_chat,
        )
    )
    for name, callback in (
        ("start", commands.start),
        ("complaint", flow.begin),
        ("cancel", flow.cancel),
        ("help", commands.help),
        ("mycomplaints", commands.my_complaints),
        ("status", commands.status),
        ("notifications", preferences.toggle_notifications),
        ("language", preferences.choose_language),
    ):
        application.add_handler(CommandHandler(name, callback, filters=command_filter))
    application.add_handler(
        CallbackQueryHandler(preferences.on_language_button, pattern=f"^{Action.LANGUAGE}:")
    )
    if data_rights is not None:
        application.add_handler(
            CommandHandler("mydata", data_rights.my_data, filters=command_filter)
        )
        application.add_handler(
            CommandHandler("forgetme", data_rights.forget_me, filters=command_filter)
        )
        application.add_handler(
            CallbackQueryHandler(
                data_rights.on_press, pattern=f"^({Action.FORGET}|{Action.KEEP})(:|$)"
            )
        )
    if operator_desk is not None:
        application.add_handler(
            CallbackQueryHandler(operator_desk.on_press, pattern=f"^{Action.DESK}:")
        )
    if ratings is not None:
        application.add_handler(
            CallbackQueryHandler(
                ratings.on_press, pattern=f"^({Action.RATE}|{Action.RATING_SKIP}):"
            )
        )
        # The comment on a rating is checked before the draft's text handler (it stops the
        # update there when it took the text, and lets it through otherwise).
        application.add_handler(
            MessageHandler(
                private & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND,
                ratings.on_text,
            ),
            group=COMMENT_GROUP,
        )
        application.add_handler(
            CommandHandler("cancel", ratings.on_cancel, filters=command_filter),
            group=COMMENT_GROUP,
        )
    application.add_handler(CallbackQueryHandler(commands.on_button))
    application.add_handler(
        MessageHandler(
            private & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, flow.on_text
        )
    )
    attachments = AttachmentAnswers(flow)
    application.add_handler(
        MessageHandler(private & filters.UpdateType.MESSAGE & files, attachments.on_file)
    )
    application.add_handler(
        MessageHandler(
            private & filters.UpdateType.MESSAGE & filters.CONTACT, attachments.on_contact
        )
    )
    application.add_handler(
        MessageHandler(
            private & (filters.UpdateType.MESSAGE | filters.UpdateType.EDITED_MESSAGE),
            flow.on_unexpected,
        )
    )


def _register_conversing(
    application: BotApplication, conversing: Conversing, files: filters.BaseFilter
) -> None:
    """Operators' answers in their chat (before any other group handler); a customer's
    follow-up before the complaint conversation sees the message."""
    in_operator_chat = filters.Chat(conversing.operator_chat_id) & filters.UpdateType.MESSAGE
    operators = conversing.operators
    application.add_handler(
        CommandHandler("reply", operators.on_reply_command, filters=in_operator_chat)
    )
    application.add_handler(
        MessageHandler(
            in_operator_chat & filters.REPLY & ~filters.COMMAND & (filters.TEXT | files),
            operators.on_reply,
        )
    )
    private_message = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    customers = conversing.customers
    application.add_handler(
        CommandHandler("cancel", customers.on_cancel, filters=private_message),
        group=BEFORE_THE_CONVERSATION,
    )
    application.add_handler(
        MessageHandler(
            private_message & ~filters.COMMAND & (filters.TEXT | files), customers.on_message
        ),
        group=BEFORE_THE_CONVERSATION,
    )
