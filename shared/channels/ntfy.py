"""ntfy: push pages to people's phones, one publish per topic (a person's `ntfy_topic` in the team file).

Docs: https://docs.ntfy.sh/publish/ (JSON publishing: POST to the server's root with {topic, title, message,
priority, tags, click, actions}; priority 5 is "max", which the Android app can let through Do Not Disturb;
https://docs.ntfy.sh/publish/#limitations: messages up to 4,096 bytes, at most 3 action buttons).

    {"topic": "acme-lena-7f3k2q", "title": "CRITICAL shop: Payment gateway returned 503", "priority": 5,
     "message": "...", "tags": ["rotating_light", "critical"], "click": "https://.../console/incidents/INC-...",
     "actions": [{"action": "view", "label": "Acknowledge", "url": "https://.../console/incidents/INC-...",
                  "clear": true}]}

The acknowledge button is a `view` action opening the incident's console page (acknowledging there is one tap,
as whoever signed in), not an `http` action calling the API: that would put a token able to act on every incident
into every push, readable by anyone subscribed to the topic, and the API has no per-incident signed link.
"""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from shared.channels.base import Channel, Context, Message, Result, classify, request, superseded, transport_error
from shared.channels.email import header_text
from shared.channels.render import console_url, context, find, people, template, truncate
from shared.config import Config
from shared.config.channels import ESCALATION, OPENED, RESOLVED
from shared.config.frozen import frozen
from shared.lazy import httpx
from shared.model import Incident, Severity

BODY_BYTES_MAX = 4096   # ntfy's default message-size-limit; the whole JSON body is kept within it
TITLE_MAX = 200         # characters; ntfy sets no title limit of its own, a phone shows one or two lines of it
ACTIONS_MAX = 3         # action buttons a message may carry
PRIORITY_MAX, PRIORITY_DEFAULT, PRIORITY_LOW = 5, 3, 2   # 5 rings through Do Not Disturb; 2 is silent
PRIORITY = {Severity.CRITICAL: PRIORITY_MAX, Severity.HIGH: 4}   # else the default
TAGS = {OPENED: "rotating_light", ESCALATION: "warning", RESOLVED: "white_check_mark"}   # shown as emoji
ACKNOWLEDGE = "Acknowledge"
TEMPLATE = {ESCALATION: "escalation", RESOLVED: "resolved"}   # the opening's body is ntfy/opened.txt.j2


@frozen
class Push:
    """One page, published to each topic alike."""

    topics: tuple[str, ...]
    title: str
    message: str
    priority: int
    tags: tuple[str, ...]
    click: str = ""

    def body(self, topic: str) -> dict:
        """Return the JSON publish for one topic."""
        body = {"topic": topic, "title": self.title, "message": self.message, "priority": self.priority,
                "tags": list(self.tags)}
        if self.click:   # no PUBLIC_URL, no link: a button to nowhere would be worse than none
            body["click"] = self.click
            body["actions"] = [{"action": "view", "label": ACKNOWLEDGE, "url": self.click, "clear": True}]
        return body


def _bytes(body: dict) -> int:
    return len(json.dumps(body, ensure_ascii=False).encode())


def fitted(push: Push) -> Push:
    """Shorten the message (visibly) until every topic's JSON body is within BODY_BYTES_MAX."""
    longest = max(push.topics, key=len, default="x" * 64)
    for _ in range(8):
        over = _bytes(push.body(longest)) - BODY_BYTES_MAX
        if over <= 0:
            return push
        push = replace(push, message=truncate(push.message, max(len(push.message) - over, 0)))
    return push


def push(kind: str, incident: Incident, cfg: Config, now: datetime, ctx: Context, public_url: str = "") -> Push:
    """Return the page for an opening, an escalation or a resolution, to the topics routing found."""
    paged = ctx.mentions or tuple(p.id for p in cfg.people if p.ntfy_topic and p.ntfy_topic in ctx.recipients)
    names = people(paged, cfg).names
    values = {**context(incident, cfg, now, names, public_url=public_url), **ctx.extra}
    if kind == OPENED:
        head, priority = incident.severity.name, PRIORITY.get(incident.severity, PRIORITY_DEFAULT)
        message = template("ntfy/opened.txt.j2", values)
    elif kind == ESCALATION:
        head, priority = f"ESCALATION L{ctx.extra.get('level', 2)}", PRIORITY_MAX
        message = template(find("ntfy", TEMPLATE[kind], ".txt.j2"), values)
    else:
        head, priority = "RESOLVED", PRIORITY_LOW   # a silent notice: whoever was paged can stand down
        message = template(find("ntfy", TEMPLATE[kind], ".txt.j2"), values)
    title = truncate(header_text(f"{head} {incident.service}: {incident.title}"), TITLE_MAX)
    return fitted(Push(tuple(ctx.recipients), title, message, priority,
                       (TAGS[kind], incident.severity.label), console_url(incident.id, public_url)))


class Ntfy(Channel):
    """Push pages to people's phones: Critical openings and escalation pages ring, resolutions arrive silently."""

    name = "ntfy"

    def configured(self) -> bool:
        # ntfy.sh needs no account (the topic is the secret); NTFY_URL set empty shows pages on the preview page
        return bool(self.settings.ntfy_url)

    def render(self, kind: str, incident: Incident | None, cfg: Config, now: datetime, ctx: Context) -> Message:
        page = push(kind, incident, cfg, now, ctx, self.settings.public_url)
        preview = "\n".join([f"To topics: {', '.join(page.topics)} · priority {page.priority}",
                             f"Title: {page.title}", "", page.message]
                            + (["", f"[{ACKNOWLEDGE}] → {page.click}"] if page.click else []))
        return Message(kind, page, preview, recipients=page.topics)

    def send(self, message: Message, timeout: float) -> Result:
        page: Push = message.payload
        if not page.topics:
            return superseded("nobody to address")
        headers = {"Authorization": f"Bearer {self.settings.ntfy_token.reveal()}"} if self.settings.ntfy_token else {}
        done = list(message.progress.get("published", []))   # topics a failed earlier try already reached
        last: Result = Result(True)
        for topic in page.topics:
            if topic in done:
                continue
            try:
                response = request(self.name, "POST", f"{self.settings.ntfy_url}/", timeout, json=page.body(topic),
                                   headers=headers)
            except httpx.HTTPError as e:
                return replace(transport_error(e), progress={"published": done} if done else None)
            last = classify(response, ref=_message_id(response))
            if not last.ok:
                return replace(last, progress={"published": done} if done else None)
            done.append(topic)
        return last


def _message_id(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("id")) if isinstance(body, dict) and body.get("id") else None
