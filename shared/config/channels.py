"""What each notification channel can do, by name: the message kinds it carries and how it addresses people.

The team-file check (does a route's channel exist, may it `mention`, does it need `to`?) and routing read this
table without importing the channels' code; each implementation in shared/channels/ takes its capabilities from
here by its name. Adding a channel is its module, its line here and its line in shared/channels' REGISTRY.
"""
from __future__ import annotations

from shared.config.frozen import frozen

# What a message is about; each outbox record's reason maps to one of these (shared/channels.kind_of).
OPENED, RAISED, RESOLVED, MILESTONE, ESCALATION, TEXT, DIGEST, STEP = \
    "opened", "raised", "resolved", "milestone", "escalation", "text", "digest", "step"
# STEP: one step of the team's workflow (👀 acknowledged, 🔍 investigating, ...), a reply in the alert's thread
# with the matching reaction on the alert; its text and emoji come ready in the record (plan.step_record)
POSTMORTEM, POSTMORTEM_ISSUE, POSTMORTEM_SYNC = "postmortem", "postmortem_issue", "postmortem_sync"
# POSTMORTEM: a postmortem's notice (the draft, a reminder, an overdue action item), text ready in the record, in
# the incident's thread where its alert has one; POSTMORTEM_ISSUE: the postmortem's issue; POSTMORTEM_SYNC: that
# issue's body brought up to date with the postmortem as it is at delivery (shared/notify/kinds.py)


@frozen
class Capabilities:
    """What one channel can do; routing and the team-file check read it."""

    carries: frozenset[str]     # message kinds it sends; for the rest the record is superseded
    mentions: bool = False      # names people (a route's `mention`)
    addressed: bool = False     # needs recipients (a route's `to`); skipped when there are none
    address: str = ""           # addressed: the person's field that addresses them here (email, ntfy_topic)
    chat: bool = False          # a shared room: escalation pages and the handoff go here
    edits: bool = False         # can edit its opening message to show the state now
    in_step: str = ""           # keeps an incident's own source in step: the dedup-key prefix of the incidents it
    #                             acts on when they resolve here (never routed: plan.on_resolve plans it)


_CHAT = frozenset({OPENED, RAISED, RESOLVED, MILESTONE, ESCALATION, TEXT, DIGEST, STEP, POSTMORTEM})
CAPABILITIES: dict[str, Capabilities] = {
    "discord": Capabilities(_CHAT, mentions=True, chat=True, edits=True),
    "discord_staging": Capabilities(_CHAT, chat=True, edits=True),   # staging alerts ping nobody
    "email": Capabilities(frozenset({OPENED, RESOLVED, ESCALATION}), addressed=True, address="email"),
    "github": Capabilities(frozenset({OPENED, RESOLVED, POSTMORTEM_ISSUE, POSTMORTEM_SYNC})),
    "ntfy": Capabilities(frozenset({OPENED, RESOLVED, ESCALATION}), addressed=True, address="ntfy_topic"),
    "slack": Capabilities(_CHAT - {STEP}, mentions=True, chat=True),   # an incoming webhook: no edits, no thread
    "slack_staging": Capabilities(_CHAT - {STEP}, chat=True),   # staging alerts ping nobody
    "sentry": Capabilities(frozenset({RESOLVED}), in_step="sentry:"),   # resolves the incident's Sentry issue
}
