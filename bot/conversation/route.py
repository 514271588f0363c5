"""This module contains the route through the steps: which come after which, by the settings."""

from __future__ import annotations

from bot.config import Settings
from bot.conversation.draft import Draft
from bot.conversation.states import Step

ROUTE = (
    Step.ORDER_ID,
    Step.PROBLEM,
    Step.CATEGORY,
    Step.PHOTOS,
    Step.RESOLUTION,
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
        case Step.CONTACT:
            return settings.ask_contact != "off"
    return True


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
    for step in (Step.RESOLUTION, Step.CONTACT):
        if applies(step, draft, settings):
            fields.append(step)
    return fields
