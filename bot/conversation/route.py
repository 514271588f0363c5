"""This module contains the route through the steps: which come after which, by the settings."""

from __future__ import annotations

from bot.config import Settings
from bot.draft import Draft
from bot.steps import Step

ROUTE = (
    Step.ORDER_ID,
    Step.PROBLEM,
    Step.CATEGORY,
    Step.PHOTOS,
    Step.RESOLUTION,
    Step.ITEMS,
    Step.AMOUNT,
    Step.REFUND_ACCOUNT,
    Step.CONTACT,
    Step.CONFIRM,
)


def applies(step: Step, draft: Draft, settings: Settings) -> bool:
    """Whether the shop asks this step of this draft."""
    match step:
        case Step.PHOTOS:
            return draft.category in settings.photo_category_codes
        case Step.RESOLUTION:
            return bool(settings.complaint_resolutions)
        case Step.ITEMS:
            return settings.ask_items != "off"
        case Step.AMOUNT:
            return settings.ask_amount != "off"
        case Step.REFUND_ACCOUNT:
            return (
                settings.ask_refund_account != "off"
                and draft.resolution in settings.refund_account_resolutions
            )
        case Step.CONTACT:
            return settings.ask_contact != "off"
    return True


def may_skip(step: Step, settings: Settings) -> bool:
    """Whether a step of what is claimed is optional ([Skip])."""
    asking = {
        Step.ITEMS: settings.ask_items,
        Step.AMOUNT: settings.ask_amount,
        Step.REFUND_ACCOUNT: settings.ask_refund_account,
    }
    return asking.get(step) == "optional"


def advance_after_resolution(draft: Draft, settings: Settings) -> None:
    """Moves on from a chosen solution: an account no solution asks for any more is dropped,
    and one changed (while editing) to a solution that asks for an account and has none asks
    for it before the summary."""
    if not applies(Step.REFUND_ACCOUNT, draft, settings):
        draft.refund_account = ""
    elif draft.editing and not draft.refund_account:
        draft.step = Step.REFUND_ACCOUNT  # editing stays on: the summary follows
        return
    draft.advance(after(Step.RESOLUTION, draft, settings))


def after(step: Step, draft: Draft, settings: Settings) -> Step:
    """The step that follows `step` for this draft."""
    for following in ROUTE[ROUTE.index(step) + 1 :]:
        if applies(following, draft, settings):
            return following
    return Step.CONFIRM


def editable(draft: Draft, settings: Settings) -> list[Step]:
    """The fields the customer may change from the summary."""
    fields = [Step.ORDER_ID, Step.PROBLEM, Step.CATEGORY]
    if draft.attachments or applies(Step.PHOTOS, draft, settings):
        fields.append(Step.PHOTOS)
    for step in (Step.RESOLUTION, Step.ITEMS, Step.AMOUNT, Step.REFUND_ACCOUNT, Step.CONTACT):
        if applies(step, draft, settings):
            fields.append(step)
    return fields
