"""This module contains the BizKitHub complaint backend (seed 003): create and detail calls."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import httpx
from pydantic import SecretStr

from bot.backends._http import (
    json_body,
    raise_for_transient,
    retry_after_seconds,
    scrub,
    translate_transport_errors,
)
from bot.backends.base import (
    BackendBadResponse,
    BackendRejected,
    BackendUnavailable,
    ComplaintBackend,
    ComplaintStatus,
    Receipt,
    RejectionReason,
    StatusCode,
    Submission,
)
from bot.backends.once import create_once
from bot.complaint import ClaimedItem, ComplaintEnvelope, evidence_text
from bot.config import ConfigError, Settings, mapped_value

logger = logging.getLogger(__name__)

BACKEND = "BizKitHub"
CREATE_PATH = "/api/v1/shop/complaint/create"
DETAIL_PATH = "/api/v1/shop/complaint/detail"
SET_STATUS_PATH = "/api/v1/shop/complaint/set-status"
PROBE_ID = "probe-0"
# A Czech payment's variable symbol has at most ten digits.
VARIABLE_SYMBOL_DIGITS = 10
KEY_ERROR_PREFIX = "PUBLIC_API_KEY_"
VALIDATION_ERROR = "INTERNAL_VALIDATION_FAILED"
RATE_LIMIT_ERRORS = frozenset({"INTERNAL_TOO_MANY_REQUESTS", "RATE_LIMIT_EXCEEDED"})

STATUS_CODES: Mapping[str, StatusCode] = {
    "new": StatusCode.RECEIVED,
    "open": StatusCode.IN_PROGRESS,
    "wait": StatusCode.WAITING,
    "resolve": StatusCode.RESOLVED,
    "reject": StatusCode.REJECTED,
    "closed": StatusCode.CLOSED,
}
# BizKitHub's request fields in the words the customer's messages use.
FIELD_WORDS: Mapping[str, str] = {
    "description": "problem",
    "orderNumber": "order",
    "customerName": "name",
    "variantCode": "category",
}
# Every body field the create call documents, longest first so no name matches inside another.
KNOWN_FIELDS = sorted(
    (
        *FIELD_WORDS,
        *("orderHash", "email", "phone", "price", "currency", "refundCountry", "branchId"),
        *("refundBankAccount", "refundVariableSymbol", "resolutionMethodCode", "dueDate", "items"),
    ),
    key=len,
    reverse=True,
)
PUBLIC_FLAGS = (
    "isPublic",
    "public",
    "visibleToCustomer",
    "sharedWithCustomer",
    "isVisibleToCustomer",
    "isSharedWithCustomer",
)
_KNOWN_WORD = re.compile(r"\b(" + "|".join(KNOWN_FIELDS) + r")\b")


class BizKitHubBackend(ComplaintBackend):
    """Files complaints with BizKitHub's shop API; the key travels only as a Bearer header."""

    name = "bizkithub"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: SecretStr,
        variants: Mapping[str, str],
        resolutions: Mapping[str, str] | None = None,
        due_days: int | None = None,
        withdrawn_status: str | None = None,
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._variants = dict(variants)
        self._resolutions = dict(resolutions or {})
        self._due_days = due_days
        self._withdrawn_status = withdrawn_status

    @classmethod
    def from_settings(cls, settings: Settings, client: httpx.AsyncClient) -> BizKitHubBackend:
        """The backend as BIZKITHUB_BASE_URL, BIZKITHUB_API_KEY and BIZKITHUB_VARIANTS say."""
        if settings.bizkithub_api_key is None:
            raise ConfigError("BIZKITHUB_API_KEY: is required when COMPLAINT_BACKEND=bizkithub")
        return cls(
            client,
            base_url=settings.bizkithub_base_url,
            api_key=settings.bizkithub_api_key,
            variants=settings.bizkithub_variants,
            resolutions=settings.bizkithub_resolutions,
            due_days=settings.complaint_due_days,
            withdrawn_status=settings.bizkithub_withdrawn_status,
        )

    async def submit(self, submission: Submission) -> Receipt:
        """Creates the complaint; the receipt's number and reference are BizKitHub's id."""
        payload = self.payload(submission.envelope, confirmed_at=submission.confirmed_at)

        async def create() -> Receipt:
            response = await self._request("POST", CREATE_PATH, creating=True, json=payload)
            body = self._checked_body(response)
            raw_id = body.get("id") if isinstance(body, dict) else None
            complaint_id = str(raw_id).strip() if isinstance(raw_id, str | int) else ""
            if not complaint_id or isinstance(raw_id, bool):
                raise BackendBadResponse(f"{BACKEND} answered the create call without an id")
            return Receipt(number=complaint_id, reference=complaint_id, state="new")

        # No idempotency key: a create whose answer is lost is never sent again blindly.
        return await create_once(submission, BACKEND, create)

    def payload(
        self, envelope: ComplaintEnvelope, *, confirmed_at: float | None = None
    ) -> dict[str, Any]:
        """The create call's JSON body for one envelope (confirmed at `confirmed_at`)."""
        category = envelope.entity.category
        variant = mapped_value(self._variants, category)
        if not variant:
            logger.warning("BIZKITHUB_VARIANTS has no variantCode for category %s", category)
            raise BackendRejected(
                f"BIZKITHUB_VARIANTS has no variantCode for category {category}",
                reason=RejectionReason.MISCONFIGURED,
            )
        entity = envelope.entity
        # The files have no field of their own: they are listed under the description.
        files = evidence_text(entity, resolution=False, contact=False)
        body: dict[str, Any] = {
            "variantCode": variant,
            "orderNumber": entity.orderId,
            "description": "\n\n".join(filter(None, [entity.problemStatment, files])),
            "customerName": envelope.customer_name(),
        }
        method = mapped_value(self._resolutions, entity.resolution) if entity.resolution else ""
        if method:  # BIZKITHUB_RESOLUTIONS maps a solution to "" to send none
            body["resolutionMethodCode"] = method
        if entity.contact is not None and entity.contact.email:
            body["email"] = entity.contact.email
        if entity.contact is not None and entity.contact.phone:
            body["phone"] = entity.contact.phone
        body.update(claimed_fields(envelope))
        if self._due_days is not None and confirmed_at is not None:
            due = datetime.fromtimestamp(confirmed_at, UTC) + timedelta(days=self._due_days)
            body["dueDate"] = due.strftime("%Y-%m-%dT%H:%M:%S.") + f"{due.microsecond // 1000:03d}Z"
        return body

    async def status(self, receipt: Receipt, envelope: ComplaintEnvelope) -> ComplaintStatus:
        """Reads the complaint's detail: its status and the last event shared with the customer."""
        complaint_id = receipt.reference or receipt.number
        response = await self._request("GET", DETAIL_PATH, params={"id": complaint_id})
        code = _error_code(_lenient_json(response)) if response.status_code == 404 else ""
        missing = bool(code) and not _is_key_error(404, code)  # a 404 that is not a key error
        body = {} if missing else self._checked_body(response)
        if not isinstance(body, dict):
            raise BackendBadResponse(f"{BACKEND} answered the detail call with no object")
        if missing or body.get("exist") is False:
            raise BackendRejected(
                f"{BACKEND} has no complaint {complaint_id}", reason=RejectionReason.NOT_FOUND
            )
        raw = body.get("status")
        if isinstance(raw, dict):
            raw = raw.get("code")
        text = raw.strip() if isinstance(raw, str) else ""
        return ComplaintStatus(
            code=STATUS_CODES.get(text.lower(), StatusCode.UNKNOWN),
            text=text,
            detail=last_shared_message(body.get("events")),
        )

    @property
    def withdraws(self) -> bool:
        """Only with BIZKITHUB_WITHDRAWN_STATUS: the status a withdrawal sets."""
        return self._withdrawn_status is not None

    async def withdraw(self, receipt: Receipt, envelope: ComplaintEnvelope) -> bool:
        """Sets the complaint to BIZKITHUB_WITHDRAWN_STATUS with `set-status` (setting it
        again is harmless, so an answer lost on the way is simply asked again)."""
        if self._withdrawn_status is None:
            return False
        complaint_id = receipt.reference or receipt.number
        body = {"complaintId": complaint_id, "status": self._withdrawn_status}
        answer = self._checked_body(await self._request("POST", SET_STATUS_PATH, json=body))
        if isinstance(answer, dict) and answer.get("success") is False:
            raise BackendRejected(
                f"{BACKEND} answered set-status of {complaint_id} with success false",
                reason=RejectionReason.REFUSED,
            )
        return True

    async def probe(self) -> str:
        """Asks for a complaint that does not exist: any answer but a key error proves the key."""
        response = await self._request("GET", DETAIL_PATH, params={"id": PROBE_ID})
        raise_for_transient(response, BACKEND)
        body = json_body(response, BACKEND)
        code = _error_code(body)
        if _is_key_error(response.status_code, code) or code in RATE_LIMIT_ERRORS:
            self._raise_for_error(response, body)
        return f"BizKitHub key accepted at {httpx.URL(self._base_url).host}"

    async def _request(
        self, method: str, path: str, *, creating: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """One call with the key in the Authorization header (never in the URL or body)."""
        headers = {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            "Accept": "application/json",
        }
        with translate_transport_errors(BACKEND, creating=creating):
            return await self._client.request(
                method, f"{self._base_url}{path}", headers=headers, **kwargs
            )

    def _checked_body(self, response: httpx.Response) -> Any:
        """The JSON of a successful answer; raises the port's error for anything else."""
        raise_for_transient(response, BACKEND)
        if response.is_success:
            body = json_body(response, BACKEND)
            if not (isinstance(body, dict) and isinstance(body.get("error"), dict)):
                return body
            self._raise_for_error(response, body)
        self._raise_for_error(response, _lenient_json(response))

    def _raise_for_error(self, response: httpx.Response, body: Any) -> NoReturn:
        """Raises the port's error for BizKitHub's `{"error": {code, message, description}}`."""
        code = _error_code(body)
        status = response.status_code
        message = self._scrub(_error_text(body))
        detail = f"{BACKEND} answered HTTP {status} {code or 'without an error code'}"
        if message:
            detail = f"{detail}: {message[:300]}"
        if _is_key_error(status, code):
            logger.warning(
                "BizKitHub refused the API key (%s); check BIZKITHUB_API_KEY",
                code or f"HTTP {status}",
            )
            raise BackendRejected(detail, reason=RejectionReason.MISCONFIGURED)
        if code in RATE_LIMIT_ERRORS:
            raise BackendUnavailable(detail, retry_after=retry_after_seconds(response))
        if code == VALIDATION_ERROR:
            raise BackendRejected(
                detail, reason=RejectionReason.INVALID_INPUT, field=validation_field(body)
            )
        raise BackendRejected(detail, reason=RejectionReason.OTHER)

    def _scrub(self, text: str) -> str:
        """The text with the API key masked, should the backend echo it."""
        return scrub(text, [self._api_key.get_secret_value()])


def claimed_fields(envelope: ComplaintEnvelope) -> dict[str, Any]:
    """The create call's fields of what is claimed (only those the customer gave): the items,
    the amount and its currency, the refund account (an IBAN, its country) and, as the
    transfer's variable symbol, the order number when it is one (digits only, at most 10); and
    the order's hash when the shop's link carried one."""
    entity = envelope.entity
    fields: dict[str, Any] = {}
    if entity.orderHash:
        fields["orderHash"] = entity.orderHash
    if entity.items:
        fields["items"] = [_item(item) for item in entity.items]
    if entity.claimedAmount is not None:
        fields["price"] = entity.claimedAmount.value
        fields["currency"] = entity.claimedAmount.currency
    if entity.refundAccount:
        fields["refundBankAccount"] = entity.refundAccount
        fields["refundCountry"] = entity.refundAccount[:2]
        order = entity.orderId
        if order.isascii() and order.isdigit() and len(order) <= VARIABLE_SYMBOL_DIGITS:
            fields["refundVariableSymbol"] = order
    return fields


def _item(item: ClaimedItem) -> dict[str, Any]:
    """An item of the create call; one picked from the shop's link has its id and price (the
    id a number, as BizKitHub's order items are, when it is all digits)."""
    fields: dict[str, Any] = {"label": item.label, "quantity": item.quantity}
    if item.orderItemId is not None:
        digits = item.orderItemId.isascii() and item.orderItemId.isdigit()
        fields["orderItemId"] = int(item.orderItemId) if digits else item.orderItemId
    if item.price is not None:
        fields["price"] = item.price
    return fields


def last_shared_message(events: object) -> str:
    """The message of the latest event shared with the customer, "" if there is none."""
    if not isinstance(events, list):
        return ""
    shared = [
        (index, event)
        for index, event in enumerate(events)
        if isinstance(event, dict) and any(_truthy(event.get(flag)) for flag in PUBLIC_FLAGS)
    ]
    if not shared:
        return ""
    dated = [
        (moment, index, event)
        for index, event in shared
        if (moment := _event_time(event)) is not None
    ]
    # Dates decide when every shared event has one; otherwise the list's own order does.
    if len(dated) == len(shared):
        latest = max(dated, key=lambda item: (item[0], item[1]))[2]
    else:
        latest = shared[-1][1]
    for key in ("message", "text", "description", "note"):
        value = latest.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def validation_field(body: Any) -> str:
    """The request field an INTERNAL_VALIDATION_FAILED error names, in our words ("" if none)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ""
    for key in ("field", "path", "param", "parameter", "property"):
        value = error.get(key)
        if isinstance(value, str) and value.strip():
            return _our_word(value.strip())
    known = _KNOWN_WORD.search(_error_text(body))
    return _our_word(known.group(1)) if known else ""


def _our_word(name: str) -> str:
    """A BizKitHub field name (or a dotted path ending in one) as the bot calls it."""
    return FIELD_WORDS.get(name.rsplit(".", 1)[-1], name)


def _is_key_error(status: int, code: str) -> bool:
    """A PUBLIC_API_KEY_* error (BizKitHub answers them with 404), or a bare 401/403."""
    return code.startswith(KEY_ERROR_PREFIX) or (not code and status in (401, 403))


def _error_code(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code.strip() if isinstance(code, str) else ""


def _error_text(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ""
    parts = (error.get("message"), error.get("description"))
    return " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())


def _lenient_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return value is True or (isinstance(value, int | float) and value == 1)


def _event_time(event: Mapping[str, Any]) -> datetime | None:
    for key in ("createdAt", "date", "created", "insertedDate"):
        value = event.get(key)
        moment: datetime | None = None
        if isinstance(value, str) and value.strip():
            try:
                moment = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
            except ValueError:
                continue
        elif isinstance(value, int | float) and not isinstance(value, bool):
            try:  # epoch seconds, or milliseconds when that large
                moment = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
            except (OverflowError, OSError, ValueError):
                continue
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None
