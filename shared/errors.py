"""What a use case can refuse, in the team's words; each transport maps these once (web.STATUS for HTTP).

Use cases (ingest, the API's actions, on-call, handoff) raise these and never speak HTTP, so a Discord
interaction can answer the same refusal as an ephemeral message and the API as a status code.
"""
from __future__ import annotations


class Refusal(Exception):
    """The request cannot be done as asked; the message says why, for the person or tool that asked."""

    def __init__(self, message: str, body: dict | None = None):
        super().__init__(message)
        self.message = message
        self.body = body  # a vendor's own error shape (PagerDuty answers 400 in its format), if any


class BadInput(Refusal):
    """The caller sent something we cannot use (malformed, unknown, out of range)."""


class Unauthorized(Refusal):
    """Missing or wrong credentials."""


class Forbidden(Refusal):
    """The actor is known but may not do this (say, a severity change by someone neither on call nor lead)."""


class NotFound(Refusal):
    """No such incident, override or source."""


class Conflict(Refusal):
    """The incident's state does not allow it (already resolved, severity pinned by the team lead)."""


class Closed(Conflict):
    """The incident is resolved: it cannot be acknowledged or re-classified."""


class AlreadyAcknowledged(Conflict):
    """Someone else acknowledged the incident first; nothing changed."""


class Pinned(Conflict):
    """The team lead pinned the severity; only the team lead may change it."""


class Contended(Conflict):
    """Others kept changing the same incident at the same moment; trying again will work."""


class TooLarge(Refusal):
    """What was asked would make a stored document larger than Firestore keeps (1 MiB)."""


class Unavailable(Refusal):
    """Firestore could not be reached or answered with a server error: try again later."""
