"""Notification channels: one contract, one module each, one registry line each.

A channel renders an incident into its own message (`render`), sends it (`send`), may edit what it
sent (`edit`), and says how its message reads on the local preview page (`Message.preview`). The
delivery engine (notify/delivery.py) knows nothing channel-specific: it claims an outbox record, asks
the channel for the message of that record's kind, sends it (or shows it on the preview page when the
channel has no credentials) and settles the outcome.

Adding a channel (Slack is the example): write a subclass of Channel in a module here, say what it can do in
shared/config/channels.py and add its "module:Class" line to REGISTRY; routes in the team file can then name it.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

from shared.channels.base import SUPERSEDED, Channel, Context, Message, Result  # noqa: F401  (the contract)
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


class Registry(MutableMapping):
    """The channels by name, each imported when first asked for: `ingest` answers before it sends, so a cold
    instance answers its first alert without loading any vendor's code (Slack's Block Kit, the email package)."""

    def __init__(self, where: dict[str, str]):
        self._where = dict(where)             # name: "module:Class"
        self._loaded: dict[str, type[Channel]] = {}

    def __getitem__(self, name: str) -> type[Channel]:
        if name not in self._loaded:
            module, cls = self._where[name].split(":")   # KeyError for a name no channel has
            self._loaded[name] = getattr(importlib.import_module(module), cls)
        return self._loaded[name]

    def __setitem__(self, name: str, channel: type[Channel]) -> None:
        self._where[name] = f"{channel.__module__}:{channel.__qualname__}"
        self._loaded[name] = channel

    def __delitem__(self, name: str) -> None:
        del self._where[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


REGISTRY = Registry({
    "discord": "shared.channels.discord:Discord",
    "discord_staging": "shared.channels.discord:DiscordStaging",
    "email": "shared.channels.email:EmailChannel",
    "github": "shared.channels.github:GitHub",
    "ntfy": "shared.channels.ntfy:Ntfy",
    "sentry": "shared.channels.sentry:Sentry",
    "slack": "shared.channels.slack:Slack",
    "slack_staging": "shared.channels.slack:SlackStaging",
})


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
