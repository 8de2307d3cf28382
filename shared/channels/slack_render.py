"""Slack messages as the team reads them: the team's alert text, then the incident card in a coloured attachment
(Block Kit has no colour of its own), the console link as a button; each within Slack's limits.

Blocks: https://api.slack.com/reference/block-kit/blocks (section, header, context, actions)
Attachments (the colour bar): https://api.slack.com/reference/messaging/attachments
Escaping: https://api.slack.com/reference/surfaces/formatting#escaping
"""
from __future__ import annotations

import re
from datetime import datetime

from shared.channels.discord_render import CARD_TEMPLATES, CONSOLE_LABEL, card_head, person_name
from shared.channels.render import (
    EMOJI,
    console_url,
    context,
    find,
    fit,
    local_time,
    safe_url,
    source_label,
    source_link,
    truncate,
)
from shared.config import Config
from shared.model import Incident

# https://api.slack.com/reference/block-kit/blocks#section
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
FIELD_TEXT_MAX = 2000
# https://api.slack.com/reference/block-kit/blocks#header
HEADER_TEXT_MAX = 150
# https://api.slack.com/reference/block-kit/blocks: "maximum of 50 blocks in each message" (attachments' blocks count)
BLOCKS_MAX = 50
# https://api.slack.com/reference/block-kit/block-elements#button
BUTTON_TEXT_MAX = 75
BUTTON_URL_MAX = 3000
# https://api.slack.com/reference/block-kit/blocks#context
CONTEXT_ELEMENTS_MAX = 10
# the top-level `text`: with blocks, it is the notification and the screen reader's fallback; kept to one section's
# worth (Slack cuts a message's text at 40,000: https://api.slack.com/methods/chat.postMessage#truncating)
FALLBACK_MAX = 3000

_MASS = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


def slack_text(text: str) -> str:
    """Make untrusted text inert in Slack mrkdwn: &, < and > as entities (so <!channel>, <@U1>, <!subteam^..>,
    <!date^..> and <url|label> are shown, not acted on), and a bare @channel/@here/@everyone broken with a
    zero-width space (link_names would otherwise turn it into a mass mention)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MASS.sub("@\u200b\\1", text)


def mention(pid: str, cfg: Config, ping: bool = True) -> str:
    """Return how a message names a person: <@U..> by their slack_id (a ping), else @Name."""
    person = next((p for p in cfg.people if p.id == pid), None)
    if person is None:
        return "@" + slack_text(pid)
    return f"<@{person.slack_id}>" if ping and person.slack_id else "@" + slack_text(person.name)


def mentions(ids, cfg: Config, ping: bool = True) -> str:
    return " ".join(mention(pid, cfg, ping) for pid in dict.fromkeys(ids))


def color(incident: Incident) -> str:
    """Return the attachment's colour (#RRGGBB): the Discord card's (the severity's, green once resolved, grey
    when invalid)."""
    return f"#{card_head(incident).color:06X}"


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_MAX)}}


def sections(text: str, room: int) -> list[dict]:
    """Split text into at most `room` sections of SECTION_TEXT_MAX characters, at line ends where it can; what does
    not fit is cut visibly in the last."""
    parts: list[str] = []
    rest = text
    while rest and len(parts) < room - 1 and len(rest) > SECTION_TEXT_MAX:
        cut = rest.rfind("\n", 0, SECTION_TEXT_MAX)
        cut = cut if cut > 0 else SECTION_TEXT_MAX
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    parts.append(rest)
    return [section(p) for p in parts if p.strip()]


def button(url: str) -> dict:
    """Return the actions block with the button that opens the incident in the console."""
    return {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": CONSOLE_LABEL},
                                             "url": url[:BUTTON_URL_MAX], "action_id": "console"}]}


def _field(name: str, value: str) -> dict:
    return {"type": "mrkdwn", "text": truncate(f"*{name}*\n{value}", FIELD_TEXT_MAX)}


def card(incident: Incident, cfg: Config, public_url: str = "") -> list[dict]:
    """Return the incident card's blocks: title, the facts the Discord card shows plus the SLA, the source."""
    head = card_head(incident)
    # plain_text: the header shows the service and id as they are (nothing in it is parsed)
    header = {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                         "text": truncate(head.title, HEADER_TEXT_MAX)}}
    owner = person_name(incident.owner, cfg) if incident.owner else ""
    sla = "" if incident.is_resolved else " · ".join(
        f"{what} by {when.astimezone(cfg.team.zone):%H:%M}" for what, when in
        (("respond", incident.respond_by), ("resolve", incident.resolve_by)) if when is not None)
    fields = [_field("Status", head.status),
              *([_field("Owner", slack_text(owner))] if owner else []),
              _field("Occurrences", str(incident.occurrences)),
              *([_field("Users affected", str(incident.users_affected))] if incident.users_affected else []),
              _field("Environment", slack_text(incident.environment)),
              *([_field("SLA", sla)] if sla else []),
              *([_field("Why this severity", slack_text(incident.reason))] if incident.reason else [])]
    link = safe_url(source_link(incident))
    about = [f"{incident.id} · {slack_text(cfg.team.name)} incident response · opened "
             f"{local_time(incident.created_at, cfg)}"]
    if link:   # a | in the URL would end it early and become its label: percent-encoded, it is the same URL
        about.append(f"<{slack_text(link).replace('|', '%7C')}|{source_label(incident)}>")
    blocks = [header, section(slack_text(incident.title)), {"type": "section", "fields": fields[:SECTION_FIELDS_MAX]},
              {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(" · ".join(about),
                                                                                   SECTION_TEXT_MAX)}]}]
    url = console_url(incident.id, public_url)
    return blocks + ([button(url)] if url else [])


def message(template_name: str, incident: Incident, cfg: Config, now: datetime, mention_ids=(), extra=None,
            public_url: str = "", ping: bool = True) -> dict:
    """Return an incoming-webhook payload: the team's alert text (its Discord wording: plain text reads the same in
    mrkdwn) as a section, for openings the coloured card, and the console link as a button."""
    who = mentions(mention_ids, cfg, ping)
    ctx = {**context(incident, cfg, now, who, escape=slack_text, public_url=public_url), **(extra or {})}
    name = find("slack", template_name, ".mrkdwn.j2")
    if name.startswith("common/"):
        name = find("discord", template_name, ".md.j2")
    text = fit(name, ctx, SECTION_TEXT_MAX)
    payload: dict = {"text": truncate(text, FALLBACK_MAX), "blocks": [section(text)]}
    if template_name in CARD_TEMPLATES:
        payload["attachments"] = [{"color": color(incident), "blocks": card(incident, cfg, public_url)}]
    else:
        url = console_url(incident.id, public_url)
        payload["blocks"] += [button(url)] if url else []
    return payload


def text_message(text: str, url: str = "") -> dict:
    """Return a payload for text decided earlier (the handoff, a notice), already in mrkdwn."""
    return {"text": truncate(text, FALLBACK_MAX),
            "blocks": sections(text, BLOCKS_MAX - (1 if url else 0)) + ([button(url)] if url else [])}


def digest(items: list[Incident], cfg: Config, since: datetime, mention_ids=(), public_url: str = "",
           ping: bool = True) -> dict:
    """Return one message that releases everything held outside business hours; each id links to the console."""
    lines = [f"🌅 Held outside business hours: {len(items)} alert{'s' if len(items) != 1 else ''} since "
             f"{local_time(since, cfg)}"]
    for i in items:
        url = console_url(i.id, public_url)
        name = f"<{url}|{i.id}>" if url else i.id
        lines.append(f"• {EMOJI[i.severity]} {name} [{slack_text(i.service)}] {slack_text(i.title)} - {i.status}, "
                     f"{i.occurrences} occurrence{'s' if i.occurrences != 1 else ''}")
    who = mentions(mention_ids, cfg, ping)
    if who:
        lines.append(f"{who} - Please review")
    return text_message("\n".join(lines))


def count_blocks(payload: dict) -> int:
    """Return the blocks a payload holds, its attachments' included (Slack's BLOCKS_MAX counts them all)."""
    return len(payload.get("blocks") or []) + sum(len(a.get("blocks") or []) for a in payload.get("attachments") or [])


def plain(payload: dict) -> str:
    """Return the message as it reads, for the preview page and the log: the texts of its blocks, the button's URL."""
    out: list[str] = []
    for block in [*(payload.get("blocks") or []),
                  *(b for a in payload.get("attachments") or [] for b in a.get("blocks") or [])]:
        if block.get("text"):
            out.append(block["text"]["text"])
        out += [f["text"] for f in block.get("fields") or []]
        for element in block.get("elements") or []:
            out.append(f"[{element['text']['text']}] {element['url']}" if element.get("type") == "button"
                       else element.get("text", ""))
    shown = "\n".join(out) or payload.get("text", "")
    return shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
