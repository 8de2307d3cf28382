"""Discord, in one of two modes.

Webhook mode (DISCORD_WEBHOOK_URL): post through the channel's webhook (wait=true, to learn the message id) and
edit it later. Docs: https://discord.com/developers/docs/resources/webhook#execute-webhook

Bot mode (DISCORD_BOT_TOKEN and the channel's id): the alert is a bot message with the team's buttons and a
severity select, and gets a thread; workflow steps are replies in that thread plus a reaction on the alert.
Docs: https://discord.com/developers/docs/resources/message#create-message,
https://discord.com/developers/docs/resources/channel#start-thread-from-message
Limits: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from urllib.parse import quote

from shared import log
from shared.channels.base import SUPERSEDED, Channel, Context, Message, Result, classify, request, transport_error
from shared.channels.render import (
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
from shared.config import Config
from shared.config.channels import DIGEST, ESCALATION, MILESTONE, OPENED, POSTMORTEM, RAISED, RESOLVED, STEP, TEXT
from shared.config.settings import Secret
from shared.lazy import httpx
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
PRIMARY, SECONDARY, SUCCESS, DANGER = 1, 2, 3, 4
ROW_BUTTONS_MAX = 5
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
    invalid = resolved and getattr(incident, "invalid", False)
    phase = "" if resolved else getattr(incident, "phase", "")
    mark = "❌ INVALID · " if invalid else "✅ RESOLVED · " if resolved else ""
    title = f"{mark}{EMOJI[severity]} {severity.name} · {incident.service} · {incident.id}"
    owner = [{"name": "Owner", "value": truncate(discord_text(_name(incident.owner, cfg)), FIELD_VALUE_MAX),
              "inline": True}] if incident.owner else []
    card = {
        "title": truncate(title, EMBED_TITLE_MAX),
        "description": truncate(discord_text(incident.title), 1024),
        "color": INVALID_COLOR if invalid else RESOLVED_COLOR if resolved else COLOR[severity],
        "fields": [
            {"name": "Status", "value": incident.status + (f" · {phase}" if phase else ""), "inline": True},
            *owner,
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


def _name(pid: str, cfg: Config) -> str:
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


def card(incident: Incident, cfg: Config, now: datetime) -> dict:
    """Return the alert as it is now (an UPDATE_MESSAGE or an edit): the incident card and its controls, no ping.

    The content, the alert text naming who was paged, stays as it was sent; a severity rise re-renders it through
    the rise's own follow-up.
    """
    return {"embeds": [embed(incident, cfg)], "components": components(incident), "allowed_mentions": {"parse": []}}


def thread_name(incident: Incident) -> str:
    """Return the name of the alert's thread: 'INC-XXXXXX: title', cut to Discord's 100 characters."""
    name = " ".join(f"{incident.id}: {incident.title}".split())
    return name if len(name) <= THREAD_NAME_MAX else name[:THREAD_NAME_MAX - 1] + "…"


def nonce(key: str) -> dict:
    """Return the create-message fields that make a repeated post (an answer lost, then a retry) a no-op."""
    return {"nonce": hashlib.sha256(key.encode()).hexdigest()[:NONCE_MAX], "enforce_nonce": True}


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


@dataclass(frozen=True)
class DiscordMessage(Message):
    """A Discord message, with what bot mode does around it: the alert's thread, a step's reaction."""

    thread: str = ""      # an opening: the name of the thread to open on it
    reaction: str = ""    # a step: the emoji to add to the alert


@dataclass(frozen=True)
class Bot:
    """Discord's bot API for one of our channels (Authorization: Bot <token>)."""

    channel: str          # our channel's name: its HTTP client and its rate-limit pacing
    api: str
    token: Secret
    channel_id: str

    def call(self, method: str, path: str, timeout: float, body: dict | None = None) -> tuple[Result, dict]:
        """Make one API call; return how it went (ref: the id of what it made) and the answer's JSON."""
        try:
            response = request(self.channel, method, f"{self.api}{path}", timeout, json=body,
                               headers={"Authorization": f"Bot {self.token.reveal()}"})
        except httpx.HTTPError as e:
            return transport_error(e), {}
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        made = (str(answer.get("id") or "") or None) if response.status_code in (200, 201) else None
        return classify(response, made), answer

    def post(self, where: str, payload: dict, timeout: float) -> Result:
        """Post a message in a channel or thread; ref: '<where>/<message id>'."""
        result, _ = self.call("POST", f"/channels/{where}/messages", timeout, payload)
        return replace(result, ref=f"{where}/{result.ref}") if result.ok and result.ref else result

    def open(self, message: DiscordMessage, timeout: float) -> Result:
        """Post the alert, then open its thread; a retry after the post only opens the thread."""
        ref = message.progress.get("posted")
        if not ref:
            posted = self.post(self.channel_id, message.payload, timeout)
            if not posted.ok or not posted.ref:
                return posted
            ref = posted.ref
        channel_id, message_id = ref.split("/", 1)
        made, answer = self.call("POST", f"/channels/{channel_id}/messages/{message_id}/threads", timeout,
                                 {"name": message.thread, "auto_archive_duration": THREAD_ARCHIVE_MINUTES})
        if made.ok or answer.get("code") == THREAD_EXISTS:
            return Result(True, ref=ref, pause=made.pause)
        if made.retryable:
            return replace(made, progress={"posted": ref})
        # the alert is out, which is what matters; its thread replies will fail visibly on the timeline
        log.error("could not open the alert's thread", channel=self.channel, error=made.error)
        return Result(True, ref=ref)

    def step(self, message: DiscordMessage, timeout: float) -> Result:
        """Reply in the alert's thread, then react on the alert; a retry after the reply only reacts."""
        if not message.ref or "/" not in message.ref:  # no thread (a digest carried the alert): say it in the channel
            return self.post(self.channel_id, message.payload, timeout)
        channel_id, message_id = message.ref.split("/", 1)
        posted = message.progress.get("posted")
        if not posted:
            reply = self.post(message_id, message.payload, timeout)  # a thread's id is its message's id
            if not reply.ok:
                return reply
            posted = reply.ref or message_id
        reacted, _ = self.call("PUT", f"/channels/{channel_id}/messages/{message_id}/reactions/"
                                      f"{quote(message.reaction, safe='')}/@me", timeout)
        if reacted.ok:
            return Result(True, ref=posted, pause=reacted.pause)
        return replace(reacted, progress={"posted": posted})

    def edit(self, ref: str, payload: dict, timeout: float) -> Result:
        channel_id, message_id = ref.split("/", 1)
        result, _ = self.call("PATCH", f"/channels/{channel_id}/messages/{message_id}", timeout, payload)
        return replace(result, ref=ref)


class Discord(Channel):
    """The alerts channel: openings with the incident card, follow-ups, pages, the handoff and digests."""

    name = "discord"

    def webhook(self) -> Secret:
        return self.settings.discord_webhook_url

    def channel_id(self) -> str:
        return self.settings.discord_alerts_channel_id

    def bot(self) -> Bot | None:
        """Return the bot API for this channel when bot mode is set up (a bot token and the channel's id)."""
        token, channel_id = self.settings.discord_bot_token, self.channel_id()
        return Bot(self.name, self.settings.discord_api_url, token, channel_id) if token and channel_id else None

    def configured(self) -> bool:
        return bool(self.webhook()) or self.bot() is not None

    def render(self, kind: str, incident: Incident | None, cfg: Config, now: datetime, ctx: Context) -> Message:
        bot = self.bot() is not None
        if kind == STEP:  # a workflow step: its text and emoji come ready in the record
            text = ctx.extra["text"]
            payload = {"content": truncate(text, CONTENT_MAX), "allowed_mentions": {"parse": []}}
            if bot:
                payload.update(nonce(ctx.extra["key"]))
            return DiscordMessage(kind, payload, text, reaction=ctx.extra["emoji"])
        if kind in (TEXT, POSTMORTEM):  # text decided when the record was made: it comes ready in ctx.extra
            payload = {"content": ctx.extra["text"], "allowed_mentions": {"parse": [], "users": ctx.extra["pings"]}}
        elif kind == DIGEST:
            payload = digest(ctx.extra["items"], cfg, now, ctx.extra["since"], ctx.mentions)
        else:
            name = ctx.extra.get("template") if kind == OPENED else kind
            payload = message(name, incident, cfg, now, ctx.mentions if kind in (OPENED, RAISED, ESCALATION) else (),
                              ctx.extra)
        if bot and kind == OPENED:
            payload = {**payload, "components": components(incident), **nonce(f"{incident.id}:opened:{self.name}")}
            return DiscordMessage(kind, payload, payload["content"], thread=thread_name(incident))
        return DiscordMessage(kind, payload, payload["content"])

    def send(self, message: Message, timeout: float) -> Result:
        bot = self.bot()
        if bot is None:  # webhook mode: no thread to reply in, no reaction; the card and the timeline show the step
            return SUPERSEDED if message.kind == STEP else post(self.name, self.webhook(), message.payload, timeout)
        if message.kind == OPENED:
            return bot.open(message, timeout)
        if message.kind == STEP:
            return bot.step(message, timeout)
        thread = message.ref.split("/", 1)[1] if message.kind in IN_THREAD and "/" in (message.ref or "") else None
        return bot.post(thread or bot.channel_id, message.payload, timeout)

    def edit(self, ref: str, message: Message, timeout: float) -> Result:
        card = {**message.payload, "allowed_mentions": {"parse": []}}  # an edit never pings again
        bot = self.bot()
        if bot is None:
            return patch(self.name, self.webhook(), ref, card, timeout)
        if "/" not in ref:
            return SUPERSEDED  # posted through the webhook before bot mode was set up: only the webhook can edit it
        return bot.edit(ref, {k: v for k, v in card.items() if k not in ("nonce", "enforce_nonce")}, timeout)


class DiscordStaging(Discord):
    """The staging channel: the same messages, never a mention."""

    name = "discord_staging"

    def webhook(self) -> Secret:
        return self.settings.discord_staging_webhook_url

    def channel_id(self) -> str:
        return self.settings.discord_staging_channel_id
