"""This module contains how long a process's claims last, and the name it claims under.

A claim (on a complaint to submit, a message to deliver, a background round) is recorded in
the database with an end time. The holder renews it while the work runs; a process that dies
stops renewing, and its claims run out after CLAIM_SECONDS, when another process takes over.
"""

from __future__ import annotations

import os
import secrets
import socket

# The default of CLAIM_SECONDS; a claim is renewed every third of it while the work runs.
CLAIM_SECONDS = 60.0
# Polling Telegram is handed over sooner: a dead poller's customers would wait meanwhile.
POLLING_LEASE_SECONDS = 15.0


def instance_name() -> str:
    """A name for this process's claims: host, process id, and a random part (a restarted
    process with the same pid must not inherit the claims of its predecessor)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
