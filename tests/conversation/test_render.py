"""The result card: what a customer sees of each kind of backend answer."""

from __future__ import annotations

import re

from bot.backends.base import Card, Media, Receipt
from bot.complaint import Customer, build_envelope
from bot.i18n import Translator
from bot.messages.render import CAPTION_LIMIT, MESSAGE_LIMIT, registered_card
from bot.storage.ledger import LedgerEntry, LedgerState
from bot.telegram_html import plain_text, utf16_length

CATEGORIES = {"product-related": "Product-related"}


def _entry() -> LedgerEntry:
    envelope = build_envelope(
        Customer(user_id=7, first_name="Ada"),
        order_id="748596",
        problem="Broken jug",
        category="product-related",
        interest_type="productComplaint",
        language_code="en-US",
    )
    return LedgerEntry(
        id=1,
        key="k",
        user_id=7,
        chat_id=7,
        backend="middleware",
        envelope=envelope,
        from_deep_link=False,
        state=LedgerState.REGISTERED,
        attempts=1,
        next_attempt_at=0,
        last_error="",
        checkpoint={},
        complaint_number="12345",
        receipt=None,
        status_code=None,
        status_text="",
        status_detail="",
        message_id=None,
        told_delayed=False,
        created_at=0,
        updated_at=0,
    )


def _card(receipt: Receipt):
    return registered_card(Translator().for_language("en"), _entry(), receipt, CATEGORIES)


def test_a_video_is_a_link_with_its_description_and_an_image_is_the_photo() -> None:
    receipt = Receipt(
        number="12345",
        reference="12345",
        media=(
            Media(
                media_type="video",
                url='https://cdn.example.com/how-to.mp4?a=1&b="x"',
                description="How to pack the blender",
            ),
            Media(media_type="image", url="https://cdn.example.com/label.png", name="Label"),
        ),
    )
    card = _card(receipt)
    assert '<a href="https://cdn.example.com/how-to.mp4?a=1&amp;b=&quot;x&quot;">' in card.text
    assert "How to pack the blender</a>" in card.text
    assert card.photo_url == "https://cdn.example.com/label.png"
    assert "12345" in card.photo_caption


def test_backend_text_is_escaped_and_cut_to_telegram_limits() -> None:
    receipt = Receipt(
        number="12345",
        reference="12345",
        text="<script>" + "x" * 9000,
        attributes=(("complaintId", "12345"), ("Technician", "<b>Jo</b>")),
        cards=(Card(title="Pickup", text="y" * 9000, image_url="https://cdn.example.com/p.png"),),
    )
    card = _card(receipt)
    assert "&lt;script&gt;" in card.text and "<script>" not in card.text
    assert "<b>Technician:</b> &lt;b&gt;Jo&lt;/b&gt;" in card.text
    assert card.text.count("12345") == 1  # the number once, not again as an attribute
    assert utf16_length(plain_text(card.text)) <= MESSAGE_LIMIT
    assert utf16_length(plain_text(card.photo_caption)) <= CAPTION_LIMIT


def test_a_long_answer_is_summarised_with_the_number_kept_and_the_markup_whole() -> None:
    attributes = tuple((f"Item {n}", "A kettle with a long description " * 4) for n in range(80))
    receipt = Receipt(
        number="12345",
        reference="12345",
        text="Registered.",
        attributes=(("complaintId", "12345"), *attributes),
        cards=(Card(title="Pickup", image_url="https://cdn.example.com/p.png"),),
    )
    card = _card(receipt)
    for markup, limit in ((card.text, MESSAGE_LIMIT), (card.photo_caption, CAPTION_LIMIT)):
        visible = plain_text(markup)  # raises where Telegram would refuse the markup
        assert "Complaint number: 12345" in visible
        assert utf16_length(visible) <= limit
        assert re.search(r"…and \d+ more", visible)
    shown = plain_text(card.text).count("Item ")
    assert 10 < shown < 80
    assert f"…and {80 - shown + 1} more" in plain_text(card.text)  # the items and the card title
