"""The team's incident workflow (pure): each step is one click in Discord, one slash command or one API call, and
a reply in the alert's thread as the team writes it ("👀 @Dev A: Acknowledged, investigating (15:45)") with the
matching reaction on the alert."""
from __future__ import annotations

from datetime import datetime

from shared.config import Config

STEPS = {
    "ack": ("👀", "Acknowledged, investigating"),
    "investigating": ("🔍", "Investigating"),
    "fixing": ("🔧", "Working on a fix"),
    "deploying": ("🔄", "Deploying the fix"),
    "resolve": ("✅", "Resolved"),
    "invalid": ("❌", "Cannot reproduce, closed as invalid"),
}
PHASES = ("investigating", "fixing", "deploying")


def step_text(step: str, who: str, now: datetime, cfg: Config, detail: str = "") -> str:
    """Return a step's thread reply as the team writes it: '🔍 @Dev A: Investigating - pool exhausted (15:52)'; a
    detail in brackets says how it was taken, without the dash: '👀 @Dev B: Acknowledged, investigating (reacted)'."""
    emoji, label = STEPS[step]
    name = f"@{cfg.person(who).name}" if who in {p.id for p in cfg.people} else who  # a source: "Sentry"
    clock = now.astimezone(cfg.team.zone).strftime("%H:%M")
    said = (f" {detail}" if detail.startswith("(") else f" - {detail}") if detail else ""
    return f"{emoji} {name}: {label}{said} ({clock})"
