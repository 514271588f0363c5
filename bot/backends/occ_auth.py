"""This module contains the OCC agent login: one shared, lazily renewed Bearer token."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from bot.backends._http import json_body, raise_for_transient, translate_transport_errors
from bot.backends.base import (
    BackendBadResponse,
    BackendError,
    BackendRejected,
    BackendUnavailable,
    RejectionReason,
)

logger = logging.getLogger("bot.backends.occ")

BACKEND = "OCC"
LOGIN_PATH = "/ccagent/v1/login"
# OCC agent tokens live about 15 minutes; used when the login answer does not say.
DEFAULT_EXPIRES_IN_SECONDS = 900.0
# A token is renewed this long before it runs out (or 10% of its lifetime, if that is less).
RENEW_MARGIN_SECONDS = 60.0


def misconfigured(detail: str) -> BackendRejected:
    """A MISCONFIGURED rejection, announced once to the operators' log."""
    logger.warning("%s", detail)
    return BackendRejected(detail, reason=RejectionReason.MISCONFIGURED)


def error_summary(body: Any) -> tuple[str, str, str]:
    """The `errorCode`, `message` and `o:errorPath` of an OCC error body ("" where absent).

    Falls back to the first entry of `errors` for what the top level leaves out.
    """
    if not isinstance(body, Mapping):
        return "", "", ""
    entries: list[Mapping[str, Any]] = [body]
    nested = body.get("errors")
    if isinstance(nested, list):
        entries += [e for e in nested if isinstance(e, Mapping)]

    def first(key: str) -> str:
        for entry in entries:
            value = entry.get(key)
            if value is not None and str(value).strip():
                return str(value).strip()
        return ""

    return first("errorCode"), first("message"), first("o:errorPath")


def _copy(error: BackendError) -> BackendError:
    """A fresh instance of a login failure, for a caller that waited on that same login."""
    if isinstance(error, BackendUnavailable):
        return BackendUnavailable(error.detail, retry_after=error.retry_after)
    if isinstance(error, BackendRejected):
        return BackendRejected(error.detail, reason=error.reason, field=error.field)
    return BackendBadResponse(error.detail)


class OccAuth:
    """Logs the agent in, caches the token and renews it; concurrent callers share one login.

    The token is renewed `min(60 s, 10% of expires_in)` before it runs out, measured with the
    injected clock. Callers that queued behind a login that failed get that failure instead of
    trying again themselves, so an outage or a wrong password costs one request, not twenty.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        username: str,
        password: SecretStr,
        headers: Callable[[], dict[str, str]],
        clock: Callable[[], float],
    ) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + LOGIN_PATH
        self._username = username
        self._password = password
        self._headers = headers
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._renew_at = -math.inf
        self._finished = 0  # logins completed (or failed), to spot one that ended while waiting
        self._failure: BackendError | None = None

    def _fresh(self) -> str | None:
        """The cached token if it is not due for renewal yet."""
        if self._token is not None and self._clock() < self._renew_at:
            return self._token
        return None

    def secrets(self) -> list[str]:
        """The values that must never reach a message: the password and the current token."""
        values = [self._password.get_secret_value(), self._token or ""]
        return [v for v in values if v]

    async def token(self) -> str:
        """A valid token: the cached one, else from a new login (shared with other callers)."""
        seen = self._finished
        async with self._lock:
            fresh = self._fresh()
            if fresh is not None:
                return fresh
            return await self._login_once(seen)

    async def renew(self, rejected: str) -> str:
        """A token to replace `rejected` (answered 401): a new login, unless a call just did one."""
        seen = self._finished
        async with self._lock:
            if self._token is not None and self._token != rejected and self._fresh() is not None:
                return self._token
            return await self._login_once(seen)

    async def login(self) -> str:
        """Logs in now, whatever is cached (the probe)."""
        async with self._lock:
            return await self._login_once(self._finished)

    def forget(self, token: str) -> None:
        """Drops `token` from the cache (it was refused even right after a login)."""
        if self._token == token:
            self._token = None
            self._renew_at = -math.inf

    async def _login_once(self, seen: int) -> str:
        """Logs in, unless a login finished while the caller waited for the lock and failed."""
        if self._finished != seen and self._failure is not None:
            raise _copy(self._failure)
        self._failure = None
        self._token = None
        try:
            token, expires_in = await self._post_login()
        except BackendError as err:
            self._failure = err
            raise
        finally:
            self._finished += 1
        margin = min(RENEW_MARGIN_SECONDS, expires_in / 10)
        self._token = token
        self._renew_at = self._clock() + expires_in - margin
        return token

    async def _post_login(self) -> tuple[str, float]:
        """POSTs the login form; the token and its lifetime in seconds."""
        form = {
            "grant_type": "password",
            "username": self._username,
            "password": self._password.get_secret_value(),
        }
        headers = {**self._headers(), "Accept": "application/json"}
        with translate_transport_errors(BACKEND):
            response = await self._client.post(self._url, data=form, headers=headers)
        raise_for_transient(response, BACKEND)
        if response.status_code >= 400:
            raise self._refused(response)
        body = json_body(response, BACKEND)
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            raise BackendBadResponse(f"{BACKEND} login answered without an access_token")
        return token, _expires_in(body.get("expires_in"))

    def _refused(self, response: httpx.Response) -> BackendRejected:
        """The MISCONFIGURED rejection of a login answered with a 4xx."""
        code = response.status_code
        try:
            error_code, _, _ = error_summary(response.json())
        except ValueError:
            error_code = ""
        if error_code == "30014":
            return misconfigured(
                f"{BACKEND} refused the site id of OCC_SITE_ID (HTTP {code} on login, "
                "errorCode 30014)"
            )
        if code == 404:
            return misconfigured(
                f"{BACKEND} has no agent login at OCC_BASE_URL (HTTP 404 on login)"
            )
        suffix = f", errorCode {error_code}" if error_code else ""
        return misconfigured(
            f"{BACKEND} refused the agent credentials OCC_USERNAME/OCC_PASSWORD "
            f"(HTTP {code} on login{suffix})"
        )


def _expires_in(value: Any) -> float:
    """The token lifetime the login answered, or the documented default when it did not."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return DEFAULT_EXPIRES_IN_SECONDS
    if not math.isfinite(seconds) or seconds <= 0:
        return DEFAULT_EXPIRES_IN_SECONDS
    return seconds
