"""This module contains ClaimSettings: what is claimed (the ITEMS, AMOUNT and REFUND ACCOUNT
steps, the backends' fields for them) and a customer's withdrawal; Settings is made of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_settings import BaseSettings, NoDecode

from bot.claimed import checked_country, checked_currency
from bot.config.types import Step

# BizKitHub's final statuses (of those set-status documents) a customer's withdrawal may set.
BIZKITHUB_WITHDRAWN_STATUSES = ("closed", "reject")


def _codes(value: object) -> object:
    if isinstance(value, str):
        return [code.strip() for code in value.split(",") if code.strip()]
    return value


def _currency(value: str | None) -> str | None:
    return checked_currency(value) if value is not None else None


def _country(value: str | None) -> str | None:
    return checked_country(value) if value is not None else None


def _withdrawn_status(value: str | None) -> str | None:
    if value is None:
        return None
    if value.strip() not in BIZKITHUB_WITHDRAWN_STATUSES:
        raise ValueError("must be closed or reject (a final status of BizKitHub's set-status)")
    return value.strip()


class ClaimSettings(BaseSettings):
    """The settings of what is claimed; their checks against the solutions offered live in
    bot/config/checks.py (they need the whole Settings)."""

    if TYPE_CHECKING:  # a setting of CoreSettings, beside which this one is composed
        complaint_resolutions: dict[str, str]

    ask_items: Step = Field(
        default="off", description="the ITEMS step: `off`, `optional`, `required`"
    )
    ask_amount: Step = Field(
        default="off",
        description="the AMOUNT step (needs `CLAIM_CURRENCY`): `off`, `optional`, `required`",
    )
    ask_refund_account: Step = Field(
        default="off",
        description="the REFUND ACCOUNT step, for `REFUND_RESOLUTIONS` only: `off`, `optional`, "
        "`required`",
    )
    refund_resolutions: Annotated[list[str], NoDecode, BeforeValidator(_codes)] = Field(
        default_factory=lambda: ["refund"],
        description="the solution codes whose complaints are asked for a refund account",
    )
    claim_currency: Annotated[str | None, AfterValidator(_currency)] = Field(
        default=None, description="ISO 4217 code of the claimed amounts, e.g. `CZK`"
    )
    refund_country: Annotated[str | None, AfterValidator(_country)] = Field(
        default=None,
        description="ISO 3166-1 alpha-2 country of a refund account typed without an IBAN",
    )
    complaint_due_days: int | None = Field(
        default=None, ge=1, le=3650, description="days from filing to BizKitHub's `dueDate`"
    )
    occ_refund_type: str = Field(
        default="externalRefund", description="OCC `appeasementRefunds[].refundType`"
    )
    bizkithub_withdrawn_status: Annotated[str | None, AfterValidator(_withdrawn_status)] = Field(
        default=None,
        description="the BizKitHub status a customer's withdrawal sets (`closed` or `reject`)",
    )

    @property
    def refund_account_resolutions(self) -> frozenset[str]:
        """The offered solutions whose complaints are asked for a refund account."""
        return frozenset(c for c in self.refund_resolutions if c in self.complaint_resolutions)
