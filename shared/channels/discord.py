"""Discord through channel webhooks: post a message (wait=true, to learn its id) and edit it later.

Docs: https://discord.com/developers/docs/resources/webhook#execute-webhook
Limits: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
"""
from __future__ import annotations

from datetime import datetime, timezone

import httpx

from shared.channels import DIGEST, ESCALATION, MILESTONE, OPENED, RAISED, RESOLVED, TEXT, Channel, Context, Message
from shared.channels.base import Result, classify, request, transport_error
from shared.config import Config
from shared.model import Incident, Severity
from shared.notify.render import (
    EMOJI,
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
from shared.settings import Secret

CONTENT_MAX = 2000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
FIELD_VALUE_MAX = 1024
EMBED_TOTAL_MAX = 6000

COLOR = {Severity.CRITICAL: 0xE74C3C, Severity.HIGH: 0xE67E22, Severity.MEDIUM: 0xF1C40F, Severity.LOW: 0x2ECC71}
RESOLVED_COLOR = 0x2ECC71
CARD_TEMPLATES = ("critical", "high", "warning")   # openings: the team's alert text plus the incident card


def message(template_name: str, incident: Incident, cfg: Config, now: datetime, mention_ids=(),
            extra: dict | None = None) -> dict:
    """Return an execute-webhook payload: the team's template as content plus, for openings, a coloured card."""
    who = people(mention_ids, cfg)
    ctx = {**context(incident, cfg, now, who.shown, escape=discord_text), **(extra or {})}
    payload = {"content": fit(find("discord", template_name, ".md.j2"), ctx, CONTENT_MAX),
               "allowed_mentions": {"parse": [], "users": list(who.discord_ids)}}
    if template_name in CARD_TEMPLATES:
        payload["embeds"] = [embed(incident, cfg)]
    return payload


def embed(incident: Incident, cfg: Config) -> dict:
    """Return the incident card: severity colour, current status and counts (edited as they change)."""
    severity = incident.severity
    resolved = incident.is_resolved
    title = f"{'✅ RESOLVED · ' if resolved else ''}{EMOJI[severity]} {severity.name} · {incident.service} · " \
            f"{incident.id}"
    card = {
        "title": truncate(title, EMBED_TITLE_MAX),
        "description": truncate(discord_text(incident.title), 1024),
        "color": RESOLVED_COLOR if resolved else COLOR[severity],
        "fields": [
            {"name": "Status", "value": incident.status, "inline": True},
            {"name": "Occurrences", "value": str(incident.occurrences), "inline": True},
            {"name": "Users affected", "value": str(incident.users_affected), "inline": True},
            {"name": "Environment", "value": truncate(incident.environment, FIELD_VALUE_MAX), "inline": True},
            {"name": "Why this severity", "value": truncate(discord_text(incident.reason) or "—", FIELD_VALUE_MAX)},
        ],
        "footer": {"text": f"{incident.id} · {cfg.team.name} incident response"},
        "timestamp": incident.created_at.astimezone(timezone.utc).isoformat(),
    }
    link = safe_url(source_link(incident))
    if link:
        card["url"] = link
    return card


def digest(items: list[Incident], cfg: Config, now: datetime, since: datetime, mention_ids=()) -> dict:
    """Return one message that releases everything held for a channel outside business hours."""
    who = people(mention_ids, cfg)
    rows = [context(i, cfg, now, escape=discord_text) for i in items]
    ctx = {"items": rows, "since": local_time(since, cfg), "mentions": who.shown}
    text = template("discord/digest.md.j2", ctx)
    while len(text) > CONTENT_MAX and len(rows) > 1:
        rows = rows[:-1]
        more = len(items) - len(rows)
        text = template("discord/digest.md.j2", {**ctx, "items": rows}) + f"\n… and {more} more"
    return {"content": truncate(text, CONTENT_MAX), "allowed_mentions": {"parse": [], "users": list(who.discord_ids)}}


def post(channel: str, webhook: Secret, payload: dict, timeout: float) -> Result:
    """Post a message; its id comes back as Result.ref."""
    try:
        response = request(channel, "POST", webhook.reveal(), timeout, params={"wait": "true"}, json=payload)
    except httpx.HTTPError as e:
        return transport_error(e)
    ref = None
    if response.status_code == 200:
        try:
            ref = str(response.json().get("id") or "") or None
        except ValueError:
            ref = None
    return classify(response, ref)


def patch(channel: str, webhook: Secret, message_id: str, payload: dict, timeout: float) -> Result:
    """Edit a message this webhook posted."""
    try:
        response = request(channel, "PATCH", f"{webhook.reveal()}/messages/{message_id}", timeout, json=payload)
    except httpx.HTTPError as e:
        return transport_error(e)
    return classify(response, message_id)


class Discord(Channel):
    """The alerts channel: openings with the incident card, follow-ups, pages, the handoff and digests."""

    name = "discord"
    carries = frozenset({OPENED, RAISED, RESOLVED, MILESTONE, ESCALATION, TEXT, DIGEST})
    mentions = True
    chat = True
    edits = True

    def webhook(self) -> Secret:
        return self.settings.discord_webhook_url

    def configured(self) -> bool:
        return bool(self.webhook())

    def render(self, kind: str, incident: Incident | None, cfg: Config, now: datetime, ctx: Context) -> Message:
        if kind == TEXT:  # a message about no single incident: the text comes ready in ctx.extra
            payload = {"content": ctx.extra["text"], "allowed_mentions": {"parse": [], "users": ctx.extra["pings"]}}
        elif kind == DIGEST:
            payload = digest(ctx.extra["items"], cfg, now, ctx.extra["since"], ctx.mentions)
        else:
            name = ctx.extra.get("template") if kind == OPENED else kind
            payload = message(name, incident, cfg, now, ctx.mentions if kind in (OPENED, RAISED, ESCALATION) else (),
                              ctx.extra)
        return Message(kind, payload, payload["content"])

    def send(self, message: Message, timeout: float) -> Result:
        return post(self.name, self.webhook(), message.payload, timeout)

    def edit(self, ref: str, message: Message, timeout: float) -> Result:
        card = {**message.payload, "allowed_mentions": {"parse": []}}  # an edit never pings again
        return patch(self.name, self.webhook(), ref, card, timeout)


class DiscordStaging(Discord):
    """The staging channel: the same messages, never a mention."""

    name = "discord_staging"
    mentions = False

    def webhook(self) -> Secret:
        return self.settings.discord_staging_webhook_url

