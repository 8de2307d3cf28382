"""Reactions on the alert as workflow steps (pure): the guide's habit "React 👀" read back by the sweep.

What the sweep reads is the alert channel's recent messages, as Discord returns them. An alert is a message with
the incident's buttons (custom_id `incident:<step>:<id>`); a reaction with `me` set is one the bot added itself,
which it does when a step is taken (by a button, a command or a reaction) and when it has read a reaction whose
step had already been taken: such an emoji is done and never read again. So the state lives in Discord, and a
minute with nothing new reads nothing in Firestore.

Discord tells who reacted with an emoji (GET .../reactions/{emoji}), not when: users come sorted by id, so "the
first team member who reacted" is the first in Discord's order.
"""
from __future__ import annotations

from shared.config import Config
from shared.rules.workflow import STEPS

# emoji -> workflow step, in the workflow's order (which is also the order several new reactions are applied in)
EMOJI_STEPS: dict[str, str] = {emoji: step for step, (emoji, _) in STEPS.items()}
VARIATION_SELECTOR = "\ufe0f"   # "✅️" and "✅" are the same reaction to a person; Discord may send either
REACTED = "(reacted)"           # the detail a reacted step carries, so the thread says how it was taken
BUTTON_PREFIX = "incident:"     # the alert's buttons: incident:<step>:<incident id> (shared/channels/discord_render)


def step_of(emoji_name: object) -> str | None:
    """Return the workflow step an emoji means, or None."""
    return EMOJI_STEPS.get(str(emoji_name or "").replace(VARIATION_SELECTOR, ""))


def alert_incident(message: object) -> str | None:
    """Return the incident an alert message is about when its buttons still apply (an open incident); None for any
    other message (a page, a digest, the daily report) and for an alert whose buttons are all disabled (closed)."""
    if not isinstance(message, dict):
        return None
    found, live = None, False
    for row in message.get("components") or []:
        for part in (row.get("components") or []) if isinstance(row, dict) else []:
            custom_id = str(part.get("custom_id") or "") if isinstance(part, dict) else ""
            if custom_id.startswith(BUTTON_PREFIX) and custom_id.count(":") == 2:
                found = found or custom_id.rsplit(":", 1)[1]
                live = live or not part.get("disabled")
    return found if found and live else None


def pending(reactions: object) -> list[tuple[str, int]]:
    """Return the workflow's emoji that people reacted with and the bot has not marked done (`me`), with their
    counts, in the workflow's order; custom emoji and other emoji are ignored."""
    counts: dict[str, int] = {}
    for reaction in reactions if isinstance(reactions, list) else []:
        emoji = reaction.get("emoji") if isinstance(reaction, dict) else None
        if not isinstance(emoji, dict) or emoji.get("id") or reaction.get("me") is True:
            continue
        name = str(emoji.get("name") or "").replace(VARIATION_SELECTOR, "")
        try:
            count = int(reaction.get("count") or 0)
        except (TypeError, ValueError):
            continue
        if name in EMOJI_STEPS and count > 0:
            counts[name] = counts.get(name, 0) + count
    return [(e, counts[e]) for e in EMOJI_STEPS if e in counts]


def first_member(user_ids: list[str], cfg: Config) -> str | None:
    """Return the person id of the first team member (by discord_id) among those who reacted; None when they are
    strangers (or bots: no team member has a bot's id)."""
    people = {p.discord_id: p.id for p in cfg.people if p.discord_id}
    return next((people[u] for u in user_ids if u in people), None)
