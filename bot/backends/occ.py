"""This module contains the Oracle Commerce Cloud backend: complaints become agent appeasements."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx
from pydantic import SecretStr

from bot.backends._http import json_body, raise_for_transient, scrub, translate_transport_errors
from bot.backends.base import (
    BackendBadResponse,
    BackendError,
    BackendRejected,
    BackendUnavailable,
    ComplaintBackend,
    ComplaintStatus,
    Receipt,
    RejectionReason,
    StatusCode,
    Submission,
)
from bot.backends.occ_auth import BACKEND, OccAuth, error_summary, misconfigured
from bot.complaint import ClaimedItem, ComplaintEnvelope, evidence_text
from bot.config import ConfigError, Settings, mapped_value

logger = logging.getLogger(__name__)

APPEASEMENTS_PATH = "/ccagent/v1/appeasements"
CHECKPOINT_KEY = "appeasement_id"
# Saved before the create call: an attempt whose outcome is unknown leaves it behind.
CREATING_KEY = "creating"
# Appeasements of one order looked through for the one an earlier attempt may have created.
SEARCH_LIMIT = 250
APPEASEMENT_TYPE = "order"
INCOMPLETE = "INCOMPLETE"

# errorCodes OCC documents as its own internal failures: worth trying again later.
INTERNAL_ERROR_CODES = frozenset({"900000", "900001", "900015"})
# Appeasement states (normalised: upper case, `_` between words) → the port's status codes.
STATE_CODES: Mapping[str, StatusCode] = {
    "INCOMPLETE": StatusCode.RECEIVED,
    "SUBMITTED": StatusCode.IN_PROGRESS,
    "PENDING": StatusCode.IN_PROGRESS,
    "PENDING_APPROVAL": StatusCode.IN_PROGRESS,
    "IN_PROGRESS": StatusCode.IN_PROGRESS,
    "PROCESSING": StatusCode.IN_PROGRESS,
    "APPROVED": StatusCode.RESOLVED,
    "PROCESSED": StatusCode.RESOLVED,
    "COMPLETE": StatusCode.RESOLVED,
    "COMPLETED": StatusCode.RESOLVED,
    "SETTLED": StatusCode.RESOLVED,
    "REFUNDED": StatusCode.RESOLVED,
    "RESOLVED": StatusCode.RESOLVED,
    "REJECTED": StatusCode.REJECTED,
    "DENIED": StatusCode.REJECTED,
    "DECLINED": StatusCode.REJECTED,
    "CANCELLED": StatusCode.CLOSED,
    "CANCELED": StatusCode.CLOSED,
    "CLOSED": StatusCode.CLOSED,
}
# "order", "order id", "orderId", "order_id" as a word, but not a quoted value such as 'order'.
_ORDER_WORDS = re.compile(r"(?<!['\"])\border(?:[ _-]?id)?\b(?!['\"])", re.IGNORECASE)
_MAX_MESSAGE_CHARS = 200

Kind = Literal["create", "submit", "read", "status", "search"]


@dataclass(frozen=True, slots=True)
class _Call:
    """One OCC request: what it is for (which chooses how errors read), method and path."""

    kind: Kind
    method: str
    path: str

    @property
    def label(self) -> str:
        """E.g. `POST /ccagent/v1/appeasements`, for messages."""
        return f"{self.method} {self.path}"


def _read_call(kind: Kind, appeasement_id: str) -> _Call:
    return _Call(kind, "GET", f"{APPEASEMENTS_PATH}/{quote(appeasement_id, safe='')}")


def normalise_state(state: str) -> str:
    """An appeasement state in upper case with `_` between words (`pending approval` → ...)."""
    return re.sub(r"[\s-]+", "_", state.strip()).upper()


def status_code_for(state: str) -> StatusCode:
    """The port's status code of an appeasement state; UNKNOWN for states OCC did not document."""
    normalised = normalise_state(state)
    if normalised in STATE_CODES:
        return STATE_CODES[normalised]
    if normalised.startswith("PENDING"):
        return StatusCode.IN_PROGRESS
    return StatusCode.UNKNOWN


def _is_about_order(message: str, error_path: str) -> bool:
    """Whether an OCC error concerns the order (its errorPath, else the words of its message)."""
    if error_path:
        return "order" in error_path.lower()
    return bool(_ORDER_WORDS.search(message))


class OccBackend(ComplaintBackend):
    """Files complaints as Oracle Commerce Cloud appeasements through the agent API.

    A complaint is created (`INCOMPLETE`), its id checkpointed in the ledger, and only then
    submitted, so a retry after an unclear failure submits that same appeasement or finds it
    already submitted. The create itself can be lost on the way back (a read timeout, a 5xx
    from a proxy, a crash): its comment carries the complaint's key, and before creating
    another, a retry looks through the order's appeasements for it and adopts it. One
    complaint never becomes two appeasements (two refunds).
    """

    name = "occ"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        username: str,
        password: SecretStr,
        site_id: str | None,
        reasons: Mapping[str, str],
        clock: Callable[[], float] = time.monotonic,
        refund_type: str = "externalRefund",
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._site_id = site_id or None
        self._reasons = dict(reasons)
        self._refund_type = refund_type
        self._auth = OccAuth(
            client,
            base_url=self._base_url,
            username=username,
            password=password,
            headers=self._site_headers,
            clock=clock,
        )

    @classmethod
    def from_settings(cls, settings: Settings, client: httpx.AsyncClient) -> OccBackend:
        """The backend configured by OCC_BASE_URL, OCC_USERNAME, OCC_PASSWORD, OCC_SITE_ID, ..."""
        if not settings.occ_base_url:
            raise ConfigError("OCC_BASE_URL: is required when COMPLAINT_BACKEND=occ")
        if not settings.occ_username:
            raise ConfigError("OCC_USERNAME: is required when COMPLAINT_BACKEND=occ")
        if settings.occ_password is None:
            raise ConfigError("OCC_PASSWORD: is required when COMPLAINT_BACKEND=occ")
        return cls(
            client,
            base_url=settings.occ_base_url,
            username=settings.occ_username,
            password=settings.occ_password,
            site_id=settings.occ_site_id,
            reasons=settings.occ_reasons,
            refund_type=settings.occ_refund_type,
        )

    async def submit(self, submission: Submission) -> Receipt:
        """Creates the appeasement (or finds the one an earlier attempt created) and submits it."""
        envelope = submission.envelope
        language = envelope.languageCode
        appeasement_id = submission.checkpoint.get(CHECKPOINT_KEY, "")
        if not appeasement_id and submission.checkpoint.get(CREATING_KEY):
            appeasement_id = await self._find_own(submission)
            if not appeasement_id:  # created by a version that did not choose the id
                appeasement_id = await self._find_created(submission)
        if appeasement_id:
            current = await self._call(_read_call("read", appeasement_id), language=language)
        else:
            await submission.checkpoint_now({**submission.checkpoint, CREATING_KEY: "1"})
            create = _Call("create", "POST", APPEASEMENTS_PATH)
            body = self._payload(envelope, submission.key)
            current = await self._call(create, language=language, body=body)
            appeasement_id = _id_of(current)
            logger.info(
                "OCC created appeasement %s for complaint %s", appeasement_id, submission.key
            )
            await submission.checkpoint_now({CHECKPOINT_KEY: appeasement_id})
        state = _state_of(current)
        if state and normalise_state(state) != INCOMPLETE:
            # Submitted (or further) already, by an earlier attempt: never submit it twice.
            return _receipt(appeasement_id, current, envelope)
        submit = _Call("submit", "POST", f"{APPEASEMENTS_PATH}/submit")
        submitted = await self._call(submit, language=language, body={"id": appeasement_id})
        return _receipt(appeasement_id, submitted, envelope)

    async def status(self, receipt: Receipt, envelope: ComplaintEnvelope) -> ComplaintStatus:
        """The appeasement's state as a ComplaintStatus (`text` is OCC's raw state)."""
        body = await self._call(
            _read_call("status", receipt.reference), language=envelope.languageCode
        )
        state = _state_of(body)
        if not state:
            raise BackendBadResponse(f"{BACKEND} answered an appeasement without a state")
        return ComplaintStatus(code=status_code_for(state), text=state)

    async def probe(self) -> str:
        """Logs the agent in afresh; says where."""
        await self._auth.login()
        return f"OCC login ok at {httpx.URL(self._base_url).host}"

    def _site_headers(self) -> dict[str, str]:
        """The headers every OCC request carries: the site, when one is configured."""
        return {"X-CCSite": self._site_id} if self._site_id else {}

    async def _find_own(self, submission: Submission) -> str:
        """The appeasement an earlier attempt created under the id we chose for the complaint
        (createAppeasement takes a caller's id and never makes a second one with it),
        checkpointed; "" when OCC has none by that id."""
        chosen = appeasement_id_for(submission.key)
        try:
            await self._call(_read_call("read", chosen), language=submission.envelope.languageCode)
        except BackendRejected as err:
            if err.reason is RejectionReason.NOT_FOUND:
                return ""
            raise BackendUnavailable(
                f"could not read the appeasement an earlier attempt may have created "
                f"({err.detail}); not creating another"
            ) from err
        logger.warning(
            "OCC had created appeasement %s for complaint %s before its answer was lost; "
            "adopting it",
            chosen,
            submission.key,
        )
        await submission.checkpoint_now({CHECKPOINT_KEY: chosen})
        return chosen

    async def _find_created(self, submission: Submission) -> str:
        """The appeasement an earlier attempt created (its comment names the complaint's key),
        checkpointed; "" when there is none. Unless OCC says for certain, nothing is created:
        an answer we cannot read is an outage, and the attempt is tried again later."""
        envelope = submission.envelope
        order = envelope.entity.orderId.replace("\\", "\\\\").replace('"', '\\"')
        query = f'orderId eq "{order}"'
        parameters = urlencode({"q": query, "limit": SEARCH_LIMIT})
        search = _Call("search", "GET", f"{APPEASEMENTS_PATH}?{parameters}")
        try:
            found = await self._call(search, language=envelope.languageCode)
        except BackendRejected as err:
            raise BackendUnavailable(
                f"could not look for the appeasement an earlier attempt may have created "
                f"({err.detail}); not creating another"
            ) from err
        items = found.get("items")
        if not isinstance(items, list):
            raise BackendBadResponse(f"{BACKEND} listed appeasements without items")
        marker = _reference(submission.key)
        for item in items:
            if not isinstance(item, dict) or not _id_of_or_empty(item):
                continue
            if "comments" not in item:  # a list without details: read the appeasement
                item = await self._call(
                    _read_call("read", _id_of_or_empty(item)), language=envelope.languageCode
                )
            if any(marker in comment for comment in _comments_of(item)):
                appeasement_id = _id_of(item)
                logger.warning(
                    "OCC had created appeasement %s for complaint %s before its answer was lost; "
                    "adopting it",
                    appeasement_id,
                    submission.key,
                )
                await submission.checkpoint_now({CHECKPOINT_KEY: appeasement_id})
                return appeasement_id
        return ""

    def _payload(self, envelope: ComplaintEnvelope, key: str) -> dict[str, Any]:
        """The new appeasement for a complaint; its comment names the complaint's key."""
        entity = envelope.entity
        reason = mapped_value(self._reasons, entity.category)
        if not reason:
            raise misconfigured(
                f"OCC_REASONS has no appeasement reason for category '{entity.category}' "
                "(add it, or *=reason)"
            )
        comment = (
            f"Filed via Telegram by {envelope.customer_name()} "
            f"(Telegram user id {envelope.user.uid}), {_reference(key)}"
        )
        # The solution wanted, the contact, the files, the items and the account (masked)
        # have no fields of their own.
        evidence = evidence_text(entity, claimed=True)
        body: dict[str, Any] = {
            # Our own id: a create repeated after a lost answer cannot make a second one.
            "id": appeasement_id_for(key),
            "reason": reason,
            "orderId": entity.orderId,
            "type": APPEASEMENT_TYPE,
            "notes": "\n\n".join(filter(None, [entity.problemStatment, evidence])),
            "comments": [{"comment": comment}],
        }
        damaged = damaged_line_item(entity.items or ())
        if damaged is not None:
            body["damagedLineItemId"] = damaged
        if entity.claimedAmount is not None:
            body["appeasementRefunds"] = [
                {
                    "amount": entity.claimedAmount.value,
                    "currencyCode": entity.claimedAmount.currency,
                    "refundType": self._refund_type,
                }
            ]
        return body

    async def _call(
        self, call: _Call, *, language: str | None, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Sends one request with the agent token (renewed once on a 401); the JSON answer."""
        token = await self._auth.token()
        response = await self._send(call, token, language, body)
        if response.status_code == 401:
            token = await self._auth.renew(token)
            response = await self._send(call, token, language, body)
            if response.status_code == 401:
                self._auth.forget(token)
                raise misconfigured(
                    f"OCC refused the agent token even right after a fresh login "
                    f"(HTTP 401 on {call.label})"
                )
        raise_for_transient(response, BACKEND)
        if 300 <= response.status_code < 400:
            raise BackendBadResponse(f"{BACKEND} answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise self._rejection(response, call)
        answer = json_body(response, BACKEND)
        if not isinstance(answer, dict):
            raise BackendBadResponse(f"{BACKEND} answered {call.label} with no JSON object")
        return answer

    async def _send(
        self, call: _Call, token: str, language: str | None, body: Mapping[str, Any] | None
    ) -> httpx.Response:
        """One HTTP exchange; network errors become BackendUnavailable."""
        headers = {
            **self._site_headers(),
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
        }
        if language and language.strip():
            headers["X-CCAsset-Language"] = language.strip()
        with translate_transport_errors(BACKEND):
            return await self._client.request(
                call.method,
                self._base_url + call.path,
                headers=headers,
                json=dict(body) if body is not None else None,
            )

    def _rejection(self, response: httpx.Response, call: _Call) -> BackendError:
        """The port's error for a 4xx answer, chosen by OCC's errorCode where it gives one."""
        http = response.status_code
        try:
            error_code, message, error_path = error_summary(response.json())
        except ValueError:
            error_code, message, error_path = "", "", ""
        detail = self._detail(call, http, error_code, message)
        if error_code in INTERNAL_ERROR_CODES:
            return BackendUnavailable(detail)
        if error_code == "30014":
            return misconfigured(
                f"OCC refused the site id of OCC_SITE_ID (HTTP {http} on {call.label}, "
                "errorCode 30014)"
            )
        if http == 403:
            return misconfigured(
                f"OCC denied the agent access (HTTP 403 on {call.label}): check the "
                "OCC_USERNAME agent's appeasement permissions"
            )
        if error_code == "900016":
            return BackendRejected(detail, reason=RejectionReason.REFUSED)
        if error_code == "900017":
            return BackendRejected(detail, reason=RejectionReason.INVALID_INPUT, field=error_path)
        if error_code == "900002" or (http == 404 and call.kind in ("read", "status")):
            if call.kind in ("create", "submit") and _is_about_order(message, error_path):
                return BackendRejected(detail, reason=RejectionReason.ORDER_NOT_FOUND)
            return BackendRejected(detail, reason=RejectionReason.NOT_FOUND)
        if _is_about_order(message, error_path):
            return BackendRejected(detail, reason=RejectionReason.ORDER_NOT_FOUND)
        if error_code == "13001":
            return BackendRejected(detail, reason=RejectionReason.INVALID_INPUT, field=error_path)
        if http == 404:
            return misconfigured(
                f"OCC has no {call.label} at OCC_BASE_URL (HTTP 404): check OCC_BASE_URL"
            )
        return BackendRejected(detail)

    def _detail(self, call: _Call, http: int, error_code: str, message: str) -> str:
        """An operator's description of an error answer, with every secret blanked out."""
        detail = f"{BACKEND} answered HTTP {http} on {call.label}"
        if error_code:
            detail += f", errorCode {error_code}"
        if message:
            detail += f": {message[:_MAX_MESSAGE_CHARS]}"
        return scrub(detail, self._auth.secrets())


def _id_of(appeasement: Mapping[str, Any]) -> str:
    """The id of an appeasement answer; BackendBadResponse when it has none."""
    appeasement_id = _id_of_or_empty(appeasement)
    if not appeasement_id:
        raise BackendBadResponse(f"{BACKEND} answered an appeasement without an id")
    return appeasement_id


def _id_of_or_empty(appeasement: Mapping[str, Any]) -> str:
    """The id of an appeasement answer, "" when it has none."""
    value = appeasement.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()


def _comments_of(appeasement: Mapping[str, Any]) -> list[str]:
    """The texts of an appeasement's comments."""
    comments = appeasement.get("comments")
    if not isinstance(comments, list):
        return []
    return [str(c.get("comment", "")) for c in comments if isinstance(c, Mapping)]


def appeasement_id_for(key: str) -> str:
    """The appeasement id chosen for a complaint: stable for its idempotency key, of letters
    and digits only (OCC's own ids look like "app370003"), and 64 bits of hash, so that two
    complaints never meet under one id (the customer sees it as their number)."""
    return "tg" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _reference(key: str) -> str:
    """How a complaint names itself in its appeasement's comment (its idempotency key)."""
    return f"reference {key}"


def _state_of(appeasement: Mapping[str, Any]) -> str:
    """The state of an appeasement answer, "" when it has none."""
    value = appeasement.get("state")
    return value.strip() if isinstance(value, str) else ""


def _receipt(
    appeasement_id: str, appeasement: Mapping[str, Any], envelope: ComplaintEnvelope
) -> Receipt:
    """What the customer keeps of a submitted appeasement."""
    state = _state_of(appeasement)
    order = appeasement.get("orderId")
    order_id = (
        str(order) if isinstance(order, str | int) and str(order) else envelope.entity.orderId
    )
    attributes = [("Order", order_id)]
    if state:
        attributes.append(("State", state))
    return Receipt(
        number=appeasement_id,
        reference=appeasement_id,
        state=state,
        attributes=tuple(attributes),
    )


def damaged_line_item(items: Sequence[ClaimedItem]) -> str | None:
    """The `damagedLineItemId`: the id of the first item picked from the shop's link. An
    appeasement names one damaged line, so with several picked the first (the order's own
    order) is named and all of them are listed in `notes`; typed items have no id."""
    return next((item.orderItemId for item in items if item.orderItemId is not None), None)
