"""A Slack incoming-webhook payload as the Slack client draws it, for the local preview page: the message's sections,
then each attachment with its colour bar (header, text, fields, context), and the console button.

Everything is shown as text (the page's template escapes it): mrkdwn's people (<@U1>) become @Name, its links
(<url|label>) their label, its entities (&lt;) the characters they stand for; formatting marks stay as typed.
"""
from __future__ import annotations

import re

from shared.channels.render import safe_url
from shared.config import Config

_CONTROL = re.compile(r"<([@#!]?)([^<>|]*)(?:\|([^<>]*))?>")
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
GREY = "#DDDDDD"   # an attachment without a colour, or with one of Slack's names (good, warning, danger)


def mrkdwn_text(text: str, cfg: Config) -> str:
    """Return mrkdwn as it reads: <@U1> as @Name, <!here> as @here, <url|label> as label, entities decoded."""
    names = {p.slack_id: p.name for p in cfg.people if p.slack_id}

    def shown(match: re.Match) -> str:
        sigil, target, label = match.groups()
        if sigil == "@":
            return "@" + names.get(target, "unknown-user")
        if sigil == "!":
            return "@" + (label or target.split("^")[0])
        return label or target

    text = _CONTROL.sub(shown, str(text))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _blocks(blocks, cfg: Config) -> list[dict]:
    out = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        text = (block.get("text") or {}).get("text", "") if isinstance(block.get("text"), dict) else ""
        elements = [e for e in block.get("elements") or [] if isinstance(e, dict)]
        out.append({
            "type": str(block.get("type", "")),
            "text": mrkdwn_text(text, cfg),
            "fields": [mrkdwn_text(f.get("text", ""), cfg).replace("*", "", 2) for f in block.get("fields") or []
                       if isinstance(f, dict)],
            "context": " ".join(mrkdwn_text(e.get("text", ""), cfg) for e in elements if e.get("type") != "button"),
            "buttons": [{"label": str((e.get("text") or {}).get("text", "")), "url": safe_url(str(e.get("url", "")))}
                        for e in elements if e.get("type") == "button"],
        })
    return out


def slack_view(payload: dict, cfg: Config) -> dict:
    """Return what the preview page's slack macro draws."""
    attachments = [{"color": str(a.get("color")) if _COLOR.match(str(a.get("color"))) else GREY,
                    "blocks": _blocks(a.get("blocks"), cfg)}
                   for a in payload.get("attachments") or [] if isinstance(a, dict)]
    return {"format": "slack", "blocks": _blocks(payload.get("blocks"), cfg), "attachments": attachments,
            "text": mrkdwn_text(str(payload.get("text", "")), cfg)}
