"""This module contains the registration of every handler on the Application."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.conversation.attachments import AttachmentAnswers
from bot.conversation.callbacks import Action
from bot.conversation.commands import CustomerCommands
from bot.conversation.flow import ComplaintFlow
from bot.conversation.preferences import PreferenceCommands
from bot.conversation.ratings import COMMENT_GROUP, RatingAnswers
from bot.operators.desk_buttons import OperatorDeskButtons
from bot.services import BotApplication

# The commands customers see in Telegram's menu, with their catalogue keys.
MENU_COMMANDS = {
    "complaint": "menu.complaint",
    "mycomplaints": "menu.mycomplaints",
    "status": "menu.status",
    "cancel": "menu.cancel",
    "notifications": "menu.notifications",
    "language": "menu.language",
    "help": "menu.help",
}


def register_handlers(
    application: BotApplication,
    commands: CustomerCommands,
    flow: ComplaintFlow,
    preferences: PreferenceCommands,
    operator_desk: OperatorDeskButtons | None = None,
    ratings: RatingAnswers | None = None,
) -> None:
    """Adds the handlers, most specific first: groups, commands, buttons, text, files and
    contacts, the rest."""
    private = filters.ChatType.PRIVATE
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
    application.add_handler(CallbackQueryHandler(commands.on_button))
    application.add_handler(
        MessageHandler(
            private & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, flow.on_text
        )
    )
    attachments = AttachmentAnswers(flow)
    files = filters.PHOTO | filters.VIDEO | filters.Document.ALL
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
