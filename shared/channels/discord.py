"""Discord, in one of two modes.

Webhook mode (DISCORD_WEBHOOK_URL): post through the channel's webhook (wait=true, to learn the message id) and
edit it later. Docs: https://discord.com/developers/docs/resources/webhook#execute-webhook
A webhook no application owns may carry only non-interactive components, and only with ?with_components=true: the
console link (a link button, when PUBLIC_URL is set) is the one control webhook mode has. Workflow steps are not
posted (no thread to reply in).

Bot mode (DISCORD_BOT_TOKEN and the channel's id): the alert is a bot message with the team's buttons, the console
link and a severity select, and gets a thread; workflow steps are replies in that thread plus a reaction on the
alert, except the step that closes it, which only reacts (the resolved message in the thread says it once).
Docs: https://discord.com/developers/docs/resources/message#create-message,
https://discord.com/developers/docs/resources/channel#start-thread-from-message
Limits: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from urllib.parse import quote

from shared import log
from shared.channels.base import (
    SUPERSEDED,
    Channel,
    Context,
    Message,
    Result,
    classify,
    request,
    superseded,
    transport_error,
)
from shared.channels.discord_render import (  # noqa: F401  (the messages other modules build from this channel)
    CONTENT_MAX,
    EMBED_TOTAL_MAX,
    IN_THREAD,
    THREAD_ARCHIVE_MINUTES,
    THREAD_EXISTS,
    card,
    components,
    controls,
    digest,
    embed,
    message,
    nonce,
    thread_name,
    with_link,
)
from shared.channels.render import console_url, truncate
from shared.config import Config
from shared.config.channels import DIGEST, ESCALATION, OPENED, POSTMORTEM, RAISED, RESOLVED, STEP, TEXT
from shared.config.frozen import frozen
from shared.config.settings import Secret
from shared.lazy import httpx
from shared.model import Incident

CLOSING_STEPS = ("resolve", "invalid")   # workflow steps that close the incident, which its resolved message tells
WEBHOOK_STEP = "webhook mode posts no thread replies; the alert's card shows the step"

def _params(payload: dict, **params: str) -> dict:
    """The query of an execute or edit: with components (our link button), with_components=true, without which a
    webhook no application owns ignores them (https://discord.com/developers/docs/resources/webhook#execute-webhook)."""
    return {**params, "with_components": "true"} if payload.get("components") else params


def post(channel: str, webhook: Secret, payload: dict, timeout: float) -> Result:
    """Post a message; its id comes back as Result.ref."""
    try:
        response = request(channel, "POST", webhook.reveal(), timeout, params=_params(payload, wait="true"),
                           json=payload)
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
        response = request(channel, "PATCH", f"{webhook.reveal()}/messages/{message_id}", timeout,
                           params=_params(payload), json=payload)
    except httpx.HTTPError as e:
        return transport_error(e)
    return classify(response, message_id)


@frozen
class DiscordMessage(Message):
    """A Discord message, with what bot mode does around it: the alert's thread, a step's reaction."""

    thread: str = ""      # an opening: the name of the thread to open on it
    reaction: str = ""    # a step: the emoji to add to the alert
    reply: bool = True    # a step: reply in the thread (a resolve only reacts: the resolved message says it)


@frozen
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
            return self.post(self.channel_id, message.payload, timeout) if message.reply else \
                superseded("the resolved message says it")
        channel_id, message_id = message.ref.split("/", 1)
        posted = message.progress.get("posted") or (None if message.reply else message.ref)
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
        public_url = self.settings.public_url
        link = console_url(incident.id, public_url) if incident is not None else ""
        if kind == STEP:  # a workflow step: its text and emoji come ready in the record
            text = ctx.extra["text"]
            payload = with_link({"content": truncate(text, CONTENT_MAX), "allowed_mentions": {"parse": []}}, link)
            if bot:
                payload.update(nonce(ctx.extra["key"]))
            # closing it: the resolved message (in the same thread) says so, once; the step only adds its reaction
            reply = ctx.extra.get("step") not in CLOSING_STEPS or RESOLVED not in self.carries
            return DiscordMessage(kind, payload, text, reaction=ctx.extra["emoji"], reply=reply)
        if kind in (TEXT, POSTMORTEM):  # text decided when the record was made: it comes ready in ctx.extra
            payload = with_link({"content": ctx.extra["text"],
                                 "allowed_mentions": {"parse": [], "users": ctx.extra["pings"]}}, link)
        elif kind == DIGEST:
            payload = digest(ctx.extra["items"], cfg, now, ctx.extra["since"], ctx.mentions, public_url)
        elif bot and kind == OPENED:
            payload = message(ctx.extra.get("template"), incident, cfg, now, ctx.mentions, ctx.extra)
            payload = {**payload, "components": controls(incident, public_url),
                       **nonce(f"{incident.id}:opened:{self.name}")}
            return DiscordMessage(kind, payload, payload["content"], thread=thread_name(incident))
        else:
            name = ctx.extra.get("template") if kind == OPENED else kind
            payload = message(name, incident, cfg, now, ctx.mentions if kind in (OPENED, RAISED, ESCALATION) else (),
                              ctx.extra, public_url)
        return DiscordMessage(kind, payload, payload["content"])

    def skips(self, message: Message) -> str:
        """Webhook mode has no thread to reply in and cannot react: a workflow step is not sent (the alert's card,
        edited, and the timeline show it)."""
        return WEBHOOK_STEP if message.kind == STEP and self.bot() is None else ""

    def send(self, message: Message, timeout: float) -> Result:
        bot = self.bot()
        if bot is None:
            why = self.skips(message)
            return superseded(why) if why else post(self.name, self.webhook(), message.payload, timeout)
        if message.kind == OPENED:
            return bot.open(message, timeout)
        if message.kind == STEP:
            return bot.step(message, timeout)
        thread = message.ref.split("/", 1)[1] if message.kind in IN_THREAD and "/" in (message.ref or "") else None
        return bot.post(thread or bot.channel_id, message.payload, timeout)

    def edit(self, ref: str, message: Message, timeout: float) -> Result:
        shown = {**message.payload, "allowed_mentions": {"parse": []}}  # an edit never pings again
        bot = self.bot()
        if bot is None:
            return patch(self.name, self.webhook(), ref, shown, timeout)
        if "/" not in ref:
            return SUPERSEDED  # posted through the webhook before bot mode was set up: only the webhook can edit it
        return bot.edit(ref, {k: v for k, v in shown.items() if k not in ("nonce", "enforce_nonce")}, timeout)


class DiscordStaging(Discord):
    """The staging channel: the same messages, never a mention."""

    name = "discord_staging"

    def webhook(self) -> Secret:
        return self.settings.discord_staging_webhook_url

    def channel_id(self) -> str:
        return self.settings.discord_staging_channel_id
