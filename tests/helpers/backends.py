"""Fake complaint backends for fault injection: they subclass the real port."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.backends.base import (
    BackendError,
    ComplaintBackend,
    ComplaintStatus,
    Receipt,
    StatusCode,
    Submission,
)
from bot.complaint import ComplaintEnvelope

Outcome = BackendError | Callable[[], None] | None


@dataclass
class ScriptedBackend(ComplaintBackend):
    """Answers each submit with the next scripted outcome (an error to raise), then succeeds.

    `gate`, when set, makes every submit wait until the test opens it: a backend that is slow
    for as long as the test wants. Registrations are idempotent by key, like a careful backend.
    """

    script: list[BackendError] = field(default_factory=list)
    gate: asyncio.Event | None = None
    name: str = "local"
    calls: list[Submission] = field(default_factory=list)
    registered: dict[str, str] = field(default_factory=dict)
    # What status() answers per complaint number (received when not set).
    statuses: dict[str, ComplaintStatus] = field(default_factory=dict)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(500001))

    async def submit(self, submission: Submission) -> Receipt:
        self.calls.append(submission)
        if self.gate is not None:
            await self.gate.wait()
        if self.script:
            raise self.script.pop(0)
        number = self.registered.setdefault(submission.key, str(next(self._numbers)))
        return Receipt(number=number, reference=number, state="received")

    async def status(self, receipt: Receipt, envelope: ComplaintEnvelope) -> ComplaintStatus:
        default = ComplaintStatus(code=StatusCode.RECEIVED, text="received")
        return self.statuses.get(receipt.number, default)


MIDDLEWARE_HOST = "https://middleware.example.com"
MIDDLEWARE_API = f"{MIDDLEWARE_HOST}/api/rest/v1/ecom/integrations"
MIDDLEWARE_SETTINGS = {
    "complaint_backend": "middleware",
    "middleware_base_url": MIDDLEWARE_HOST,
    "middleware_token": "mw-token-1234",
}
# The middleware's answer registering complaint 12345 (the seed 000 container shape).
MIDDLEWARE_REGISTERED = {
    "response": {
        "responseType": "container",
        "responseMessages": [
            {
                "containerResponse": {
                    "responseText": "Registered complaint Number 12345.",
                    "attributes": [{"name": "complaintId", "value": "12345"}],
                }
            }
        ],
    }
}
