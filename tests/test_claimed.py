"""What a customer claims, read from their words: items, amounts in their notation, accounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.claimed import ClaimError, parse_account, parse_amount, parse_items
from bot.complaint import ClaimedItem, masked_account

# Česká spořitelna's sample account 19-2000145399/0800 and its IBAN.
CZ_IBAN = "CZ6508000000192000145399"


def test_items_are_one_a_line_with_an_optional_quantity() -> None:
    text = "2x Wireless headphones Model X\nCharging cable\n\n3 × cable\n- 2 x Case\n3x3 cube"
    assert parse_items(text) == [
        ClaimedItem(label="Wireless headphones Model X", quantity=2),
        ClaimedItem(label="Charging cable", quantity=1),
        ClaimedItem(label="cable", quantity=3),
        ClaimedItem(label="Case", quantity=2),
        ClaimedItem(label="3x3 cube", quantity=1),  # a name, not three of "3 cube"
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("\n \n", "none"),
        ("0x cable", "zero_quantity"),
        ("1000 x cable", "too_many_pieces"),
        ("x" * 201, "label_too_long"),
        ("\n".join(f"item {n}" for n in range(21)), "too_many"),
    ],
)
def test_items_out_of_bounds_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ClaimError) as caught:
        parse_items(text)
    assert caught.value.reason == reason


def test_twenty_items_of_two_hundred_characters_are_taken() -> None:
    items = parse_items("\n".join(f"{n:03d}" + "y" * 197 for n in range(20)))
    assert len(items) == 20 and all(len(item.label) == 200 for item in items)


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("1500", "cs", "1500.00"),
        ("1 500", "cs", "1500.00"),
        ("1\u00a0500,50", "cs", "1500.50"),
        ("1 500,50", "cs", "1500.50"),
        ("1500,50", "cs", "1500.50"),
        ("1,500.50", "en", "1500.50"),
        ("1500.5", "en", "1500.50"),
        ("1 500,50 Kč", "cs", "1500.50"),
        ("CZK 99", "en", "99.00"),
        ("1500,-", "cs", "1500.00"),
        ("1.500,50", "de", "1500.50"),
        # Another notation than the language's own is read when only it makes sense.
        ("1,500.50", "cs", "1500.50"),
        ("1500,50", "en", "1500.50"),
    ],
)
def test_amounts_are_read_in_the_customers_notation(text: str, language: str, value: str) -> None:
    assert parse_amount(text, language=language, currency="CZK") == Decimal(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("fifteen hundred", "not_a_number"),
        ("", "not_a_number"),
        ("0", "not_positive"),
        ("0,00", "not_positive"),
        ("-5", "not_positive"),
        ("10.555", "too_precise"),
        ("1000000000", "too_large"),
        ("NaN", "not_a_number"),
    ],
)
def test_amounts_that_are_no_claim_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ClaimError) as caught:
        parse_amount(text, language="en", currency="CZK")
    assert caught.value.reason == reason


def test_a_currency_without_decimals_takes_none() -> None:
    assert parse_amount("1500", language="en", currency="JPY") == Decimal(1500)
    with pytest.raises(ClaimError):
        parse_amount("1500.5", language="en", currency="JPY")


@pytest.mark.parametrize(
    "text", [CZ_IBAN, "CZ65 0800 0000 1920 0014 5399", "cz65 0800 0000 1920 0014 5399"]
)
def test_an_iban_is_taken_compact(text: str) -> None:
    account = parse_account(text, default_country="CZ")
    assert account.iban == CZ_IBAN and account.country == "CZ" and not account.converted


def test_a_czech_account_is_converted_to_its_iban() -> None:
    account = parse_account("19-2000145399/0800", default_country="CZ")
    assert account.iban == CZ_IBAN and account.converted
    assert parse_account("2000145399/0800", default_country=None).iban.startswith("CZ")


def test_other_countries_ibans_are_checked_too() -> None:
    assert parse_account("DE89 3704 0044 0532 0130 00", default_country="CZ").country == "DE"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("CZ65 0800 0000 1920 0014 5398", "wrong_checksum"),
        ("DE89 3704 0044 0532 0130 01", "wrong_checksum"),
        ("2000145398/0800", "wrong_number"),
        ("19-2000145399/9999", "unknown_bank"),
        ("my account at the bank", "not_an_account"),
        ("", "not_an_account"),
    ],
)
def test_accounts_that_do_not_check_out_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ClaimError) as caught:
        parse_account(text, default_country="CZ")
    assert caught.value.reason == reason


def test_an_account_is_shown_with_only_its_last_four_characters() -> None:
    assert masked_account(CZ_IBAN) == "•••• 5399"
    assert "0800" not in masked_account(CZ_IBAN)
