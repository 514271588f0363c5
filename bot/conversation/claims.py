"""This module contains the steps of what is claimed: ITEMS, AMOUNT and REFUND ACCOUNT.

Their questions, the typed answers taken into the draft (or the notice why not), [Skip], and
the lines of the summary. The account is shown masked and never logged.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal

from bot.claimed import (
    ITEM_LABEL_MAX_LENGTH,
    MAX_ITEMS,
    ClaimError,
    parse_account,
    parse_amount,
    parse_items,
)
from bot.complaint import ClaimedAmount, ClaimedItem, item_lines
from bot.config import Settings
from bot.conversation.route import applies, may_skip
from bot.draft import Draft
from bot.i18n import Messages
from bot.messages.keyboards import items_keyboard, skip_keyboard
from bot.messages.render import Reply
from bot.steps import Step

CLAIM_STEPS = frozenset({Step.ITEMS, Step.AMOUNT, Step.REFUND_ACCOUNT})
EXAMPLE_AMOUNT = Decimal("1500.50")
# An offered item's button shows this much of its label (Telegram shows about as much).
BUTTON_LABEL_LIMIT = 48


def claim_question(t: Messages, draft: Draft, settings: Settings) -> Reply:
    """The question of a claim step, with [Skip] when it is optional."""
    optional = may_skip(draft.step, settings)
    if draft.step is Step.ITEMS and draft.offered:
        return _pick_question(t, draft, optional=optional)
    match draft.step:
        case Step.ITEMS:
            text = t("items.ask", maximum=MAX_ITEMS)
        case Step.AMOUNT:
            text = t("amount.ask", currency=settings.claim_currency or "", example=example(t))
        case _:
            text = t("account.ask")
    if optional:
        text = f"{text}\n\n{t('claim.or_skip')}"
    return Reply(text, skip_keyboard(t, draft.token) if optional else None)


def take_claim(t: Messages, draft: Draft, text: str, settings: Settings) -> str | None:
    """Takes a typed answer of a claim step into the draft; the notice when it cannot be."""
    if may_skip(draft.step, settings) and text.strip().casefold() == t("button.skip").casefold():
        skip(draft)
        return None
    try:
        match draft.step:
            case Step.ITEMS:
                draft.items = _with_offered_ids(parse_items(text), draft.offered)
                draft.picked = []
            case Step.AMOUNT:
                currency = settings.claim_currency or ""
                value = parse_amount(text, language=t.language, currency=currency)
                draft.amount = str(value)
            case _:
                account = parse_account(text, default_country=settings.refund_country)
                draft.refund_account = account.iban
    except ClaimError as err:
        return _refusal(t, draft.step, err, settings)
    return None


def _pick_question(t: Messages, draft: Draft, *, optional: bool) -> Reply:
    """The ITEMS question of a shop's link: its items as buttons, typing still possible."""
    text = t("items.ask_pick", order_id=draft.order_id, example=draft.offered[0].label)
    if optional:
        text = f"{text}\n\n{t('claim.or_skip')}"
    labels = item_lines(draft.offered, label_limit=BUTTON_LABEL_LIMIT)
    return Reply(text, items_keyboard(t, draft.token, labels, draft.picked, optional=optional))


def toggle(draft: Draft, index: int) -> None:
    """A press on an offered item: picked, or unpicked when it was."""
    picked = set(draft.picked) ^ {index}
    draft.picked = sorted(picked)


def take_picked(draft: Draft) -> None:
    """[Done]: the picked items, with their order item ids and prices, are the answer."""
    draft.items = [draft.offered[index] for index in draft.picked]


def _with_offered_ids(items: list[ClaimedItem], offered: list[ClaimedItem]) -> list[ClaimedItem]:
    """Typed items named exactly as one of the link's get its id and price (the quantity
    stays as typed)."""
    by_label = {item.label.casefold(): item for item in offered}
    matched = []
    for item in items:
        known = by_label.get(item.label.casefold())
        if known is not None:
            item = item.model_copy(update={"orderItemId": known.orderItemId, "price": known.price})
        matched.append(item)
    return matched


def skip(draft: Draft) -> None:
    """[Skip]: the step's answer is none (a value given before is dropped)."""
    match draft.step:
        case Step.ITEMS:
            draft.items, draft.picked = [], []
        case Step.AMOUNT:
            draft.amount = ""
        case Step.REFUND_ACCOUNT:
            draft.refund_account = ""


def _refusal(t: Messages, step: Step, err: ClaimError, settings: Settings) -> str:
    prefix = {Step.ITEMS: "items", Step.AMOUNT: "amount"}.get(step, "account")
    values: dict[str, object] = {**err.values}
    if step is Step.AMOUNT:
        values.update(currency=settings.claim_currency or "", example=example(t))
    if err.reason == "label_too_long":
        values.setdefault("maximum", ITEM_LABEL_MAX_LENGTH)
    return t(f"{prefix}.{err.reason}", **values)


def example(t: Messages) -> str:
    """An amount as the customer's language writes it ("1 500,50", "1,500.50")."""
    return format_decimal(EXAMPLE_AMOUNT, format="#,##0.00", locale=t.language)


def draft_claim(draft: Draft, settings: Settings) -> tuple[ClaimedAmount | None, str]:
    """The draft's amount (with CLAIM_CURRENCY) and the account, if its solution asks for one."""
    amount = None
    if draft.amount and settings.claim_currency:
        amount = ClaimedAmount(value=float(draft.amount), currency=settings.claim_currency)
    account = draft.refund_account if applies(Step.REFUND_ACCOUNT, draft, settings) else ""
    return amount, account
