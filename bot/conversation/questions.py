"""This module contains the question asked at each step, with its keyboard."""

from __future__ import annotations

from bot.config import Settings
from bot.conversation.claims import claim_question
from bot.conversation.route import editable
from bot.draft import MAX_ATTACHMENTS, PROBLEM_MIN_LENGTH, Draft
from bot.i18n import Messages
from bot.messages import render
from bot.messages.keyboards import (
    categories_keyboard,
    confirm_keyboard,
    contact_keyboard,
    edit_fields_keyboard,
    photos_keyboard,
    resolutions_keyboard,
)
from bot.messages.render import Reply
from bot.steps import Step


def question(t: Messages, draft: Draft, settings: Settings) -> Reply:
    """What the customer is asked at the draft's current step."""
    categories = settings.complaint_categories
    match draft.step:
        case Step.ORDER_ID:
            if draft.editing:
                return Reply(t("order.ask_edit", order_id=draft.order_id))
            return Reply(t("order.ask"))
        case Step.PROBLEM:
            if draft.editing:
                key = "problem.ask_edit"
            elif draft.from_deep_link:
                key = "problem.ask_linked"  # the customer has not answered anything yet
            else:
                key = "problem.ask"
            return Reply(t(key, minimum=PROBLEM_MIN_LENGTH))
        case Step.CATEGORY:
            # The buttons carry the labels in the customer's language (category.<code> keys).
            labels = {code: render.category_label(t, categories, code) for code in categories}
            return Reply(t("category.ask"), categories_keyboard(t, draft.token, labels))
        case Step.PHOTOS:
            return photos_question(t, draft, settings)
        case Step.RESOLUTION:
            resolutions = settings.complaint_resolutions
            labels = {code: render.resolution_label(t, resolutions, code) for code in resolutions}
            return Reply(t("resolution.ask"), resolutions_keyboard(draft.token, labels))
        case Step.ITEMS | Step.AMOUNT | Step.REFUND_ACCOUNT:
            return claim_question(t, draft, settings)
        case Step.CONTACT:
            optional = settings.ask_contact == "optional"
            text = t("contact.ask_optional" if optional else "contact.ask")
            return Reply(text, contact_keyboard(t, optional=optional))
        case Step.CONFIRM:
            text = render.summary(t, draft, settings) + "\n\n" + t("confirm.question")
            return Reply(text, confirm_keyboard(t, draft.token))
        case Step.CHOOSE_EDIT:
            text = render.summary(t, draft, settings) + "\n\n" + t("edit.ask")
            fields = editable(draft, settings)
            return Reply(text, edit_fields_keyboard(t, draft.token, fields))


def photos_question(t: Messages, draft: Draft, settings: Settings) -> Reply:
    """The PHOTOS step: what to send, how many are attached, and [Skip] or [Done]."""
    required = settings.ask_photos == "required" and not draft.editing
    key = "photos.ask_required" if required else "photos.ask"
    text = t(key, maximum=MAX_ATTACHMENTS)
    if draft.attachments:
        attached = t("photos.attached", count=len(draft.attachments), maximum=MAX_ATTACHMENTS)
        text = f"{text}\n\n{attached}"
    keyboard = photos_keyboard(
        t,
        draft.token,
        has_files=bool(draft.attachments),
        may_skip=not required,
        editing=draft.editing,
    )
    return Reply(text, keyboard)


def with_notice(notice: str, reply: Reply) -> Reply:
    """The question again, after a short notice of what went wrong."""
    return Reply(f"{notice}\n\n{reply.text}", reply.keyboard)
