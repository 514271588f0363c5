"""This module contains the question asked at each step, with its keyboard."""

from __future__ import annotations

from collections.abc import Mapping

from bot.conversation import render
from bot.conversation.draft import PROBLEM_MIN_LENGTH, Draft
from bot.conversation.keyboards import categories_keyboard, confirm_keyboard, edit_fields_keyboard
from bot.conversation.render import Reply
from bot.conversation.states import Step
from bot.i18n import Messages


def question(t: Messages, draft: Draft, categories: Mapping[str, str]) -> Reply:
    """What the customer is asked at the draft's current step."""
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
        case Step.CONFIRM:
            text = render.summary(t, draft, categories) + "\n\n" + t("confirm.question")
            return Reply(text, confirm_keyboard(t, draft.token))
        case Step.CHOOSE_EDIT:
            text = render.summary(t, draft, categories) + "\n\n" + t("edit.ask")
            return Reply(text, edit_fields_keyboard(t, draft.token))


def with_notice(notice: str, reply: Reply) -> Reply:
    """The question again, after a short notice of what went wrong."""
    return Reply(f"{notice}\n\n{reply.text}", reply.keyboard)
