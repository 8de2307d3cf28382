"""Notification channels: one contract, one module each, one registry line each.

A channel renders an incident into its own message (`render`), sends it (`send`), may edit what it
sent (`edit`), and says how its message reads on the local preview page (`Message.preview`). The
delivery engine (notify/delivery.py) knows nothing channel-specific: it claims an outbox record, asks
the channel for the message of that record's kind, sends it (or shows it on the preview page when the
channel has no credentials) and settles the outcome.

Adding a channel (Slack, Telegram, ...): write a subclass of Channel in a module here, say what it can do in
shared/config/channels.py and add it to REGISTRY; routes in the team file can then name it.
"""
from __future__ import annotations

from shared.channels.base import SUPERSEDED, Channel, Context, Message, Result  # noqa: F401  (the contract)
from shared.channels.discord import Discord, DiscordStaging
from shared.channels.email import EmailChannel
from shared.channels.github import GitHub
from shared.channels.ntfy import Ntfy
from shared.channels.sentry import Sentry
from shared.channels.slack import Slack, SlackStaging
from shared.config.channels import (  # noqa: F401  (the message kinds are the channels' vocabulary)
    CAPABILITIES,
    DIGEST,
    ESCALATION,
    MILESTONE,
    OPENED,
    POSTMORTEM,
    POSTMORTEM_ISSUE,
    POSTMORTEM_SYNC,
    RAISED,
    RESOLVED,
    STEP,
    TEXT,
    Capabilities,
)
from shared.config.settings import Settings

REGISTRY: dict[str, type[Channel]] = {c.name: c for c in (
    Discord,
    DiscordStaging,
    EmailChannel,
    GitHub,
    Ntfy,
    Slack,
    SlackStaging,
    Sentry,
)}


def build(name: str, settings: Settings) -> Channel:
    """Return the channel called `name`, set up from the settings."""
    return REGISTRY[name](settings)


def kind_of_record(record: dict) -> str:
    """Return the message kind of an outbox record: the one stored on it, else (a record written before kinds
    were stored) the one its reason names."""
    return record.get("kind") or kind_of(record["reason"])


def kind_of(reason: str) -> str:
    """Return the message kind of an outbox record stored without one (before kinds were stored on records), from
    its reason ('severity-high' -> raised, 'status-update-1-late' -> text, ...)."""
    prefix = reason.split("-", 1)[0]
    return {"opened": OPENED, "severity": RAISED, "resolved": RESOLVED, "milestone": MILESTONE,
            "escalation": ESCALATION, "handoff": TEXT, "notice": TEXT, "daily": TEXT, "postmortem": POSTMORTEM,
            "postmortem_issue": POSTMORTEM_ISSUE, "postmortem_sync": POSTMORTEM_SYNC, "step": STEP,
            "status": TEXT}.get(prefix, prefix)
