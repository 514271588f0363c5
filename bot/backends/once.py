"""This module contains create_once: a create call of a backend without idempotency, made once.

The middleware and BizKitHub take no idempotency key we can rely on: a create whose answer is
lost may have filed the complaint, and calling again could file it twice (two cases, two
refunds). So the attempt is checkpointed as sent before the call; a failure that proves
nothing was filed (no connection, an answer refusing it) clears the mark and may be retried;
anything else (a read timeout, a dropped connection, an answer we cannot read, or the bot
stopping mid-call, found by the next attempt) is BackendOutcomeUnknown: the complaint waits
for an operator, who finds it in the backend (`complaints --adopt`) or sends it again
(`complaints --resubmit`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.backends.base import (
    BackendBadResponse,
    BackendOutcomeUnknown,
    BackendRejected,
    BackendUnavailable,
    Receipt,
    Submission,
)

# The checkpoint's mark of a create sent whose outcome is not recorded yet.
CREATE_SENT = "create_sent"


async def create_once(
    submission: Submission, backend: str, create: Callable[[], Awaitable[Receipt]]
) -> Receipt:
    """Calls `create` unless an earlier attempt's create may have filed the complaint."""
    if submission.checkpoint.get(CREATE_SENT):
        raise BackendOutcomeUnknown(
            f"an earlier attempt sent the complaint to {backend} and got no answer (the bot "
            "stopped meanwhile); it may be filed there"
        )
    await submission.checkpoint_now({**submission.checkpoint, CREATE_SENT: "1"})
    try:
        return await create()
    except BackendOutcomeUnknown:
        raise
    except BackendBadResponse as err:
        raise BackendOutcomeUnknown(
            f"{err.detail}; {backend} may have filed the complaint"
        ) from err
    except (BackendUnavailable, BackendRejected):
        # An answer (or no connection at all) says nothing was filed: safe to try again.
        await submission.checkpoint_now(
            {k: v for k, v in submission.checkpoint.items() if k != CREATE_SENT}
        )
        raise
