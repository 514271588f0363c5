"""This module contains the complaint backend port: the interface, its receipts and its errors.

Error tree (adapters raise only these; httpx exceptions never escape an adapter)::

    BackendError
     ├── BackendUnavailable   network error, timeout, 5xx, 429: try again later
     ├── BackendRejected      a 4xx that retrying cannot fix: tell the customer why
     ├── BackendBadResponse   the answer could not be understood
     └── BackendOutcomeUnknown  a create was sent and no answer says what became of it:
                              retrying could file the complaint twice (operators decide)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.complaint import ComplaintEnvelope

# The values a backend answers with live below every layer (storage keeps them too); they
# are the port's, and importable from here as before.
from bot.receipts import FINAL_STATUSES as FINAL_STATUSES
from bot.receipts import Card as Card
from bot.receipts import ComplaintStatus as ComplaintStatus
from bot.receipts import Media as Media
from bot.receipts import Receipt as Receipt
from bot.receipts import StatusCode as StatusCode


class BackendError(Exception):
    """Base class of every error a complaint backend raises."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BackendUnavailable(BackendError):
    """The backend could not be reached or is overloaded; the same call may succeed later."""

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class RejectionReason(StrEnum):
    """Why a backend refused a complaint, in terms the customer's message is chosen by."""

    ORDER_NOT_FOUND = "order_not_found"
    INVALID_INPUT = "invalid_input"
    MISCONFIGURED = "misconfigured"
    REFUSED = "refused"
    NOT_FOUND = "not_found"
    OTHER = "other"


class BackendRejected(BackendError):
    """The backend refused the request; retrying the same request cannot help.

    `detail` is for operators' logs (never a secret); `reason` and `field` choose what the
    customer is told.
    """

    def __init__(
        self, detail: str, *, reason: RejectionReason = RejectionReason.OTHER, field: str = ""
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.field = field


class BackendBadResponse(BackendError):
    """The backend answered with something we could not parse."""


class BackendOutcomeUnknown(BackendError):
    """A create call may have filed the complaint, but no answer says so (a read timeout, a
    dropped connection, an answer we cannot read, a stop mid-call): a backend without
    idempotency would file it twice if called again, so operators look and decide."""


Checkpoint = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Submission:
    """One attempt at registering a confirmed complaint.

    `checkpoint` is what an earlier attempt of the same complaint saved with
    `save_checkpoint` (e.g. the id of an OCC appeasement created but not yet submitted), so
    an adapter can make a retry safe. `save_checkpoint` commits to the ledger before it returns.
    """

    key: str
    envelope: ComplaintEnvelope
    attempt: int = 1
    # When the customer confirmed it (unix seconds): deadlines count from then, not from a retry.
    confirmed_at: float | None = None
    checkpoint: Checkpoint = field(default_factory=dict)
    save_checkpoint: Callable[[Checkpoint], Awaitable[None]] | None = None

    async def checkpoint_now(self, values: Checkpoint) -> None:
        """Stores progress durably before the next, riskier step."""
        if self.save_checkpoint is not None:
            await self.save_checkpoint(values)


class ComplaintBackend(ABC):
    """The port every complaint backend implements; lifecycle as PTB's BaseRequest."""

    name: str = "backend"

    async def initialize(self) -> None:  # noqa: B027 - optional hook
        """Opens what the backend needs (sessions, tokens)."""

    async def shutdown(self) -> None:  # noqa: B027 - optional hook
        """Releases what `initialize` opened."""

    @abstractmethod
    async def submit(self, submission: Submission) -> Receipt:
        """Registers a complaint and returns its receipt."""

    @abstractmethod
    async def status(self, receipt: Receipt, envelope: ComplaintEnvelope) -> ComplaintStatus:
        """The current status of a registered complaint."""

    @property
    def withdraws(self) -> bool:
        """Whether `withdraw` tells the backend (else operators are told to close it there)."""
        return False

    async def withdraw(self, receipt: Receipt, envelope: ComplaintEnvelope) -> bool:
        """Tells the backend that the customer withdrew the complaint; False when its API
        has no way to (the operator chat is told instead). Telling it twice does no harm."""
        return False

    async def probe(self) -> str:
        """Checks that the backend is reachable and accepts our credentials; says what it did.

        Raises a BackendError when it is not.
        """
        return "nothing to check"
