"""Render incidents into channel messages with the team's templates, within each vendor's limits."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import jinja2

from shared.config import Config
from shared.model import Severity

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

# Discord limits: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
# and https://discord.com/developers/docs/resources/webhook#execute-webhook (content)
DISCORD_CONTENT_MAX = 2000
DISCORD_EMBED_TITLE_MAX = 256
DISCORD_EMBED_DESCRIPTION_MAX = 4096
DISCORD_FIELD_VALUE_MAX = 1024
DISCORD_EMBED_TOTAL_MAX = 6000
# GitHub issue titles are capped at 256 characters; bodies at 65,536 (https://docs.github.com/en/rest/issues)
GITHUB_TITLE_MAX = 256
GITHUB_BODY_MAX = 65536
EMAIL_SUBJECT_MAX = 200

EMOJI = {Severity.CRITICAL: "🔴", Severity.HIGH: "🟠", Severity.MEDIUM: "🟡", Severity.LOW: "🟢"}
COLOR = {Severity.CRITICAL: 0xE74C3C, Severity.HIGH: 0xE67E22, Severity.MEDIUM: 0xF1C40F, Severity.LOW: 0x2ECC71}
RESOLVED_COLOR = 0x2ECC71
TRUNCATED = "… (truncated {n} characters)"

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                          autoescape=jinja2.select_autoescape(["html.j2"], default=False),
                          keep_trailing_newline=False, trim_blocks=False)


def truncate(text: str, limit: int) -> str:
    """Cut text to `limit` characters, saying visibly how much was cut."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    for _ in range(4):  # the marker's own length depends on the number it shows
        keep = limit - len(TRUNCATED.format(n=cut))
        if keep < 0:
            return text[:limit]
        if len(text) - keep == cut:
            break
        cut = len(text) - keep
    return text[:keep] + TRUNCATED.format(n=cut)


_INLINE = re.compile(r"([\\*_~`|\[\]])")
_LINE_START = re.compile(r"(?m)^(\s*)([#>-])")
_EVERYONE = re.compile(r"@(everyone|here)", re.IGNORECASE)
_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`]+$")


def discord_text(text: str) -> str:
    """Make untrusted text inert in Discord markdown: no formatting, no masked links, no mass mentions."""
    text = _LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", text)).replace("<@", "<\u200b@")
    return _EVERYONE.sub("@\u200b\\1", text)


def safe_url(url: str) -> str:
    """Return the URL if it is a plain http(s) link, else ''."""
    return url[:2000] if url and _SAFE_URL.match(url) else ""


def local_time(value: datetime | None, cfg: Config) -> str:
    """Format as YYYY-MM-DD HH:MM:SS +07:00 in the team's zone."""
    if value is None:
        return "—"
    local = value.astimezone(cfg.team.zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def _duration(seconds: float) -> str:
    minutes = max(int(seconds // 60), 0)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m"]
    return " ".join(p for p in parts if p) if seconds >= 60 else f"{int(seconds)}s"


@dataclass(frozen=True)
class People:
    """How the people a message names are shown, and which of them Discord may ping."""

    shown: str
    discord_ids: tuple[str, ...]
    names: str


def people(ids: tuple[str, ...] | list[str], cfg: Config) -> People:
    shown, pings, names = [], [], []
    for pid in dict.fromkeys(ids):
        person = cfg.person(pid)
        names.append(f"@{person.name}")
        if person.discord_id:
            shown.append(f"<@{person.discord_id}>")
            pings.append(person.discord_id)
        else:
            shown.append(f"@{person.name}")
    return People(" ".join(shown), tuple(pings), " ".join(names))


def context(incident: dict, cfg: Config, now: datetime, mentions: str = "", escape=lambda s: s) -> dict:
    """Return what every template may use, from a stored incident (untrusted text passed through `escape`)."""
    severity = Severity(incident["severity_rank"])
    opened = incident["created_at"]
    last = incident.get("last_seen") or opened
    minutes = max(math.ceil((last - opened).total_seconds() / 60), 1)
    users, occurrences = incident.get("users_affected", 0), incident["occurrences"]
    links = incident.get("links", {})
    service = next((s for s in cfg.services if s.name == incident["service"]), None)
    link_urls = {"sentry_url": safe_url(links.get("sentry") or links.get("monitor") or ""),
                 "logs_url": safe_url(service.logs_url) if service else "",
                 "dashboard_url": safe_url(service.dashboard_url) if service else ""}
    end = incident.get("resolved_at") or now
    downtime = incident.get("downtime_seconds")
    return {
        "id": incident["id"], "service": escape(incident["service"]), "environment": incident["environment"],
        "title": escape(incident["title"]), "location": escape(incident.get("location") or "—"),
        "details": escape(incident.get("latest_message") or incident["title"]),
        "details_code": (incident.get("latest_message") or incident["title"]).replace("```", "'''"),
        "time": local_time(opened, cfg), "severity": severity.label, "severity_upper": severity.name,
        "emoji": EMOJI[severity], "reason": escape(_reason(incident, severity)), "status": incident["status"],
        "impact": f"{users} user{'s' if users != 1 else ''} in {minutes} minute{'s' if minutes != 1 else ''}",
        "occurrences_text": f"{occurrences} occurrence{'s' if occurrences != 1 else ''}"
        + (f" ({users} user{'s' if users != 1 else ''} in {minutes} minute{'s' if minutes != 1 else ''})"
           if users else f" in {minutes} minute{'s' if minutes != 1 else ''}"),
        "metric": escape(f"{occurrences} occurrences and {users} users in {minutes} min; "
                         f"threshold: {_reason(incident, severity) or severity.label}"),
        "links": {"sentry": link_urls["sentry_url"] or "—", "logs": link_urls["logs_url"] or "—",
                  "dashboard": link_urls["dashboard_url"] or "—", **link_urls},
        "mentions": mentions, "duration": _duration((end - opened).total_seconds()),
        "downtime": _duration(downtime) if downtime else "",
        "respond_by": _clock(incident.get("respond_by"), cfg), "resolve_by": _clock(incident.get("resolve_by"), cfg),
        "unacked_for": _duration((now - opened).total_seconds()),
    }


def _clock(value: datetime | None, cfg: Config) -> str:
    """Format a due time the way the guide says it: 15:45, in the team's zone."""
    if value is None:
        return "—"
    return value.astimezone(cfg.team.zone).strftime("%H:%M")


def _reason(incident: dict, severity: Severity) -> str:
    return incident.get("severity_reasons", {}).get(severity.label, "")


def _render(name: str, ctx: dict) -> str:
    return _env.get_template(name).render(**ctx).strip()


def _fit(name: str, ctx: dict, limit: int, field: str = "details") -> str:
    """Render, shortening `field` (visibly) until the text fits `limit`; then hard-cut as a last resort."""
    text = _render(name, ctx)
    value = ctx.get(field, "")
    for _ in range(4):
        if len(text) <= limit or not value:
            break
        value = truncate(value, max(len(value) - (len(text) - limit), 0))
        text = _render(name, {**ctx, field: value})
    return truncate(text, limit)


def discord_message(template: str, incident: dict, cfg: Config, now: datetime, mention_ids=(),
                    extra: dict | None = None) -> dict:
    """Return a Discord execute-webhook payload: the team's template as content plus a coloured embed."""
    who = people(mention_ids, cfg)
    ctx = {**context(incident, cfg, now, who.shown, escape=discord_text), **(extra or {})}
    payload = {"content": _fit(f"discord/{template}.md.j2", ctx, DISCORD_CONTENT_MAX),
               "allowed_mentions": {"parse": [], "users": list(who.discord_ids)}}
    if template in ("critical", "high", "warning"):
        payload["embeds"] = [discord_embed(incident, cfg)]
    return payload


def discord_embed(incident: dict, cfg: Config) -> dict:
    """Return the incident card: severity colour, current status and counts (edited as they change)."""
    severity = Severity(incident["severity_rank"])
    resolved = incident["status"] == "resolved"
    title = f"{'✅ RESOLVED · ' if resolved else ''}{EMOJI[severity]} {severity.name} · {incident['service']} · " \
            f"{incident['id']}"
    embed = {
        "title": truncate(title, DISCORD_EMBED_TITLE_MAX),
        "description": truncate(discord_text(incident["title"]), 1024),
        "color": RESOLVED_COLOR if resolved else COLOR[severity],
        "fields": [
            {"name": "Status", "value": incident["status"], "inline": True},
            {"name": "Occurrences", "value": str(incident["occurrences"]), "inline": True},
            {"name": "Users affected", "value": str(incident.get("users_affected", 0)), "inline": True},
            {"name": "Environment", "value": truncate(incident["environment"], DISCORD_FIELD_VALUE_MAX),
             "inline": True},
            {"name": "Why this severity", "value": truncate(discord_text(_reason(incident, severity)) or "—",
                                                            DISCORD_FIELD_VALUE_MAX)},
        ],
        "footer": {"text": f"{incident['id']} · {cfg.team.name} incident response"},
        "timestamp": incident["created_at"].astimezone(timezone.utc).isoformat(),
    }
    link = safe_url(incident.get("links", {}).get("sentry") or incident.get("links", {}).get("monitor") or "")
    if link:
        embed["url"] = link
    return embed


def discord_digest(items: list[dict], cfg: Config, now: datetime, since: datetime, mention_ids=()) -> dict:
    """Return one message that releases everything held for a channel outside business hours."""
    who = people(mention_ids, cfg)
    rows = [context(i, cfg, now, escape=discord_text) for i in items]
    ctx = {"items": rows, "since": local_time(since, cfg), "mentions": who.shown}
    text = _render("discord/digest.md.j2", ctx)
    while len(text) > DISCORD_CONTENT_MAX and len(rows) > 1:
        rows = rows[:-1]
        more = len(items) - len(rows)
        text = _render("discord/digest.md.j2", {**ctx, "items": rows}) + f"\n… and {more} more"
    return {"content": truncate(text, DISCORD_CONTENT_MAX),
            "allowed_mentions": {"parse": [], "users": list(who.discord_ids)}}


@dataclass(frozen=True)
class Email:
    to: tuple[str, ...]
    subject: str
    text: str
    html: str


def email_message(template: str, incident: dict, cfg: Config, now: datetime, recipients, mention_ids=(),
                  extra: dict | None = None) -> Email:
    """Return an email (plain text and autoescaped HTML) for the critical, resolved or escalation template."""
    ctx = {**context(incident, cfg, now, people(mention_ids, cfg).names), **(extra or {})}
    prefix = {"resolved": "RESOLVED", "escalation": f"ESCALATION L{(extra or {}).get('level', 2)}"}.get(
        template, Severity(incident["severity_rank"]).name)
    subject = truncate(f"[{prefix}] {incident['service']}: {incident['title']} ({incident['id']})".replace("\n", " "),
                       EMAIL_SUBJECT_MAX)
    return Email(tuple(recipients), subject, _render(f"email/{template}.txt.j2", ctx),
                 _render(f"email/{template}.html.j2", ctx))


def github_issue(incident: dict, cfg: Config, now: datetime) -> dict:
    """Return the GitHub issue for an incident: title, Markdown body, labels."""
    severity = Severity(incident["severity_rank"])
    title = f"[{severity.name}] {incident['service']}: {incident['title']}".replace("\n", " ")
    title = truncate(title, GITHUB_TITLE_MAX)
    body = _fit("github/issue.md.j2", context(incident, cfg, now), GITHUB_BODY_MAX, field="details_code")
    return {"title": title, "body": body,
            "labels": [f"severity:{severity.label}", f"service:{incident['service']}"[:50],
                       f"incident:{incident['id']}"]}


def github_resolved_comment(incident: dict, cfg: Config, now: datetime) -> str:
    return _render("github/resolved.md.j2", context(incident, cfg, now))
