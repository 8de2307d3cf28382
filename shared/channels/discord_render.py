"""Discord messages as the team reads them: the alert text and incident card (embed), the buttons and severity
select of bot mode, follow-ups, digests, thread names; each within Discord's limits.
Limits: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import NamedTuple

from shared.channels.render import (
    EMOJI,
    console_url,
    context,
    discord_text,
    find,
    fit,
    local_time,
    people,
    safe_url,
    source_link,
    template,
    truncate,
)
from shared.config import Config
from shared.config.channels import MILESTONE, POSTMORTEM, RESOLVED
from shared.model import Incident, Severity, Status
from shared.rules.workflow import PHASES, STEPS

CONTENT_MAX = 2000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
FIELD_VALUE_MAX = 1024
EMBED_TOTAL_MAX = 6000

COLOR = {Severity.CRITICAL: 0xE74C3C, Severity.HIGH: 0xE67E22, Severity.MEDIUM: 0xF1C40F, Severity.LOW: 0x2ECC71}
RESOLVED_COLOR = 0x2ECC71
CARD_TEMPLATES = ("critical", "high", "warning")   # openings: the team's alert text plus the incident card
INVALID_COLOR = 0x95A5A6

# https://discord.com/developers/docs/components/reference (a row holds <= 5 buttons or one select)
ACTION_ROW, BUTTON, STRING_SELECT = 1, 2, 3
PRIMARY, SECONDARY, SUCCESS, DANGER, LINK = 1, 2, 3, 4, 5
ROW_BUTTONS_MAX = 5
ROWS_MAX = 5
# a link button opens its url and sends no interaction, so even a webhook no application owns may carry it (with
# ?with_components=true: https://discord.com/developers/docs/resources/webhook#execute-webhook)
CONSOLE_LABEL = "Open in the console"
# https://discord.com/developers/docs/resources/channel#start-thread-from-message
THREAD_NAME_MAX = 100
THREAD_ARCHIVE_MINUTES = 1440
THREAD_EXISTS = 160004    # "A thread has already been created for this message": an earlier try made it
# https://discord.com/developers/docs/resources/message#create-message: with enforce_nonce, a post repeated with
# the same nonce within a few minutes returns the first message instead of making a second one
NONCE_MAX = 25
# bot mode: news about an alert that nobody must act on goes to its thread, and so does its postmortem's follow-up
IN_THREAD = (RESOLVED, MILESTONE, POSTMORTEM)


def message(template_name: str, incident: Incident, cfg: Config, now: datetime, mention_ids=(),
            extra: dict | None = None, public_url: str = "") -> dict:
    """Return an execute-webhook payload: the team's template as content plus, for openings, a coloured card, and
    the console link as a link button (not in the text: the button is the link)."""
    who = people(mention_ids, cfg)
    ctx = {**context(incident, cfg, now, who.shown, escape=discord_text), **(extra or {})}
    payload = {"content": fit(find("discord", template_name, ".md.j2"), ctx, CONTENT_MAX),
               "allowed_mentions": {"parse": [], "users": list(who.discord_ids)}}
    if template_name in CARD_TEMPLATES:
        payload["embeds"] = [embed(incident, cfg)]
    return with_link(payload, console_url(incident.id, public_url))


def link_button(url: str) -> dict:
    """Return the button that opens the incident in the console."""
    return {"type": BUTTON, "style": LINK, "label": CONSOLE_LABEL, "url": url}


def with_link(payload: dict, url: str) -> dict:
    """Return the payload with the console link as a button: in the first row of buttons with room, else in a row
    of its own (no link when there is no URL, or no room: Discord allows 5 rows)."""
    if not url:
        return payload
    rows = [dict(row, components=list(row["components"])) for row in payload.get("components") or []]
    room = next((row for row in rows if len(row["components"]) < ROW_BUTTONS_MAX
                 and all(c.get("type") == BUTTON for c in row["components"])), None)
    if room is not None:
        room["components"].append(link_button(url))
    elif len(rows) < ROWS_MAX:
        rows.append({"type": ACTION_ROW, "components": [link_button(url)]})
    return {**payload, "components": rows}


class CardHead(NamedTuple):
    """What every chat's incident card shows first, alike in Discord and Slack."""

    title: str    # "✅ RESOLVED · 🔴 CRITICAL · service · INC-…" (❌ INVALID once closed as invalid)
    color: int    # the severity's, green once resolved, grey when invalid (0xRRGGBB)
    status: str   # "acknowledged · fixing": the status, with the phase while it is open


def card_head(incident: Incident) -> CardHead:
    """Return the incident card's title line, colour and status as it is now."""
    severity = incident.severity
    resolved = incident.is_resolved
    invalid = resolved and getattr(incident, "invalid", False)
    phase = "" if resolved else getattr(incident, "phase", "")
    mark = "❌ INVALID · " if invalid else "✅ RESOLVED · " if resolved else ""
    return CardHead(f"{mark}{EMOJI[severity]} {severity.name} · {incident.service} · {incident.id}",
                    INVALID_COLOR if invalid else RESOLVED_COLOR if resolved else COLOR[severity],
                    incident.status + (f" · {phase}" if phase else ""))


def embed(incident: Incident, cfg: Config) -> dict:
    """Return the incident card: severity colour, current status and counts (edited as they change)."""
    head = card_head(incident)
    owner = [{"name": "Owner", "value": truncate(discord_text(person_name(incident.owner, cfg)), FIELD_VALUE_MAX),
              "inline": True}] if incident.owner else []
    card = {
        "title": truncate(head.title, EMBED_TITLE_MAX),
        "description": truncate(discord_text(incident.title), 1024),
        "color": head.color,
        "fields": [
            {"name": "Status", "value": head.status, "inline": True},
            *owner,
            {"name": "Occurrences", "value": str(incident.occurrences), "inline": True},
            # 0 users is what a source that cannot know says (an uptime monitor): left out, not shown as a count
            *([{"name": "Users affected", "value": str(incident.users_affected), "inline": True}]
              if incident.users_affected else []),
            {"name": "Environment", "value": truncate(incident.environment, FIELD_VALUE_MAX), "inline": True},
            *([{"name": "Why this severity", "value": truncate(discord_text(incident.reason), FIELD_VALUE_MAX)}]
              if incident.reason else []),
        ],
        "footer": {"text": f"{incident.id} · {cfg.team.name} incident response"},
        "timestamp": incident.created_at.astimezone(timezone.utc).isoformat(),
    }
    link = safe_url(source_link(incident))
    if link:
        card["url"] = link
    return card


def person_name(pid: str, cfg: Config) -> str:
    """Return how the team file names a person id (the id itself for someone not in it)."""
    return next((p.name for p in cfg.people if p.id == pid), pid)


def components(incident: Incident) -> list[dict]:
    """Return the alert's controls: the team's workflow buttons and a severity select, those that no longer apply
    disabled (everything once it is closed, Acknowledge once acknowledged, the phase it is in)."""
    closed = incident.status in (Status.RESOLVED.value, Status.IGNORED.value) or getattr(incident, "invalid", False)
    acknowledged = incident.acknowledged_at is not None or incident.status != Status.OPEN.value
    phase = getattr(incident, "phase", "") or ""

    def button(step: str, label: str, style: int, done: bool) -> dict:
        return {"type": BUTTON, "style": style, "label": label, "emoji": {"name": STEPS[step][0]},
                "custom_id": f"incident:{step}:{incident.id}", "disabled": closed or done}

    workflow = [button("ack", "Acknowledge", PRIMARY, acknowledged),
                *(button(p, p.capitalize(), SECONDARY, phase == p) for p in PHASES),
                button("resolve", "Resolved", SUCCESS, False)]
    severity = {"type": STRING_SELECT, "custom_id": f"incident:severity:{incident.id}", "placeholder": "Severity",
                "min_values": 1, "max_values": 1, "disabled": closed,
                "options": [{"label": s.name.capitalize(), "value": s.label, "emoji": {"name": EMOJI[s]},
                             "default": s is incident.severity} for s in sorted(Severity, reverse=True)]}
    rows = [workflow[i:i + ROW_BUTTONS_MAX] for i in range(0, len(workflow), ROW_BUTTONS_MAX)]
    rows += [[button("invalid", "Invalid", DANGER, False)], [severity]]
    return [{"type": ACTION_ROW, "components": row} for row in rows]


def card(incident: Incident, cfg: Config, now: datetime, public_url: str = "") -> dict:
    """Return the alert as it is now (an UPDATE_MESSAGE or an edit): the incident card and its controls, no ping.

    The content, the alert text naming who was paged, stays as it was sent; a severity rise re-renders it through
    the rise's own follow-up.
    """
    return {"embeds": [embed(incident, cfg)], "components": controls(incident, public_url),
            "allowed_mentions": {"parse": []}}


def controls(incident: Incident, public_url: str = "") -> list[dict]:
    """Return bot mode's controls with the console link beside them."""
    return with_link({"components": components(incident)}, console_url(incident.id, public_url))["components"]


def thread_name(incident: Incident) -> str:
    """Return the name of the alert's thread: 'INC-XXXXXX: title', cut to Discord's 100 characters."""
    name = " ".join(f"{incident.id}: {incident.title}".split())
    return name if len(name) <= THREAD_NAME_MAX else name[:THREAD_NAME_MAX - 1] + "…"


def nonce(key: str) -> dict:
    """Return the create-message fields that make a repeated post (an answer lost, then a retry) a no-op."""
    return {"nonce": hashlib.sha256(key.encode()).hexdigest()[:NONCE_MAX], "enforce_nonce": True}


def digest(items: list[Incident], cfg: Config, now: datetime, since: datetime, mention_ids=(),
           public_url: str = "") -> dict:
    """Return one message that releases everything held for a channel outside business hours; each incident's id
    links to its console page."""
    who = people(mention_ids, cfg)
    rows = [context(i, cfg, now, escape=discord_text, public_url=public_url) for i in items]
    ctx = {"items": rows, "since": local_time(since, cfg), "mentions": who.shown}
    text = template("discord/digest.md.j2", ctx)
    while len(text) > CONTENT_MAX and len(rows) > 1:
        rows = rows[:-1]
        more = len(items) - len(rows)
        text = template("discord/digest.md.j2", {**ctx, "items": rows}) + f"\n… and {more} more"
    return {"content": truncate(text, CONTENT_MAX), "allowed_mentions": {"parse": [], "users": list(who.discord_ids)}}
