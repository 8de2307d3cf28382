"""Reactions on the alert as workflow steps (pure): the guide's habit "React 👀" read back by the sweep.

Discord tells who reacted with an emoji (GET .../reactions/{emoji}), not when: users come sorted by id. So "the
first team member who reacted" is the first one the sweep sees: someone seen on an earlier read counts before
anyone new, and among those new in the same read Discord's order decides.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.config import Config
from shared.rules.workflow import PHASES, STEPS

# emoji -> workflow step, in the workflow's order (which is also the order several new reactions are applied in)
EMOJI_STEPS: dict[str, str] = {emoji: step for step, (emoji, _) in STEPS.items()}
VARIATION_SELECTOR = "\ufe0f"   # "✅️" and "✅" are the same reaction to a person; Discord may send either
REACTED = "(reacted)"           # the detail a reacted step carries, so the thread says how it was taken
SEEN_MAX = 100                  # user ids kept per emoji (a bigger crowd is not a team)


def step_of(emoji_name: object) -> str | None:
    """Return the workflow step an emoji means, or None."""
    return EMOJI_STEPS.get(str(emoji_name or "").replace(VARIATION_SELECTOR, ""))


def counts(reactions: object) -> dict[str, int]:
    """Return {emoji: how many people reacted} for the workflow's emoji among a message's `reactions`: the bot's own
    (`me`: the reaction it adds when a step is taken by a button) is not counted, so it never makes a read of who
    reacted; custom emoji are ignored."""
    found: dict[str, int] = {}
    for reaction in reactions if isinstance(reactions, list) else []:
        emoji = reaction.get("emoji") if isinstance(reaction, dict) else None
        if not isinstance(emoji, dict) or emoji.get("id"):
            continue
        name = str(emoji.get("name") or "").replace(VARIATION_SELECTOR, "")
        if name in EMOJI_STEPS:
            try:
                people = int(reaction.get("count") or 0) - (1 if reaction.get("me") is True else 0)
                found[name] = found.get(name, 0) + max(people, 0)
            except (TypeError, ValueError):
                continue
    return found


def changed(before: dict, now: dict[str, int]) -> list[str]:
    """Return the emoji whose count is not what was read last time, in the workflow's order; only those are worth
    listing the users of."""
    return [e for e in EMOJI_STEPS if now.get(e, 0) != int(before.get(e, 0) or 0) and now.get(e, 0) > 0]


def first_member(user_ids: list[str], seen: list[str], cfg: Config) -> str | None:
    """Return the person id of the first team member (by discord_id) among those who reacted and were not seen
    before; None when they are strangers (or bots: no team member has a bot's id)."""
    people = {p.discord_id: p.id for p in cfg.people if p.discord_id}
    earlier = set(seen)
    return next((people[u] for u in user_ids if u in people and u not in earlier), None)


@dataclass(frozen=True)
class Where:
    """Where an incident is in the workflow, as far as a reaction cares."""

    acknowledged: bool
    phase: str
    resolved: bool


def already_applied(step: str, where: Where) -> bool:
    """True when the incident is already where the step would take it (nothing to do, nothing to post)."""
    if where.resolved:
        return True
    if step == "ack":
        return where.acknowledged
    if step in PHASES:
        return where.acknowledged and where.phase == step
    return False
