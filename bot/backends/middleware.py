"""This module contains the adapter for the complaints middleware of seed 000 (raise and track)."""

from __future__ import annotations

import base64
import logging
from typing import Any

import httpx
from pydantic import SecretStr

from bot.backends._http import json_body, raise_for_transient, scrub, translate_transport_errors
from bot.backends.base import (
    BackendBadResponse,
    BackendRejected,
    ComplaintBackend,
    ComplaintStatus,
    Receipt,
    RejectionReason,
    Submission,
)
from bot.backends.middleware_responses import parse_answer, to_receipt, to_status
from bot.backends.once import create_once
from bot.complaint import (
    ComplaintEnvelope,
    ConversationRequest,
    EntityInfo,
    Parameters,
    Params,
    QueryInfo,
    UserInfo,
)
from bot.config import ConfigError, Settings

logger = logging.getLogger(__name__)

RAISE_PATH = "/api/rest/v1/ecom/integrations/raiseComplaintsAgainstOrder"
TRACK_PATH = "/api/rest/v1/ecom/integrations/getComplaintsTrackingDetails"
PROBE_COMPLAINT_ID = "0"
# The longest piece of a refusal's own message kept for the operators' logs.
_MAX_DETAIL = 200


class MiddlewareBackend(ComplaintBackend):
    """Raises complaints with the middleware and asks it for their tracking details."""

    name = "middleware"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        interest_type: str,
        username: str | None = None,
        password: SecretStr | None = None,
        token: SecretStr | None = None,
        honours_idempotency_key: bool = False,
    ) -> None:
        self._client = client
        self._idempotent = honours_idempotency_key
        self._base_url = base_url.rstrip("/")
        self._interest_type = interest_type
        self._secrets = [
            s.get_secret_value()
            for s in (password, token)
            if s is not None and s.get_secret_value()
        ]
        self._auth: bytes | None = None
        if token is not None and token.get_secret_value():
            self._auth = b"Bearer " + token.get_secret_value().encode()
        elif username is not None and password is not None:
            pair = f"{username}:{password.get_secret_value()}".encode()
            self._auth = b"Basic " + base64.b64encode(pair)
            self._secrets.append(base64.b64encode(pair).decode())

    @classmethod
    def from_settings(cls, settings: Settings, client: httpx.AsyncClient) -> MiddlewareBackend:
        """The adapter as the MIDDLEWARE_* settings describe it."""
        if not settings.middleware_base_url:
            raise ConfigError("MIDDLEWARE_BASE_URL: is required when COMPLAINT_BACKEND=middleware")
        return cls(
            client,
            base_url=settings.middleware_base_url,
            interest_type=settings.middleware_interest_type,
            username=settings.middleware_username,
            password=settings.middleware_password,
            token=settings.middleware_token,
            honours_idempotency_key=settings.middleware_honours_idempotency_key,
        )

    @property
    def host(self) -> str:
        """The middleware's host (and port when one is given), never any credentials."""
        try:
            url = httpx.URL(self._base_url)
        except httpx.InvalidURL:
            return "an invalid MIDDLEWARE_BASE_URL"
        return f"{url.host}:{url.port}" if url.port else url.host

    async def submit(self, submission: Submission) -> Receipt:
        """Raises the complaint; the receipt carries the middleware's number, text and cards."""
        envelope = submission.envelope.with_interest(self._interest_type)

        async def create() -> Receipt:
            response = await self._post(RAISE_PATH, envelope, idempotency_key=submission.key)
            self._refuse_unless_ok(response, not_found=RejectionReason.OTHER)
            return to_receipt(parse_answer(json_body(response, self.name), self.name), self.name)

        if self._idempotent:  # the key makes a second create of it a no-op: just retry
            return await create()
        # The Idempotency-Key header is sent, but the API documents no promise to honour it:
        # a create whose answer is lost is never sent again blindly.
        return await create_once(submission, self.name, create)

    async def status(self, receipt: Receipt, envelope: ComplaintEnvelope) -> ComplaintStatus:
        """Asks for the complaint's tracking details; the status is read from their words."""
        query = envelope.with_interest(self._interest_type).with_entity(
            complaintId=receipt.reference
        )
        response = await self._post(TRACK_PATH, query)
        self._refuse_unless_ok(response, not_found=RejectionReason.NOT_FOUND)
        return to_status(parse_answer(json_body(response, self.name), self.name))

    async def probe(self) -> str:
        """Asks for the tracking details of complaint "0": any answer but a refusal will do."""
        response = await self._post(TRACK_PATH, _probe_envelope(self._interest_type))
        if response.status_code in (401, 403):
            self._refuse_unless_ok(response, not_found=RejectionReason.NOT_FOUND)
        return f"{self.name} reachable at {self.host} (HTTP {response.status_code})"

    async def _post(
        self, path: str, envelope: ComplaintEnvelope, *, idempotency_key: str | None = None
    ) -> httpx.Response:
        """POSTs the envelope; transport errors, 5xx and 429 become BackendUnavailable."""
        headers: dict[bytes, bytes] = {b"Accept": b"application/json"}
        if self._auth is not None:
            headers[b"Authorization"] = self._auth
        if idempotency_key:
            headers[b"Idempotency-Key"] = idempotency_key.encode()
        try:
            creating = idempotency_key is not None and not self._idempotent
            with translate_transport_errors(self.name, creating=creating):
                response = await self._client.post(
                    self._base_url + path, json=envelope.to_json_dict(), headers=headers
                )
        except httpx.InvalidURL:
            raise BackendRejected(
                f"{self.name}: MIDDLEWARE_BASE_URL is not a valid URL",
                reason=RejectionReason.MISCONFIGURED,
            ) from None
        raise_for_transient(response, self.name)
        return response

    def _refuse_unless_ok(self, response: httpx.Response, *, not_found: RejectionReason) -> None:
        """Raises BackendRejected for a 4xx and BackendBadResponse for anything else not 2xx."""
        code = response.status_code
        if 200 <= code < 300:
            return
        if code in (401, 403):
            logger.warning("%s rejected our credentials (HTTP %d)", self.name, code)
            raise BackendRejected(
                f"{self.name} rejected our credentials (HTTP {code})",
                reason=RejectionReason.MISCONFIGURED,
            )
        if 400 <= code < 500:
            reason = not_found if code == 404 else RejectionReason.OTHER
            said = self._their_words(response)
            raise BackendRejected(
                f"{self.name} refused the request (HTTP {code}){': ' + said if said else ''}",
                reason=reason,
            )
        raise BackendBadResponse(f"{self.name} answered an unexpected HTTP {code}")

    def _their_words(self, response: httpx.Response) -> str:
        """A short, secret-free excerpt of the middleware's own explanation of a refusal."""
        try:
            data: Any = response.json()
        except ValueError:
            return ""
        said = ""
        if isinstance(data, dict):
            try:
                said = parse_answer(data, self.name).text
            except BackendBadResponse:
                said = next(
                    (
                        str(data[k])
                        for k in ("message", "error", "detail", "errorMessage")
                        if isinstance(data.get(k), str | int)
                    ),
                    "",
                )
        return scrub(" ".join(said.split()), self._secrets)[:_MAX_DETAIL]


def _probe_envelope(interest_type: str) -> ComplaintEnvelope:
    """A synthetic tracking query that refers to no real customer or complaint."""
    return ComplaintEnvelope(
        conversationRequest=ConversationRequest(userInfo=UserInfo(uid="probe")),
        queryInfo=QueryInfo(
            interestType=interest_type,
            parameters=Parameters(
                params=Params(
                    entityInfo=EntityInfo(
                        orderId=PROBE_COMPLAINT_ID,
                        problemStatment="reachability check",
                        category="other",
                        complaintId=PROBE_COMPLAINT_ID,
                    )
                )
            ),
        ),
        languageCode="en",
    )
