"""Slack, through an incoming webhook (SLACK_WEBHOOK_URL; staging: SLACK_STAGING_WEBHOOK_URL).

Docs: https://api.slack.com/messaging/webhooks
A webhook posts into the one channel it was made for and answers 200 with the text "ok"; it returns no message id,
so what it posted can be neither edited nor replied to in a thread: the alert's card shows the incident as it was
opened, later news (a rise, a milestone, the resolve, a page) comes as messages of its own, and the team's workflow
steps are not posted (the console and the timeline show them). Errors are text too: 400 invalid_payload,
invalid_blocks or no_text, 403 action_prohibited or invalid_token, 404 no_service or channel_not_found,
410 channel_is_archived (permanent); 429 with Retry-After and 5xx are worth another try.
Rate limit: about one message a second per webhook (https://api.slack.com/docs/rate-limits#incoming-webhooks).
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from shared.channels.base import Channel, Context, Message, Result, classify, request, transport_error
from shared.channels.render import console_url
from shared.channels.slack_render import digest, mention, message, plain, slack_text, text_message
from shared.config import Config
from shared.config.channels import DIGEST, ESCALATION, OPENED, POSTMORTEM, RAISED, TEXT
from shared.config.settings import Secret
from shared.lazy import httpx
from shared.model import Incident

ERROR_MAX = 100   # Slack's error bodies are one word ("invalid_blocks"); anything longer is not theirs
_DISCORD_MENTION = re.compile(r"<@!?(\d+)>")
_HEADING = re.compile(r"(?m)^#{1,3} +(.+)$")   # Discord's headings: mrkdwn has none
_BOLD = re.compile(r"(?<!\\)\*\*(.+?)(?<!\\)\*\*")   # Discord's **bold** is mrkdwn's *bold*
_ESCAPED = re.compile(r"\\([\\*_~`|\[\]#>-])")   # what render.discord_text escaped


def post(channel: str, webhook: Secret, payload: dict, timeout: float) -> Result:
    """Post a message; Slack's one-word answer ("invalid_blocks") is the error's detail."""
    try:
        response = request(channel, "POST", webhook.reveal(), timeout, json=payload)
    except httpx.HTTPError as e:
        return transport_error(e)
    result = classify(response)
    said = response.text.strip() if not result.ok else ""
    if said and len(said) <= ERROR_MAX and re.fullmatch(r"[a-z_]+", said):
        result = replace(result, error=f"{result.error}: {said}")
    return result


def from_discord(text: str, cfg: Config, ping: bool) -> str:
    """Return text written for Discord (the handoff, the daily report, a notice: `<@discord id>` names people) as
    Slack mrkdwn: its headings and **bold** as Slack's *bold*, Discord's backslash escapes dropped (mrkdwn has none),
    the people it names by their slack_id (else @Name), everything else inert."""
    text = _HEADING.sub(r"*\1*", text)
    text = _BOLD.sub(r"*\1*", text)
    text = _ESCAPED.sub(r"\1", text)
    by_discord = {p.discord_id: p.id for p in cfg.people if p.discord_id}
    parts = _DISCORD_MENTION.split(text)   # text, id, text, id, ..., text
    return "".join(slack_text(part) if i % 2 == 0 else
                   (mention(by_discord[part], cfg, ping) if part in by_discord else "@unknown-user")
                   for i, part in enumerate(parts))


class Slack(Channel):
    """The alerts channel in Slack: openings with the incident card, follow-ups, pages, notices and digests."""

    name = "slack"
    pings = True   # people are named as <@U..> (their slack_id), which notifies them

    def webhook(self) -> Secret:
        return self.settings.slack_webhook_url

    def configured(self) -> bool:
        return bool(self.webhook())

    def render(self, kind: str, incident: Incident | None, cfg: Config, now: datetime, ctx: Context) -> Message:
        public_url = self.settings.public_url
        link = console_url(incident.id, public_url) if incident is not None else ""
        if kind in (TEXT, POSTMORTEM):   # text decided when the record was made, in Discord's form
            payload = text_message(from_discord(ctx.extra["text"], cfg, self.pings), link)
        elif kind == DIGEST:
            payload = digest(ctx.extra["items"], cfg, ctx.extra["since"], ctx.mentions, public_url, self.pings)
        else:
            name = ctx.extra.get("template") if kind == OPENED else kind
            named = ctx.mentions if kind in (OPENED, RAISED, ESCALATION) else ()
            payload = message(name, incident, cfg, now, named, ctx.extra, public_url, self.pings)
        return Message(kind, payload, plain(payload))

    def send(self, message: Message, timeout: float) -> Result:
        return post(self.name, self.webhook(), message.payload, timeout)


class SlackStaging(Slack):
    """The staging channel in Slack: the same messages, never a ping (people are named, not notified)."""

    name = "slack_staging"
    pings = False

    def webhook(self) -> Secret:
        return self.settings.slack_staging_webhook_url
