"""This module contains the complaint's domain models and the canonical envelope (seed 000).

The envelope is the one shape every backend adapter receives; its field names are the
middleware document's own, `problemStatment` spelling included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

CHANNEL = "TELEGRAM"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UserInfo(_Model):
    """The customer as the middleware knows them: Telegram names and the user id as a string."""

    first_name: str | None = None
    last_name: str | None = None
    uid: str
    username: str | None = None


class ConversationRequest(_Model):
    """Where the complaint comes from: the channel and the customer."""

    channel: str = CHANNEL
    userInfo: UserInfo


class Attachment(_Model):
    """A file the customer sent with the complaint (kept at Telegram, named by its file_id)."""

    kind: str  # photo, video or document
    fileId: str
    fileUniqueId: str
    fileName: str | None = None
    mimeType: str | None = None
    size: int | None = None
    url: str | None = None  # a signed, expiring link, when MEDIA_BASE_URL is set


class ContactInfo(_Model):
    """How the shop can reach the customer, when it asked."""

    phone: str | None = None
    email: str | None = None


class ClaimedItem(_Model):
    """One item the complaint is about, as the customer named it, and how many; picked from
    a shop's link, also the order item's id and unit price (in CLAIM_CURRENCY)."""

    label: str
    quantity: int = 1
    orderItemId: str | None = None
    price: float | None = None


class ClaimedAmount(_Model):
    """The amount the customer claims (a refund, a credit), in CLAIM_CURRENCY."""

    value: float
    currency: str


def masked_account(account: str) -> str:
    """An account with all but its last 4 characters hidden ("•••• 5399")."""
    compact = "".join(account.split())
    return f"•••• {compact[-4:]}" if len(compact) > 4 else "••••"


def item_lines(items: Sequence[ClaimedItem], *, label_limit: int | None = None) -> list[str]:
    """One line per item, "2 × Wireless headphones" (labels cut to `label_limit`)."""
    lines = []
    for item in items:
        label = item.label
        if label_limit is not None and len(label) > label_limit:
            label = label[: label_limit - 1].rstrip() + "…"
        lines.append(f"{item.quantity} × {label}")
    return lines


def amount_text(amount: ClaimedAmount) -> str:
    """The amount for a backend's plain text ("1500.50 CZK": the same in every language)."""
    return f"{amount.value:.2f} {amount.currency}"


def contact_line(contact: ContactInfo | None) -> str:
    """The contact as one line ("+420… · ada@example.com"), "" when none was given."""
    if contact is None:
        return ""
    return " · ".join(value for value in (contact.phone, contact.email) if value)


def file_lines(attachments: Sequence[Attachment]) -> list[str]:
    """One line per file for a backend's text fields: kind, name, type, size, and where to get
    it (its signed link, else Telegram's file_id, which the shop's own bot can fetch)."""
    lines = []
    for number, attachment in enumerate(attachments, start=1):
        size = f"{attachment.size / 1024:.0f} KB" if attachment.size is not None else ""
        parts = (attachment.kind, attachment.fileName, attachment.mimeType, size)
        described = ", ".join(part for part in parts if part)
        where = attachment.url or f"Telegram file_id {attachment.fileId}"
        lines.append(f"{number}. {described}: {where}")
    return lines


def evidence_text(
    entity: EntityInfo, *, resolution: bool = True, contact: bool = True, claimed: bool = False
) -> str:
    """The solution wanted, the contact and the files as plain text ("" when none); a
    backend with fields of its own for the first two leaves them out. `claimed` adds the
    items, the amount and the refund account (masked) for a backend without fields for them."""
    lines = []
    if resolution and entity.resolution:
        lines.append(f"Solution wanted: {entity.resolution}")
    if contact and contact_line(entity.contact):
        lines.append(f"Contact: {contact_line(entity.contact)}")
    if claimed and entity.items:
        lines.append(f"Items ({len(entity.items)}):")
        lines.extend(f"- {line}" for line in item_lines(entity.items))
    if claimed and entity.claimedAmount is not None:
        lines.append(f"Amount claimed: {amount_text(entity.claimedAmount)}")
    if claimed and entity.refundAccount:
        lines.append(f"Refund to account: {masked_account(entity.refundAccount)}")
    if entity.attachments:
        lines.append(f"Files ({len(entity.attachments)}):")
        lines.extend(file_lines(entity.attachments))
    return "\n".join(lines)


class EntityInfo(_Model):
    """What the complaint is about; the fields after `category` are present only when
    collected (and then only on the wire, see ComplaintEnvelope.to_json_dict)."""

    orderId: str
    problemStatment: str
    category: str
    complaintId: str | None = None
    resolution: str | None = None
    attachments: tuple[Attachment, ...] | None = None
    contact: ContactInfo | None = None
    items: tuple[ClaimedItem, ...] | None = None
    claimedAmount: ClaimedAmount | None = None
    refundAccount: str | None = None  # an IBAN; never logged, masked where shown
    orderHash: str | None = None  # the shop's hash of the order, from its link


class Params(_Model):
    """The `params` level of the envelope."""

    entityInfo: EntityInfo


class Parameters(_Model):
    """The `parameters` level of the envelope."""

    params: Params


class QueryInfo(_Model):
    """What is asked of the middleware (`interestType`) and with which parameters."""

    interestType: str
    parameters: Parameters


class ComplaintEnvelope(_Model):
    """The canonical complaint payload: `conversationRequest` + `queryInfo` + `languageCode`."""

    conversationRequest: ConversationRequest
    queryInfo: QueryInfo
    languageCode: str

    @property
    def entity(self) -> EntityInfo:
        """The order, problem and category."""
        return self.queryInfo.parameters.params.entityInfo

    @property
    def user(self) -> UserInfo:
        """The customer."""
        return self.conversationRequest.userInfo

    def customer_name(self) -> str:
        """The customer's full name, else their username, else "Telegram user <id>"."""
        names = " ".join(n for n in (self.user.first_name, self.user.last_name) if n)
        return names or self.user.username or f"Telegram user {self.user.uid}"

    def to_json_dict(self) -> dict[str, Any]:
        """The envelope as it is sent on the wire (absent optional fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)

    def with_entity(self, **changes: str) -> ComplaintEnvelope:
        """A copy with some entityInfo fields changed (e.g. complaintId for a status query)."""
        entity = self.entity.model_copy(update=changes)
        query = QueryInfo(
            interestType=self.queryInfo.interestType,
            parameters=Parameters(params=Params(entityInfo=entity)),
        )
        return self.model_copy(update={"queryInfo": query})

    def with_interest(self, interest_type: str) -> ComplaintEnvelope:
        """A copy asking for another interest type."""
        query = self.queryInfo.model_copy(update={"interestType": interest_type})
        return self.model_copy(update={"queryInfo": query})


class Customer(_Model):
    """The Telegram user filing the complaint."""

    user_id: int
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


def build_envelope(
    customer: Customer,
    *,
    order_id: str,
    problem: str,
    category: str,
    interest_type: str,
    language_code: str,
    resolution: str = "",
    attachments: tuple[Attachment, ...] = (),
    contact: ContactInfo | None = None,
    items: Sequence[ClaimedItem] = (),
    amount: ClaimedAmount | None = None,
    refund_account: str = "",
    order_hash: str = "",
) -> ComplaintEnvelope:
    """Builds the canonical envelope of a confirmed complaint."""
    return ComplaintEnvelope(
        conversationRequest=ConversationRequest(
            userInfo=UserInfo(
                first_name=customer.first_name or None,
                last_name=customer.last_name or None,
                uid=str(customer.user_id),
                username=customer.username or None,
            )
        ),
        queryInfo=QueryInfo(
            interestType=interest_type,
            parameters=Parameters(
                params=Params(
                    entityInfo=EntityInfo(
                        orderId=order_id,
                        problemStatment=problem,
                        category=category,
                        resolution=resolution or None,
                        attachments=attachments or None,
                        contact=contact if contact and (contact.phone or contact.email) else None,
                        items=tuple(items) or None,
                        claimedAmount=amount,
                        refundAccount=refund_account or None,
                        orderHash=order_hash or None,
                    )
                )
            ),
        ),
        languageCode=language_code,
    )
