"""What every channel's rendering shares: the template context of an incident, limits, truncation, people."""
from __future__ import annotations

import functools
import math
import re
from datetime import datetime
from pathlib import Path

from shared.config import Config
from shared.config.frozen import frozen
from shared.model import Incident, Severity

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

EMOJI = {Severity.CRITICAL: "🔴", Severity.HIGH: "🟠", Severity.MEDIUM: "🟡", Severity.LOW: "🟢"}

TRUNCATED = "… (truncated {n} characters)"



@functools.cache
def _env():
    """The template environment, made when the first message is rendered (not at a cold start)."""
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
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


@frozen
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


CONSOLE_PATH = "/console/incidents/"   # the console's incident page, under PUBLIC_URL


def console_url(incident_id: str, public_url: str) -> str:
    """Return the incident's page in the console under PUBLIC_URL, or '' when PUBLIC_URL is unset (no link beats a
    broken one)."""
    return safe_url(f"{public_url.rstrip('/')}{CONSOLE_PATH}{incident_id}") if public_url else ""


def plural(count: int, word: str) -> str:
    """Return '1 occurrence', '2 occurrences'."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def context(incident: Incident, cfg: Config, now: datetime, mentions: str = "", escape=lambda s: s,
            public_url: str = "") -> dict:
    """Return what every template may use, from a stored incident (untrusted text passed through `escape`).

    A link that is not configured is '' (its line is left out); a count the source cannot know (users affected is
    0 from an uptime monitor) is left out rather than shown as 0 users.
    """
    severity = incident.severity
    opened = incident.created_at
    last = incident.last_seen or opened
    minutes = max(math.ceil((last - opened).total_seconds() / 60), 1)
    users, occurrences = incident.users_affected, incident.occurrences
    service = next((s for s in cfg.services if s.name == incident.service), None)
    link_urls = {"source_url": safe_url(source_link(incident)),
                 "logs_url": safe_url(service.logs_url) if service else "",
                 "dashboard_url": safe_url(service.dashboard_url) if service else ""}
    end = incident.resolved_at or now
    downtime = incident.downtime_seconds
    within = plural(minutes, "minute")
    occurrences_text = plural(occurrences, "occurrence") + (f" ({plural(users, 'user')} in {within})" if users
                                                            else f" in {within}")
    return {
        "id": incident.id, "service": escape(incident.service), "environment": incident.environment,
        "title": escape(incident.title), "location": escape(incident.location or ""),
        "details": escape(incident.latest_message or incident.title),
        "details_code": (incident.latest_message or incident.title).replace("```", "'''"),
        "time": local_time(opened, cfg), "severity": severity.label, "severity_upper": severity.name,
        "silenced": (incident.doc.get("silenced_by") or {}).get("line", ""),  # "silenced from … to …", once released
        "emoji": EMOJI[severity], "reason": escape(incident.reason), "status": incident.status,
        "users_text": f"{plural(users, 'user')} in {within}" if users else "",
        "impact": f"{plural(users, 'user')} in {within}" if users else occurrences_text,
        "occurrences_text": occurrences_text,
        "metric": escape(occurrences_text + (f"; threshold: {incident.reason}" if incident.reason else "")),
        "links": {"source_label": source_label(incident), **link_urls},
        "console_url": console_url(incident.id, public_url),
        "resolved_by": escape(resolved_by(incident, cfg)) if incident.is_resolved else "",
        "invalid": bool(getattr(incident, "invalid", False)),
        "mentions": mentions, "duration": _duration((end - opened).total_seconds()),
        "downtime": _duration(downtime) if downtime else "",
        "respond_by": _clock(incident.respond_by, cfg), "resolve_by": _clock(incident.resolve_by, cfg),
        "unacked_for": _duration((now - opened).total_seconds()),
    }


CLOSING = ("resolved", "invalid")   # the timeline's actions that close an incident
_UNSAID = ("✅ resolved", "❌ cannot reproduce")   # what the timeline says when the person added no words


def resolved_by(incident: Incident, cfg: Config) -> str:
    """Return who closed the incident and what they said, from its timeline: '@Dev D - pool size raised',
    'Sentry'; '' when the timeline does not say."""
    entry = next((e for e in reversed(incident.timeline) if e.get("action") in CLOSING), None)
    if entry is None:
        return ""
    actor = str(entry.get("actor") or "")
    person = next((p for p in cfg.people if p.id == actor), None)
    if person is None:   # a source closed it (its detail is the source's own wording: "resolved in Sentry")
        return actor if actor and actor != "system" else source_label(incident)
    detail = str(entry.get("detail") or "").strip()
    said = "" if detail.lower() in _UNSAID else detail
    return f"@{person.name}" + (f" - {said}" if said else "")


def _clock(value: datetime | None, cfg: Config) -> str:
    """Format a due time as the alerts say it (15:45), in the team's zone."""
    if value is None:
        return "—"
    return value.astimezone(cfg.team.zone).strftime("%H:%M")


def source_link(incident: Incident) -> str:
    """Return the link to the problem in the tool that reported it (Sentry issue, UptimeRobot monitor, ...)."""
    links = incident.links
    return links.get("sentry") or links.get("monitor") or links.get("source") or links.get("health") or ""


SOURCE_LABELS = {"sentry": "Sentry", "uptimerobot": "UptimeRobot", "alertmanager": "Alertmanager",
                 "grafana": "Grafana", "pagerduty": "PagerDuty", "probe": "Health probe"}


def source_label(incident: Incident) -> str:
    """Return the name of the tool that reported the incident, to label its link."""
    return SOURCE_LABELS.get(incident.source.split("-")[0], incident.source.title() or "Source")


def find(channel: str, name: str, suffix: str) -> str:
    """Return templates/<channel>/<name><suffix>, or the shared templates/common/<name>.txt.j2 when the channel has
    no wording of its own."""
    own = f"{channel}/{name}{suffix}"
    return own if (TEMPLATES / own).exists() else f"common/{name}.txt.j2"


def template(name: str, ctx: dict) -> str:
    """Render one template file (templates/<channel>/<name>) with StrictUndefined."""
    return _env().get_template(name).render(**ctx).strip()


def fit(name: str, ctx: dict, limit: int, field: str = "details") -> str:
    """Render, shortening `field` (visibly) until the text fits `limit`; then hard-cut as a last resort."""
    text = template(name, ctx)
    value = ctx.get(field, "")
    for _ in range(4):
        if len(text) <= limit or not value:
            break
        value = truncate(value, max(len(value) - (len(text) - limit), 0))
        text = template(name, {**ctx, field: value})
    return truncate(text, limit)


def postmortem_markdown(postmortem: dict, cfg: Config | None = None, tasks: bool = False) -> str:
    """Render a postmortem (a draft or an edited one) as the team's Markdown template; `tasks`: its action items
    as a GitHub task list (`- [ ] action (owner, due YYYY-MM-DD)`) rather than the team's table."""
    names = {p.id: p.name for p in cfg.people} if cfg else {}
    items = [{**a, "owner": names.get(a["owner"], a["owner"])} for a in postmortem.get("action_items") or []]
    return template("postmortem/postmortem.md.j2", {**postmortem, "action_items": items, "tasks": tasks})
