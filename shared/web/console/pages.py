"""What each console page shows, from the same use cases the API calls, rendered with Jinja2 (autoescaped).

Every alert text is untrusted: the templates autoescape it and show it as plain text (no Markdown, so a
`[link](javascript:...)` stays text); links are only the incident's own http(s) ones. The postmortem and the handoff
are the team's Markdown, rendered with raw HTML off (shared/web/markup.py). People are named, never shown as ids: a
person id as the team file's name, a Discord mention `<@id>` as the person it is, "someone" when nobody in the
team file has that id.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import jinja2

from shared import oncall as on_call
from shared import postmortems, silences
from shared.channels import words
from shared.channels.render import SOURCE_LABELS, local_time, safe_url, source_label
from shared.config import Config
from shared.config.settings import settings
from shared.incidents import actions, listing
from shared.model import OutboxStatus, Severity, Status
from shared.reports import metrics as sla_metrics
from shared.rules import clocks
from shared.rules import oncall as rotation
from shared.web import markup
from shared.web.api import handoff_view, on_call_view

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "console"
PAGE_SIZE = 50
WEEKS_AHEAD = 4           # the on-call page: this week and the next four
LINKS = {"sentry": "Sentry issue", "monitor": "UptimeRobot monitor", "health": "Health check"}   # else the source's

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                          undefined=jinja2.StrictUndefined)


def render(name: str, **context) -> str:
    return _env.get_template(name).render(**context)


def _name(pid: str | None, cfg: Config) -> str:
    return next((p.name for p in cfg.people if p.id == pid), pid or "—")


def _mention(cfg: Config, at: str = "") -> markup.Mention:
    """How a page names the person behind a Discord mention: by the team file's name (after `at`: "@" where the
    Markdown names people as @Name), else "someone"."""
    names = {p.discord_id: at + p.name for p in cfg.people if p.discord_id}
    return lambda uid: names.get(uid, "someone")


def _row(incident, now: datetime, cfg: Config) -> dict:
    return {"id": incident.id, "severity": incident.severity.label, "title": incident.title,
            "service": incident.service, "environment": incident.environment, "status": incident.status,
            "age": clocks.span(now - incident.created_at), "opened": local_time(incident.created_at, cfg),
            "owner": _name(incident.owner, cfg) if incident.owner else "—", "occurrences": incident.occurrences,
            "respond": _respond_clock(incident, now),
            "resolve": clocks.sla_clock(incident.resolve_by, incident.resolved_at, now)}


def _respond_clock(incident, now: datetime) -> dict | None:
    """The response clock, until someone acknowledges; closed without an acknowledgement, it no longer applies."""
    if incident.acknowledged_at is None and incident.is_resolved:
        return None
    return clocks.sla_clock(incident.respond_by, incident.acknowledged_at, now)


def incidents(args, now: datetime, cfg: Config) -> dict:
    """The list: one page of incidents matching the filters, and the choices of the filter form."""
    found, following = listing.page(args, cfg, PAGE_SIZE)
    chosen = {k: (args.get(k) or "") for k in ("status", "severity", "service", "environment", "from", "to")}
    return {"rows": [_row(i, now, cfg) for i in found], "next": following, "chosen": chosen,
            "statuses": ["active"] + [s.value for s in Status], "severities": [s.label for s in sorted(Severity,
                                                                                                     reverse=True)],
            "services": [s.name for s in cfg.services], "environments": list(cfg.environments)}


def _delivery(record: dict, cfg: Config) -> dict:
    """One notification as the team reads it: where, what for, how it went (the state's class is its status)."""
    status = str(record.get("status", ""))
    kind = "retrying" if status == OutboxStatus.PENDING.value and record.get("attempts") else status
    repo, ref = settings().github_repo, record.get("ref")
    link = f"https://github.com/{repo}/issues/{ref}" if repo and str(ref or "").isdigit() and \
        str(record.get("channel", "")).startswith("github") else ""
    failed = status in (OutboxStatus.FAILED.value, OutboxStatus.PENDING.value)
    return {"channel": words.channel_name(str(record.get("channel", ""))), "reason": words.purpose(record),
            "state": words.state(record), "class": kind, "error": (record.get("last_error") or "") if failed else "",
            "link": link,
            "when": local_time(record.get("finished_at") or record.get("due_at") or record.get("created_at"), cfg)}


def incident(typed_id: str, now: datetime, cfg: Config) -> dict:
    """The incident page: every field, its timeline in the team's time, its notifications, its postmortem."""
    found = actions.get(typed_id)
    links = [{"name": LINKS.get(k) or SOURCE_LABELS.get(found.source.split("-")[0], k.capitalize()), "url": safe_url(v)}
             for k, v in sorted(found.links.items()) if safe_url(v)]
    postmortem = postmortems.find(found.id)
    return {"i": _row(found, now, cfg), "incident": found, "links": links,
            "reason": found.reason, "location": found.location, "message": found.latest_message,
            "users": found.users_affected, "previous": found.previous_incident, "pinned": bool(found.pinned_rank),
            "source": source_label(found),
            "times": [(label, local_time(value, cfg)) for label, value in (
                ("Opened", found.created_at), ("First seen", found.first_seen), ("Last seen", found.last_seen),
                ("Acknowledged", found.acknowledged_at), ("Resolved", found.resolved_at),
                ("Respond by", found.respond_by), ("Resolve by", found.resolve_by)) if value is not None],
            "timeline": [{"at": local_time(e["at"], cfg), "actor": _name(e.get("actor"), cfg),
                          "action": e.get("action", ""), "detail": markup.named(e.get("detail", ""), _mention(cfg))}
                         for e in sorted(found.timeline, key=lambda e: e["at"])],
            "notifications": [_delivery(r, cfg) for r in listing.notifications(found.id)],
            "postmortem": bool(postmortem), "closed": found.is_resolved,
            "severities": [s.label for s in sorted(Severity, reverse=True)]}


def oncall(now: datetime, cfg: Config) -> dict:
    """This week and the next WEEKS_AHEAD from the rotation, with the overrides that fall in each."""
    current = on_call_view(now, cfg)
    overrides = on_call.overrides_ending_after(now)
    start = rotation.next_handover(now, cfg) - timedelta(days=7)
    weeks = []
    for n in range(WEEKS_AHEAD + 1):
        begin, end = start + timedelta(days=7 * n), start + timedelta(days=7 * (n + 1))
        weeks.append({"from": local_time(begin, cfg)[:16], "to": local_time(end, cfg)[:16],
                      "primary": _name(rotation.primary(begin, cfg), cfg), "current": n == 0,
                      "overrides": [{"covering": _name(o["covering"], cfg),
                                     "for": _name(o.get("for"), cfg) if o.get("for") else "whoever is on call",
                                     "from": local_time(o["start"], cfg)[:16], "to": local_time(o["end"], cfg)[:16],
                                     "note": markup.named(o.get("note", ""), _mention(cfg)), "id": o["id"]}
                                    for o in overrides if o["start"] < end and o["end"] > begin]})
    return {"now": current, "primary": _name(current["primary"]["id"], cfg),
            "backup": _name(current["backup"]["id"], cfg), "weeks": weeks,
            "default_start": now.astimezone(cfg.team.zone).strftime("%Y-%m-%dT%H:%M")}


def handoff(now: datetime, cfg: Config) -> dict:
    composed = handoff_view(now, cfg)
    return {"h": composed, "from_": _name(composed["from"], cfg), "to": _name(composed["to"], cfg),
            "html": markup.discord_markup(composed["text"], _mention(cfg, "@"), inert_too=True)}


def metrics(args, now: datetime, cfg: Config) -> dict:
    """Per severity: incidents, median times to acknowledge and resolve, SLA met and breached, for a range."""
    start, end = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    found = sla_metrics.between(start or None, end or None, now, cfg)
    rows = []
    for label, m in found["by_severity"].items():
        tta, ttr = m["median_time_to_acknowledge_seconds"], m["median_time_to_resolve_seconds"]
        rows.append({"severity": label, **m,
                     "mtta": clocks.span(timedelta(seconds=tta)) if tta is not None else "—",
                     "mttr": clocks.span(timedelta(seconds=ttr)) if ttr is not None else "—"})
    return {"rows": rows, "chosen": {"from": start, "to": end},
            "range": (local_time(datetime.fromisoformat(found["from"]), cfg)[:16],
                      local_time(datetime.fromisoformat(found["to"]), cfg)[:16])}


def silence_list(now: datetime, cfg: Config) -> dict:
    found = silences.listing("active,pending,expired", now)["silences"]
    return {"silences": [{**s, "created_by": _name(s["created_by"], cfg),
                          "comment": markup.named(s.get("comment") or "", _mention(cfg)),
                          "from": local_time(datetime.fromisoformat(s["start"]), cfg)[:16],
                          "to": local_time(datetime.fromisoformat(s["end"]), cfg)[:16],
                          "matchers": ", ".join(f"{k}={v}" for k, v in s["matchers"].items())} for s in found]}


def postmortem(typed_id: str, cfg: Config) -> dict:
    iid = actions.incident_id(typed_id)
    text = postmortems.markdown(iid, cfg)
    return {"id": iid, "markdown": text, "html": markup.github_markup(text, _mention(cfg, "@"), top=2, breaks=True)}
