"""Notification channels: one contract, one module each, one registry line each.

A channel renders an incident into its own message (`render`), sends it (`send`), may edit what it
sent (`edit`), and says how its message reads on the local preview page (`Message.preview`). The
delivery engine (notify/delivery.py) knows nothing channel-specific: it claims an outbox record, asks
the channel for the message of that record's kind, sends it (or shows it on the preview page when the
channel has no credentials) and settles the outcome.

Adding a channel (Slack, Telegram, ...): write a subclass of Channel in a module here and add it to
REGISTRY; routes in the team file can then name it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.channels.base import SUPERSEDED, Result
from shared.config import Config
from shared.config.settings import Settings
from shared.model import Incident

# What a message is about; each outbox record's reason maps to one of these.
OPENED, RAISED, RESOLVED, MILESTONE, ESCALATION, TEXT, DIGEST, STEP = \
    "opened", "raised", "resolved", "milestone", "escalation", "text", "digest", "step"
# STEP: one step of the team's workflow (👀 acknowledged, 🔍 investigating, ...), a reply in the alert's thread
# with the matching reaction on the alert; its text and emoji come ready in the record (plan.step_record)
POSTMORTEM, POSTMORTEM_ISSUE, POSTMORTEM_SYNC = "postmortem", "postmortem_issue", "postmortem_sync"
# POSTMORTEM: a postmortem's notice (the draft, a reminder, an overdue action item), text ready in the record, in
# the incident's thread where its alert has one; POSTMORTEM_ISSUE: the postmortem's issue; POSTMORTEM_SYNC: that
# issue's body brought up to date with the postmortem as it is at delivery (shared/notify/postmortem.py)


@dataclass(frozen=True)
class Message:
    """One rendered message for one channel."""

    kind: str                          # opened | raised | resolved | milestone | escalation | text | digest | step
    payload: object                    # what the vendor's API takes (Discord JSON, an Email, a GitHub issue)
    preview: str                       # how it reads, for the local preview page and the log
    recipients: tuple[str, ...] = ()   # addressed channels (email)
    progress: dict = field(default_factory=dict)   # steps of a multi-step send already done (from the record)
    ref: str | None = None             # what a follow-up acts on: the opening's message id or issue number
    attempt: int = 1                   # 1 for the first try; a later one may need to look for a lost success


@dataclass(frozen=True)
class Context:
    """Who and what a message names, decided by routing at send time."""

    mentions: tuple[str, ...] = ()     # person ids to name (and ping, where the channel can)
    recipients: tuple[str, ...] = ()   # addresses (addressed channels)
    extra: dict = field(default_factory=dict)   # template extras: milestone, escalation step and level


class Channel:
    """The contract every channel keeps. Class attributes say what it can do (routing reads them)."""

    name: str = ""
    carries: frozenset[str] = frozenset()   # message kinds it sends; for the rest the record is superseded
    mentions: bool = False                  # names people (a route's `mention`)
    addressed: bool = False                 # needs recipients (a route's `to`); skipped when there are none
    chat: bool = False                      # a shared room: escalation pages and the handoff go here
    edits: bool = False                     # can edit its opening message to show the state now

    def __init__(self, settings: Settings):
        self.settings = settings

    def configured(self) -> bool:
        """True when credentials exist; otherwise messages go to the local preview page."""
        raise NotImplementedError

    def render(self, kind: str, incident: Incident | None, cfg: Config, now: datetime, ctx: Context) -> Message:
        """Return the message of this kind for the incident as it is now."""
        raise NotImplementedError

    def send(self, message: Message, timeout: float) -> Result:
        """Send it; Result.ref names what was made (message id, issue number)."""
        raise NotImplementedError

    def edit(self, ref: str, message: Message, timeout: float) -> Result:
        """Replace what `ref` shows with `message` (channels with `edits`)."""
        return SUPERSEDED


def _registry() -> dict[str, type[Channel]]:
    from shared.channels.discord import Discord, DiscordStaging
    from shared.channels.email import EmailChannel
    from shared.channels.github import GitHub
    return {c.name: c for c in (Discord, DiscordStaging, EmailChannel, GitHub)}


REGISTRY: dict[str, type[Channel]] = _registry()


def build(name: str, settings: Settings) -> Channel:
    """Return the channel called `name`, set up from the settings."""
    return REGISTRY[name](settings)


def kind_of(reason: str) -> str:
    """Return the message kind an outbox reason asks for ('severity-high' -> raised, 'escalation-...' -> ...)."""
    prefix = reason.split("-", 1)[0]
    return {"opened": OPENED, "severity": RAISED, "resolved": RESOLVED, "milestone": MILESTONE,
            "escalation": ESCALATION, "handoff": TEXT, "notice": TEXT, "daily": TEXT, "postmortem": POSTMORTEM,
            "postmortem_issue": POSTMORTEM_ISSUE, "postmortem_sync": POSTMORTEM_SYNC, "step": STEP}.get(prefix, prefix)
