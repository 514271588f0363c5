"""This module contains the rendering of replies: summaries, result cards, lists and statuses.

Every value that came from a customer or a backend is escaped (by Messages or `escape`), and
every reply is built within Telegram's limits by construction: 4,096 visible characters a
message and 1,024 a caption, counted after the markup as Telegram counts them. Texts are cut
as text, never inside the markup, and a long list is summarised ("…and 74 more") with the
complaint number always kept.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency
from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.backends.base import ComplaintStatus, Receipt, StatusCode
from bot.complaint import (
    ClaimedAmount,
    ClaimedItem,
    ContactInfo,
    EntityInfo,
    contact_line,
    item_lines,
    masked_account,
)
from bot.config import Settings
from bot.draft import Draft
from bot.i18n import Markup, Messages, escape
from bot.storage.ledger import LedgerEntry, LedgerState
from bot.storage.threads import ThreadMessage
from bot.telegram_html import CAPTION_LIMIT, MESSAGE_LIMIT, fit, shorten, visible_length

__all__ = ["CAPTION_LIMIT", "MESSAGE_LIMIT", "Reply", "fit", "shorten"]

# Room left for the fixed parts of a card when a backend's text is added to it.
BACKEND_TEXT_LIMIT = 1500
# An item's label in a summary or card (the backend gets it whole): twenty of them and the
# longest problem still fit one message.
SHOWN_LABEL_LENGTH = 60
PARAGRAPH = "\n\n"


@dataclass(frozen=True, slots=True)
class Reply:
    """A message to send: HTML text, its keyboard, and a photo when it is a picture card."""

    text: str
    keyboard: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None
    photo_url: str = ""
    photo_caption: str = ""


def category_label(t: Messages, categories: Mapping[str, str], code: str) -> str:
    """The category's name in the customer's language, else as configured, else its code."""
    key = f"category.{code}"
    # Only a translation overrides the label configured in COMPLAINT_CATEGORIES.
    return t(key) if t.has_own(key) and t.language != "en" else categories.get(code, code)


def resolution_label(t: Messages, resolutions: Mapping[str, str], code: str) -> str:
    """The solution's name in the customer's language, else as configured, else its code."""
    key = f"resolution.{code}"
    return t(key) if t.has_own(key) and t.language != "en" else resolutions.get(code, code)


def summary(t: Messages, draft: Draft, settings: Settings) -> str:
    """The summary shown before Submit: the answers, and the files, solution and contact."""
    text = t(
        "confirm.summary",
        order_id=draft.order_id,
        category=category_label(t, settings.complaint_categories, draft.category),
        problem=draft.problem,
    )
    contact = contact_line(ContactInfo(phone=draft.phone or None, email=draft.email or None))
    extras = evidence_lines(
        t,
        files=len(draft.attachments),
        resolution=draft.resolution,
        contact=contact,
        resolutions=settings.complaint_resolutions,
    )
    amount = None
    if draft.amount and settings.claim_currency:
        amount = ClaimedAmount(value=float(draft.amount), currency=settings.claim_currency)
    extras += claim_lines(t, draft.items, amount, draft.refund_account)
    return "\n\n".join([text, "\n".join(extras)]) if extras else text


def shown_amount(t: Messages, value: float | str, currency: str) -> str:
    """An amount with its currency, as the customer's language writes it ("1 500,50 Kč")."""
    return format_currency(Decimal(str(value)), currency, locale=t.language)


def claim_lines(
    t: Messages,
    items: list[ClaimedItem] | tuple[ClaimedItem, ...],
    amount: ClaimedAmount | None,
    account: str,
) -> list[str]:
    """The summary's (and the card's) lines of what is claimed: only what was given."""
    lines = []
    if items:
        listed = item_lines(items, label_limit=SHOWN_LABEL_LENGTH)
        lines.append(t("confirm.items", count=len(items)))
        lines.extend(t("confirm.item", item=line) for line in listed)
    if amount is not None:
        lines.append(t("confirm.amount", amount=shown_amount(t, amount.value, amount.currency)))
    if account:
        lines.append(t("confirm.account", account=masked_account(account)))
    return lines


def complaint_evidence(
    t: Messages, entity: EntityInfo, resolutions: Mapping[str, str] | None
) -> list[str]:
    """The evidence lines of a filed complaint (files, solution wanted, contact, and what
    is claimed)."""
    lines = evidence_lines(
        t,
        files=len(entity.attachments or ()),
        resolution=entity.resolution or "",
        contact=contact_line(entity.contact),
        resolutions=resolutions or {},
    )
    return lines + claim_lines(
        t, entity.items or (), entity.claimedAmount, entity.refundAccount or ""
    )


def evidence_lines(
    t: Messages, *, files: int, resolution: str, contact: str, resolutions: Mapping[str, str]
) -> list[str]:
    """The lines for what beyond the problem a complaint carries (only what it has)."""
    lines = []
    if files:
        lines.append(t("confirm.files", count=files))
    if resolution:
        lines.append(
            t("confirm.resolution", resolution=resolution_label(t, resolutions, resolution))
        )
    if contact:
        lines.append(t("confirm.contact", contact=contact))
    return lines


def registered_card(
    t: Messages,
    entry: LedgerEntry,
    receipt: Receipt,
    categories: Mapping[str, str],
    resolutions: Mapping[str, str] | None = None,
) -> Reply:
    """The card after a complaint is registered: number, order, category, the backend's words.

    The first paragraph (with the number) is always shown; the backend's parts follow as long as
    they fit, and what does not fit is counted ("…and 74 more"), in the text and the caption.
    """
    head = t(
        "result.registered",
        number=receipt.number,
        order_id=entry.order_id,
        category=category_label(t, categories, entry.category),
    )
    # The files, solution and contact belong to the head: always shown, never cut.
    head = "\n".join([head, *complaint_evidence(t, entry.envelope.entity, resolutions)])
    lines: list[str] = []
    if receipt.text:
        lines.append(escape(shorten(receipt.text, BACKEND_TEXT_LIMIT)))
    # Already on the card (number, order, category), or a raw state the card need not show.
    shown = {"complaintid", "orderid", "order", "category", "state", "status"}
    for name, value in receipt.attributes:
        if name.replace(" ", "").lower() not in shown:
            lines.append(f"<b>{escape(shorten(name, 64))}:</b> {escape(shorten(value, 256))}")
    for card in receipt.cards:
        lines.extend(_card_lines(card.title, card.subtitle, card.text))
    for media in receipt.media:
        described = escape(shorten(media.description or media.name or media.url, 256))
        if _is_image(media.media_type):
            lines.append(described)  # the picture itself is sent as the card's photo
        elif media.url.startswith(("https://", "http://")):
            # Audio, video or documents: a link Telegram previews, with its description.
            lines.append(f'<a href="{html.escape(media.url, quote=True)}">{described}</a>')
        else:
            lines.append(described)
    picture = next((card for card in receipt.cards if card.image_url), None)
    photo = (
        picture.image_url
        if picture
        else next((m.url for m in receipt.media if _is_image(m.media_type)), "")
    )
    text = paragraphs_within(t, head, lines, MESSAGE_LIMIT)
    caption = paragraphs_within(t, head, lines, CAPTION_LIMIT) if photo else ""
    return Reply(text, photo_url=photo, photo_caption=caption)


def paragraphs_within(t: Messages, head: str, extras: list[str], limit: int) -> str:
    """`head` and as many of `extras` as fit in `limit` visible characters, in order; the rest
    is counted in a last line ("…and 3 more"). Each paragraph is HTML that Telegram parses."""
    kept, used = [head], visible_length(head)
    for index, extra in enumerate(extras):
        size = len(PARAGRAPH) + visible_length(extra)
        later = len(extras) - index - 1
        # Keep room for the "…and N more" line, should a later paragraph not fit.
        room = len(PARAGRAPH) + visible_length(t("result.more", count=later)) if later else 0
        if used + size + room > limit:
            kept.append(t("result.more", count=len(extras) - index))
            break
        kept.append(extra)
        used += size
    return fit(PARAGRAPH.join(kept), limit)


def _card_lines(title: str, subtitle: str, text: str) -> list[str]:
    heading = " – ".join(escape(shorten(part, 200)) for part in (title, subtitle) if part)
    lines = [f"<b>{heading}</b>"] if heading else []
    if text:
        lines.append(escape(shorten(text, BACKEND_TEXT_LIMIT)))
    return lines


def _is_image(media_type: str) -> bool:
    return media_type.lower() in {"image", "photo", "picture", "image/jpeg", "image/png"}


def status_word(t: Messages, code: StatusCode | str | None) -> str:
    """The status in the customer's words."""
    try:
        return t(f"status.word.{StatusCode(code or StatusCode.UNKNOWN)}")
    except ValueError:
        return t("status.word.unknown")


def entry_status(t: Messages, entry: LedgerEntry) -> str:
    """What /mycomplaints says of a complaint's status."""
    if entry.state is LedgerState.REGISTERED:
        return status_word(t, entry.status_code or StatusCode.RECEIVED)
    return t(f"ledger.{entry.state}")


# How much of each message of a thread is quoted with a complaint's status.
THREAD_QUOTE_LIMIT = 300


def thread_lines(t: Messages, thread: Sequence[ThreadMessage]) -> str:
    """The latest messages of a complaint's thread, as the customer sees them."""
    lines = [t("thread.heading")]
    for said in thread:
        text = shorten(said.text, THREAD_QUOTE_LIMIT) if said.text else t("thread.file")
        key = "thread.customer" if said.author == "customer" else "thread.operator"
        lines.append(t(key, text=text))
    return "\n".join(lines)


def complaint_list(t: Messages, entries: list[LedgerEntry], categories: Mapping[str, str]) -> str:
    """The /mycomplaints reply."""
    if not entries:
        return t("mycomplaints.empty")
    lines = [t("mycomplaints.header")]
    for entry in entries:
        created = datetime.fromtimestamp(entry.created_at, tz=UTC)
        lines.append(
            t(
                "mycomplaints.item",
                number=entry.complaint_number or t("mycomplaints.no_number"),
                order_id=entry.order_id,
                category=category_label(t, categories, entry.category),
                date=format_date(created, format="medium", locale=t.language),
                status=entry_status(t, entry),
            )
        )
    return fit("\n".join(lines), MESSAGE_LIMIT)


def status_reply(t: Messages, entry: LedgerEntry, status: ComplaintStatus) -> str:
    """The answer to /status for a registered complaint."""
    number = entry.complaint_number or ""
    lines = [
        t(
            "status.result",
            number=number,
            order_id=entry.order_id,
            status=status_word(t, status.code),
        )
    ]
    for extra in (status.text if status.code is StatusCode.UNKNOWN else "", status.detail):
        if extra:
            lines.append(escape(shorten(extra, BACKEND_TEXT_LIMIT)))
    return "\n\n".join(lines)


def rejection(t: Messages, entry: LedgerEntry, reason: str, field: str) -> str:
    """What the customer is told when the backend refused the complaint."""
    key = f"rejected.{reason}" if t.has(f"rejected.{reason}") else "rejected.other"
    field_key = f"field.{field}" if t.has(f"field.{field}") else "field.unknown"
    return t(key, order_id=entry.order_id, field=Markup(t(field_key)))
