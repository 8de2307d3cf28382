"""Postmortems (pure): which incidents need one, and the blameless draft the team then completes.

The team writes a postmortem for every Critical incident, every High open more than 2 hours, anything that
affected more than 100 users, and any data loss or security issue (flagged by a person). An incident a silence or
a maintenance window held until it resolved (announced to nobody: planned work, known noise) needs one only when
a person flagged it. The draft fills in what the system knows (dates, duration, impact, the timeline in local
time), says "unknown" for what its source cannot know (users affected, from an uptime monitor), and leaves what
only people know as marked prompts; it never invents a cause.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from shared.config import Config
from shared.model import Incident, Severity

LONG_HIGH = timedelta(hours=2)
MANY_USERS = 100
REVIEW_WITHIN = timedelta(hours=48)
FLAGS = ("data_loss", "security")
PROMPT = "_To be written: {what}_"
MAX_ROWS = 100   # timeline rows in a draft: the first and the last 50 of a longer history
UNKNOWN = "unknown"
USERS_KNOWN = ("sentry",)   # the sources that count affected users (Sentry's userCount; its metric alerts do not)
EMOJI = {Severity.CRITICAL: "🔴", Severity.HIGH: "🟠", Severity.MEDIUM: "🟡", Severity.LOW: "🟢"}
# timeline actions as the team's postmortem names them
EVENTS = {"opened": "Alert triggered", "acknowledged": "On-call acknowledged", "investigating": "Investigating",
          "fixing": "Working on a fix", "deploying": "Fix being deployed", "resolved": "Verified resolved",
          "severity": "Severity changed", "escalated": "Escalated", "note": "Note", "reopened": "Reopened",
          "invalid": "Closed as invalid", "silenced": "Silenced"}


def held(incident: Incident) -> bool:
    """True when a silence or a maintenance window held the incident until it resolved: its `silenced_by` (a
    window's occurrence marks it the same way) was never released, so nobody was told of it."""
    silenced = incident.doc.get("silenced_by")
    return isinstance(silenced, dict) and bool(silenced) and not silenced.get("released_at")


def reasons(incident: Incident) -> list[str]:
    """Return why the incident needs a postmortem (empty: it does not). One a silence or a maintenance window held
    needs one only for what a person flagged."""
    out = []
    if incident.severity is Severity.CRITICAL:
        out.append("critical")
    end = incident.resolved_at or incident.last_seen or incident.created_at
    if incident.severity is Severity.HIGH and end - incident.created_at > LONG_HIGH:
        out.append("high for more than 2 hours")
    if incident.users_affected > MANY_USERS:
        out.append(f"more than {MANY_USERS} users affected")
    if held(incident):
        out = []
    for flag in FLAGS:
        if (incident.doc.get("flags") or {}).get(flag):
            out.append(flag.replace("_", " "))
    return [] if incident.invalid else out


def users_affected(incident: Incident) -> int | str:
    """Return how many users the incident affected, or "unknown" when its source cannot count them (an uptime
    monitor, a probe, Alertmanager, Grafana, PagerDuty, a Sentry metric alert)."""
    known = incident.source in USERS_KNOWN and not incident.dedup_key.startswith("sentry-metric:")
    return incident.users_affected if known or incident.users_affected else UNKNOWN


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} hour{'s' if hours != 1 else ''} {minutes} minute{'s' if minutes != 1 else ''}" if hours \
        else f"{minutes} minute{'s' if minutes != 1 else ''}"


def _name(pid: str | None, cfg: Config) -> str:
    known = {p.id: p.name for p in cfg.people}
    return known.get(pid or "", pid or "")


def owner(incident: Incident, cfg: Config, on_call: str | None = None) -> str | None:
    """Who owns the postmortem: the incident's owner, else the person who resolved it, else `on_call`, whoever was
    on call when it resolved (a source closed it: UptimeRobot saw the service back)."""
    people = {p.id for p in cfg.people}
    resolver = next((e.get("actor") for e in reversed(incident.timeline) if e["action"] in ("resolved", "invalid")),
                    None)
    return incident.owner or (resolver if resolver in people else None) or on_call


def draft(incident: Incident, cfg: Config, on_call: str | None = None) -> dict:
    """Return the first draft: what the system knows filled in, the rest as prompts (never invented); `on_call`:
    who was on call when it resolved."""
    zone = cfg.team.zone
    end = incident.resolved_at or incident.last_seen or incident.created_at
    offset = incident.created_at.astimezone(zone).strftime("%z")
    timeline = []
    entries = list(incident.timeline)
    if len(entries) > MAX_ROWS:   # the draft stays a readable page (and a document far below Firestore's 1 MiB)
        skipped = len(entries) - MAX_ROWS
        entries = entries[:MAX_ROWS // 2] + [{"at": entries[MAX_ROWS // 2]["at"], "actor": "system", "action": "…",
                                              "detail": f"{skipped} more entries, on the incident's timeline"}] \
            + entries[-MAX_ROWS // 2:]
    for entry in entries:
        at = entry["at"]
        what = EVENTS.get(entry["action"], entry["action"].capitalize())
        who = _name(entry.get("actor"), cfg)
        detail = entry.get("detail") or ""
        timeline.append({"time": at.astimezone(zone).strftime("%H:%M"), "event": what,
                         "by": who if who not in ("system", "") else "", "detail": detail[:200]})
    sla = incident.sla_resolution_met
    return {
        "incident": incident.id, "title": incident.title,
        "date": incident.created_at.astimezone(zone).date().isoformat(),
        "author": _name(owner(incident, cfg, on_call), cfg) or PROMPT.format(what="who writes this postmortem"),
        "severity": incident.severity.label, "severity_emoji": EMOJI[incident.severity],
        "duration": _duration((end - incident.created_at).total_seconds()),
        "reasons": reasons(incident),
        "utc_offset": f"UTC{offset[0]}{int(offset[1:3])}" + (f":{offset[3:]}" if offset[3:] != "00" else ""),
        "review_by": (end + REVIEW_WITHIN).astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        "summary": PROMPT.format(what="one or two sentences on what happened"),
        "impact": {"users": users_affected(incident), "occurrences": incident.occurrences,
                   "duration": _duration((end - incident.created_at).total_seconds()),
                   "sla": "met" if sla else "missed" if sla is False else "not measured",
                   "revenue": PROMPT.format(what="revenue impact, if any")},
        "timeline": timeline,
        "root_cause": PROMPT.format(what="the technical explanation of the cause (the system, not a person)"),
        "resolution": PROMPT.format(what="what was done to fix it"),
        "went_well": [PROMPT.format(what="what worked")], "went_wrong": [PROMPT.format(what="what did not work")],
        "lucky": [PROMPT.format(what="where we got lucky")],
        "action_items": [], "prevention": PROMPT.format(what="what will keep this from happening again"),
    }


def review_deadline(resolved_at: datetime) -> datetime:
    """Return when the postmortem should be reviewed: 48 hours after the incident was resolved."""
    return resolved_at + REVIEW_WITHIN


def next_deadline(items: list[dict]) -> str | None:
    """Return the earliest deadline (YYYY-MM-DD) of the action items not done yet; None when none is open."""
    return min((a["deadline"] for a in items if not a.get("done") and a.get("deadline")), default=None)


def overdue(items: list[dict], day: date) -> list[dict]:
    """Return the action items not done whose deadline is a day before `day` (the team's local day)."""
    return [a for a in items if not a.get("done") and a.get("deadline") and a["deadline"] < day.isoformat()]
