"""The local preview page (/_local/notifications): what channels without credentials would have sent, as the
team would see it (a Discord message with its card, an email's HTML, a GitHub issue), and what is held for
business hours, rendered as it will go out.

Everything from a message is untrusted: the template autoescapes, Markdown is rendered with raw HTML off, the
email's HTML runs in a sandboxed iframe, and the response forbids every external asset and script (CSP).
"""
from __future__ import annotations

from datetime import datetime

import jinja2
from markupsafe import Markup

from shared.channels import DIGEST, OPENED, REGISTRY, Context, build, kind_of_record, words
from shared.channels.discord import Discord
from shared.channels.email import EmailChannel
from shared.channels.github import GitHub
from shared.channels.preview import payload_of
from shared.channels.render import TEMPLATES, local_time, safe_url
from shared.channels.slack import Slack
from shared.config import Config, config
from shared.config.channels import CAPABILITIES
from shared.config.settings import Settings, settings
from shared.local.preview_slack import slack_view
from shared.notify import job
from shared.store import incidents as store
from shared.store import outbox
from shared.web import markup
from shared.web.markup import github_markup

REFRESH_SECONDS = 10
HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                      "frame-src 'self'; base-uri 'none'; form-action 'none'",
           "Cache-Control": "no-store"}
# How each channel's payload is shown (a subclass shows as its base: discord_staging as discord).
FORMATS = {Discord: "discord", EmailChannel: "email", GitHub: "github", Slack: "slack"}
BUTTON_STYLES = {1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link"}  # Discord button styles

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                          undefined=jinja2.StrictUndefined)


def render_page(cfg: Config | None = None) -> str:
    """Return the page: held messages first (the next to go out first), then previews, newest first."""
    cfg = cfg or config()
    held = held_items(outbox.list_held(100), cfg, settings())
    shown = [{**_heading(p, cfg), "view": view(p["channel"], p.get("payload"), p.get("text", ""), cfg)}
             for p in outbox.list_previews(200)]
    return _env.get_template("local/notifications.html.j2").render(held=held, shown=shown, refresh=REFRESH_SECONDS)


def _heading(p: dict, cfg: Config) -> dict:
    """Say which channel, what the message was for, about which incident and when, in the team's words."""
    incident = p.get("incident_id") or ""
    return {"channel": words.channel_name(str(p.get("channel", ""))), "reason": words.purpose(p),
            "incident": "" if incident == "-" else incident, "when": local_time(p["at"], cfg) if p.get("at") else ""}


def held_items(records: list[dict], cfg: Config, settings_: Settings) -> list[dict]:
    """Render what is held as it will go out at its due time (with whoever is on call then): one message
    alone as itself, several for one chat channel as one digest (as notify/sweep.py releases them)."""
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        groups.setdefault((record["channel"], record["due_at"]), []).append(record)
    items = []
    for (name, due), group in groups.items():
        kind = CAPABILITIES.get(name)
        digest = len(group) > 1 and kind is not None and DIGEST in kind.carries
        for part in [group] if digest else [[r] for r in group]:
            items.append({"channel": words.channel_name(name),
                          "reason": words.purpose({"reason": "digest"} if digest else part[0]),
                          "incident": ", ".join(dict.fromkeys(r["incident_id"] for r in part if r.get("incident_id"))),
                          "until": local_time(due, cfg), "count": len(part),
                          "view": _held_view(name, part, digest, cfg, settings_, due)})
    return items


def _held_view(name: str, part: list[dict], digest: bool, cfg: Config, settings_: Settings, due: datetime) -> dict:
    try:
        channel = build(name, settings_)
        message = _held_digest(channel, part, cfg, due) if digest else _held_message(channel, part[0], cfg, due)
    except Exception as e:  # a record the code no longer understands must not take the page down
        return _text(f"cannot render this message now ({type(e).__name__}: {str(e)[:200]})")
    if message is None:
        return _text("its incident is gone: nothing will be sent")
    return view(name, payload_of(message), message.preview, cfg)


def _held_message(channel, record: dict, cfg: Config, due: datetime):
    incident = store.get_incident(record["incident_id"]) if record.get("incident_id") else None
    if incident is None:
        return None
    kind = kind_of_record(record)
    if kind == OPENED:  # as delivery._opening decides it at send time
        current = job.opening_for(channel.name, incident, cfg, due)
        ctx = Context(current.mentions if current else tuple(record.get("mentions", [])),
                      tuple(record.get("recipients", [])), {"template": current.template if current
                                                            else record["template"]})
    else:
        ctx = Context(tuple(record.get("mentions", [])), tuple(record.get("recipients", [])))
    return channel.render(kind, incident, cfg, due, ctx)


def _held_digest(channel, group: list[dict], cfg: Config, due: datetime):
    found = {i: store.get_incident(i) for i in dict.fromkeys(r["incident_id"] for r in group)}
    incidents = [i for i in found.values() if i]
    openings = [job.opening_for(channel.name, i, cfg, due) for i in incidents]
    mentions = tuple(dict.fromkeys(m for o in openings if o for m in o.mentions))
    since = min(r["created_at"] for r in group)
    return channel.render(DIGEST, None, cfg, due, Context(mentions, extra={"items": incidents, "since": since}))


def view(channel: str, payload: dict | None, text: str, cfg: Config) -> dict:
    """Return what the template needs to show one message in its channel's look."""
    kind = REGISTRY.get(channel)
    fmt = next((f for base, f in FORMATS.items() if kind and issubclass(kind, base)), "text")
    if not isinstance(payload, dict):
        return _text(text)
    if fmt == "discord":
        return discord_view(payload, cfg)
    if fmt == "slack":
        return slack_view(payload, cfg)
    if fmt == "email":
        return {"format": "email", "subject": str(payload.get("subject", "")), "to": list(payload.get("to", [])),
                "html": str(payload.get("html", "")), "text": str(payload.get("text", ""))}
    if fmt == "github":
        return {"format": "github", "title": str(payload.get("title", "")),
                "labels": [str(label) for label in payload.get("labels", [])],
                "body": github_markup(str(payload.get("body", "")))}
    return _text(text)


def _text(text: str) -> dict:
    return {"format": "text", "text": text}


def discord_view(payload: dict, cfg: Config) -> dict:
    """Return a Discord execute-webhook payload as the client draws it: content, embeds, buttons."""
    embeds = []
    for e in payload.get("embeds") or []:
        footer = (e.get("footer") or {}).get("text", "")
        embeds.append({
            "color": f"#{int(e['color']) & 0xFFFFFF:06x}" if isinstance(e.get("color"), int) else "#1e1f22",
            "title": discord_markup(str(e.get("title", "")), cfg), "url": safe_url(str(e.get("url", ""))),
            "description": discord_markup(str(e.get("description", "")), cfg),
            "fields": [{"name": discord_markup(str(f.get("name", "")), cfg),
                        "value": discord_markup(str(f.get("value", "")), cfg), "inline": bool(f.get("inline"))}
                       for f in e.get("fields") or []],
            "footer": footer, "timestamp": _when(e.get("timestamp"), cfg)})
    rows = [[{"label": str(b.get("label") or (b.get("emoji") or {}).get("name", "")),
              "style": BUTTON_STYLES.get(b.get("style"), "secondary"), "url": safe_url(str(b.get("url", ""))),
              "disabled": bool(b.get("disabled"))} for b in row.get("components") or []]
            for row in payload.get("components") or [] if isinstance(row, dict)]
    return {"format": "discord", "content": discord_markup(str(payload.get("content", "")), cfg),
            "embeds": embeds, "buttons": [r for r in rows if r]}


def _when(value, cfg: Config) -> str:
    try:
        return local_time(datetime.fromisoformat(str(value)), cfg) if value else ""
    except ValueError:
        return str(value)


def discord_markup(text: str, cfg: Config) -> Markup:
    """Render Discord markdown to safe HTML, mentions shown as Discord shows them (@Name, @role, #channel)."""
    names = {p.discord_id: p.name for p in cfg.people if p.discord_id}
    return markup.discord_markup(text, lambda uid: "@" + names.get(uid, "unknown-user"))
