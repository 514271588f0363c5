"""This module contains what a customer claims, read from their words: items, an amount, an account.

Each reader returns the value, or raises ClaimError whose `reason` chooses the words the
customer is told (the `items.*`, `amount.*` and `account.*` keys of the catalogues). Nothing
here logs: a refund account is personal data and never reaches a log.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberFormatError, get_currency_precision, list_currencies, parse_decimal
from schwifty import IBAN, registry
from schwifty.exceptions import (
    InvalidBBANChecksum,
    InvalidChecksumDigits,
    SchwiftyException,
)

from bot.complaint import ClaimedItem

MAX_ITEMS = 20
ITEM_LABEL_MAX_LENGTH = 200
MAX_QUANTITY = 999
# A claim above this is a typo (or a joke), not a complaint about an order.
MAX_AMOUNT = Decimal("1000000000")
# Where the customer's own notation fails, these are tried: "1,500.50" and "1.500,50".
FALLBACK_NUMBER_LOCALES = ("en", "de")
# The countries whose accounts are written `[prefix-]number/bank code` (the same scheme).
LOCAL_ACCOUNT_COUNTRIES = ("CZ", "SK")

# "2x Wireless headphones", "2 x cable", "3 × cable", "2* cable"; "3x3 cube" is a label.
_QUANTITY = re.compile(r"^(\d{1,4})(?:\s*[x×*]\s+|\s+[x×*]\s*)(\S.*)$", re.IGNORECASE)
_BULLET = re.compile(r"^(?:[-•*·]\s+)")
# Spaces of any width between groups of three digits: "1 500", "1 500,50", "12 000.5".
_SPACED_GROUPS = re.compile(r"^\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+(?:[.,]\d+)?$")
_NUMBERLIKE = re.compile(r"[+-]?[\d.,'\u00a0\u202f\u2009 ]+")
_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")
# `[prefix-]number/bank code`: up to 6 digits, up to 10 digits, 4 digits.
_LOCAL_ACCOUNT = re.compile(r"^(?:(\d{1,6})-)?(\d{2,10})/(\d{4})$")


class ClaimError(ValueError):
    """The customer's answer cannot be taken; `reason` says why (a catalogue key's tail)."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


def checked_currency(code: str) -> str:
    """An ISO 4217 currency code, upper-cased; ValueError naming the fix otherwise."""
    value = code.strip().upper()
    if value not in list_currencies():
        raise ValueError(f"is not an ISO 4217 currency code (such as CZK, EUR, USD): {value!r}")
    return value


def checked_country(code: str) -> str:
    """An ISO 3166-1 alpha-2 country code, upper-cased; ValueError naming the fix otherwise."""
    value = code.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", value) or value not in Locale("en").territories:
        raise ValueError(f"is not an ISO 3166-1 alpha-2 country code (such as CZ, DE): {value!r}")
    return value


# -- items ---------------------------------------------------------------------------------


def parse_items(text: str) -> list[ClaimedItem]:
    """One item a line, each optionally with a quantity ("2x Wireless headphones")."""
    items = []
    for raw in text.splitlines():
        line = _BULLET.sub("", raw.strip()).strip()
        if not line:
            continue
        quantity, label = 1, line
        match = _QUANTITY.match(line)
        if match is not None:
            quantity, label = int(match.group(1)), match.group(2).strip()
        if quantity < 1:
            raise ClaimError("zero_quantity", label=label)
        if quantity > MAX_QUANTITY:
            raise ClaimError("too_many_pieces", label=label, maximum=MAX_QUANTITY)
        if len(label) > ITEM_LABEL_MAX_LENGTH:
            raise ClaimError("label_too_long", maximum=ITEM_LABEL_MAX_LENGTH, length=len(label))
        items.append(ClaimedItem(label=label, quantity=quantity))
    if not items:
        raise ClaimError("none")
    if len(items) > MAX_ITEMS:
        raise ClaimError("too_many", maximum=MAX_ITEMS, count=len(items))
    return items


# -- the amount ----------------------------------------------------------------------------


def parse_amount(text: str, *, language: str, currency: str) -> Decimal:
    """The amount as the customer writes it in their language ("1 500,50", "1,500.50"),
    with the currency's code or sign around it allowed; positive, in the currency's decimals."""
    candidate = _without_currency(text.strip(), currency)
    if _SPACED_GROUPS.match(candidate):
        candidate = _SPACES.sub("", candidate)
    value = _parsed(candidate, language)
    if value is None or not value.is_finite():
        raise ClaimError("not_a_number")
    if value <= 0:
        raise ClaimError("not_positive")
    if value >= MAX_AMOUNT:
        raise ClaimError("too_large")
    decimals = get_currency_precision(currency)
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > decimals:
        raise ClaimError("too_precise", decimals=decimals)
    return value.quantize(Decimal(1).scaleb(-decimals))


def _parsed(text: str, language: str) -> Decimal | None:
    """The number in the customer's notation, else in the first other one that reads it."""
    if not _NUMBERLIKE.fullmatch(text) or not any(c.isdigit() for c in text):
        return None
    for locale in (language or "en", *FALLBACK_NUMBER_LOCALES):
        try:
            return Decimal(parse_decimal(text, locale=locale, strict=True))
        except (NumberFormatError, InvalidOperation, UnknownLocaleError, ValueError):
            continue
    return None


def _without_currency(text: str, currency: str) -> str:
    """The text with the currency's code or local sign ("CZK", "Kč", "€") cut off its ends."""
    names = {currency, currency.lower()}
    for language in ("en", "cs", "de", "sk"):
        names.add(Locale(language).currency_symbols.get(currency, currency))
    for name in sorted(names, key=len, reverse=True):
        if text.endswith(name):
            text = text[: -len(name)].strip()
        if text.startswith(name):
            text = text[len(name) :].strip()
    return text.rstrip(",.-").strip() if text.endswith((",-", ".-")) else text


# -- the refund account --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefundAccount:
    """A checked account: its IBAN (compact), and whether it was typed in the local form."""

    iban: str
    converted: bool = False

    @property
    def country(self) -> str:
        """The account's ISO 3166-1 country (the IBAN's first two letters)."""
        return self.iban[:2]


def parse_account(text: str, *, default_country: str | None) -> RefundAccount:
    """An IBAN, or a Czech (Slovak) `[prefix-]number/bank code` converted to one; checked:
    its check digits, the national checksum and, where the bank registry knows the country,
    the bank code."""
    compact = "".join(text.split()).upper()
    if not compact:
        raise ClaimError("not_an_account")
    local = _LOCAL_ACCOUNT.match(compact)
    if local is not None:
        prefix, number, bank = local.groups()
        country = default_country if default_country in LOCAL_ACCOUNT_COUNTRIES else "CZ"
        iban = _generated(country, prefix or "", number, bank)
        converted = True
    elif re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}", compact):
        iban = _checked(compact)
        converted = False
    else:
        raise ClaimError("not_an_account")
    if _bank_registry_knows(iban.country_code) and iban.bank is None:
        raise ClaimError("unknown_bank", bank_code=iban.bank_code or "")
    return RefundAccount(iban=str(iban.compact), converted=converted)


def _checked(compact: str) -> IBAN:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a country without a national checksum
            return IBAN(compact, validate_bban=True)
    except InvalidChecksumDigits as err:
        raise ClaimError("wrong_checksum") from err
    except InvalidBBANChecksum as err:
        raise ClaimError("wrong_number") from err
    except SchwiftyException as err:
        raise ClaimError("not_an_account") from err


def _generated(country: str, prefix: str, number: str, bank: str) -> IBAN:
    """The IBAN of a local account; the national checksum of prefix and number checked."""
    try:
        iban = IBAN.generate(
            country, bank_code=bank, branch_code=prefix.zfill(6), account_code=number.zfill(10)
        )
    except SchwiftyException as err:
        raise ClaimError("not_an_account") from err
    return _checked(str(iban.compact))


def _bank_registry_knows(country: str) -> bool:
    """Whether schwifty ships the banks of this country (only then is a bank code 'unknown');
    its registries are files inside the package, read without any network."""
    return country in _registry_countries()


@cache
def _registry_countries() -> frozenset[str]:
    return frozenset(registry.get_countries())
