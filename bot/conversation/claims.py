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
from bot.complaint import ClaimedAmount
from bot.config import Settings
from bot.conversation.draft import Draft
from bot.conversation.keyboards import skip_keyboard
from bot.conversation.render import Reply
from bot.conversation.route import applies, may_skip
from bot.conversation.states import Step
from bot.i18n import Messages

CLAIM_STEPS = frozenset({Step.ITEMS, Step.AMOUNT, Step.REFUND_ACCOUNT})
EXAMPLE_AMOUNT = Decimal("1500.50")


def claim_question(t: Messages, draft: Draft, settings: Settings) -> Reply:
    """The question of a claim step, with [Skip] when it is optional."""
    optional = may_skip(draft.step, settings)
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
                draft.items = parse_items(text)
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


def skip(draft: Draft) -> None:
    """[Skip]: the step's answer is none (a value given before is dropped)."""
    match draft.step:
        case Step.ITEMS:
            draft.items = []
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
