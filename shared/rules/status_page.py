"""The public status page as pure rules: each service's state, daily uptime, and incidents under neutral public
names, in the Atlassian Statuspage v2 vocabulary (https://www.githubstatus.com/api). `now` is a parameter.

Nothing internal leaves here: an incident is shown only as "<Major outage> of <service>", with its times and a
public status; never its title, message, links, people or dedup key.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta

from shared.config import Config
from shared.model import Incident, Severity
from shared.rules import silence, uptime

PUBLIC_ENVIRONMENT = "production"   # only production incidents reach the public page; staging never shows
HISTORY_DAYS = 90                   # daily uptime bars
RECENT_DAYS = 14                    # incidents listed on the page
ACTIVE = ("open", "acknowledged")

# Statuspage component status per severity of an open incident (Low changes nothing a visitor sees).
COMPONENT_STATUS = {Severity.CRITICAL: "major_outage", Severity.HIGH: "partial_outage",
                    Severity.MEDIUM: "degraded_performance", Severity.LOW: "operational"}
COMPONENT_RANK = ["operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"]
COMPONENT_LABEL = {"operational": "Operational", "under_maintenance": "Under maintenance",
                   "degraded_performance": "Degraded performance", "partial_outage": "Partial outage",
                   "major_outage": "Major outage"}
IMPACT = {Severity.CRITICAL: "critical", Severity.HIGH: "major", Severity.MEDIUM: "minor", Severity.LOW: "none"}
IMPACT_RANK = ["none", "minor", "major", "critical"]
INDICATOR_TEXT = {"none": "All Systems Operational", "minor": "Minor Service Outage",
                  "major": "Partial System Outage", "critical": "Major Service Outage"}
MAINTENANCE_TEXT = "Service Under Maintenance"
# The team's workflow phase, as the public incident status (a Statuspage incident has no "fixing").
PHASE_STATUS = {"": "investigating", "investigating": "investigating", "fixing": "identified",
                "deploying": "monitoring"}
UPDATE_BODY = {"investigating": "We are investigating this issue.",
               "identified": "The cause has been identified and a fix is being worked on.",
               "monitoring": "A fix has been deployed and we are monitoring the results.",
               "resolved": "This incident has been resolved."}


def public_id(kind: str, name: str) -> str:
    """Return a stable 12-character id for a page, component or incident (the internal id is not shown)."""
    return hashlib.sha256(f"{kind}:{name}".encode()).hexdigest()[:12]


def is_public(incident: Incident, cfg: Config) -> bool:
    """True for a production incident of a configured service (not closed as invalid)."""
    return (incident.environment == PUBLIC_ENVIRONMENT and not incident.invalid
            and incident.service in {s.name for s in cfg.services})


def _covers(window: dict, service: str) -> bool:
    """A window naming only service (and environment) covers the service; one naming titles is about alerts."""
    return set(window["matchers"]) <= {"service", "environment"} and silence.matches(
        window["matchers"], {"service": service, "environment": PUBLIC_ENVIRONMENT})


def component_status(service: str, incidents: list[Incident], windows: list[dict]) -> str:
    """Return the service's Statuspage status from its open incidents and the windows in force (`windows`)."""
    if any(_covers(w, service) for w in windows):
        return "under_maintenance"
    states = [COMPONENT_STATUS[i.severity] for i in incidents if i.service == service and i.status in ACTIVE]
    return max(states, key=COMPONENT_RANK.index, default="operational")


def indicator(incidents: list[Incident]) -> str:
    """Return the page's indicator: the worst impact of its unresolved incidents."""
    return max((IMPACT[i.severity] for i in incidents if i.status in ACTIVE), key=IMPACT_RANK.index, default="none")


def daily_uptime(service: str, incidents: list[Incident], windows: list[dict], today: date, now: datetime,
                 cfg: Config) -> list[dict]:
    """Return HISTORY_DAYS local days, oldest first: {date, percent, downtime_minutes} (maintenance left out)."""
    from shared import summary  # outages(): the daily summary's rule for what counts as down
    down = summary.outages([i for i in incidents if i.service == service], now).get(service, [])
    planned = [(w["start"], w["end"]) for w in windows if _covers(w, service)]
    counted = uptime.without(down, planned)
    days = []
    for back in range(HISTORY_DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        start = datetime.combine(day, time(0), tzinfo=cfg.team.zone)
        end = min(start + timedelta(days=1), now)
        held = uptime.downtime(planned, start, end)
        lost = uptime.downtime(counted, start, end)
        days.append({"date": day.isoformat(), "downtime_minutes": round(lost.total_seconds() / 60),
                     "percent": round(uptime.percent_up(lost, start, end - held), 2) if end > start else 100.0})
    return days


def public_name(incident: Incident) -> str:
    return f"{COMPONENT_LABEL[COMPONENT_STATUS[incident.severity]]} of {incident.service}"


def incident_status(incident: Incident) -> str:
    return "resolved" if incident.status not in ACTIVE else PHASE_STATUS.get(incident.phase, "investigating")


def public_incident(incident: Incident) -> dict:
    """Return what the page may say about an incident: a neutral name, its public status, impact and times."""
    status = incident_status(incident)
    updates = [("investigating", incident.created_at)]
    if status in ("identified", "monitoring"):
        steps = [e.get("at") for e in incident.timeline if isinstance(e.get("at"), datetime)]
        updates.append((status, max(steps, default=incident.acknowledged_at or incident.created_at)))
    resolved_at = (incident.resolved_at or incident.last_seen or incident.created_at) if status == "resolved" else None
    if resolved_at is not None:
        updates.append(("resolved", resolved_at))
    return {"id": public_id("incident", incident.id), "name": public_name(incident), "status": status,
            "impact": IMPACT[incident.severity], "service": incident.service,
            # opened, not the source's first sighting (a Sentry issue may have been first seen months before)
            "started_at": incident.created_at, "created_at": incident.created_at,
            "updated_at": max(at for _, at in updates), "resolved_at": resolved_at,
            "monitoring_at": next((at for s, at in updates if s == "monitoring"), None),
            "updates": [{"status": s, "at": at, "body": UPDATE_BODY[s]} for s, at in reversed(updates)]}


def recent(incidents: list[Incident], now: datetime) -> list[dict]:
    """Return the public incidents of the last RECENT_DAYS (and any still open), newest first; Low is not shown."""
    since = now - timedelta(days=RECENT_DAYS)
    shown = [i for i in incidents if i.severity > Severity.LOW and i.status in (*ACTIVE, "resolved")
             and (i.created_at >= since or i.status in ACTIVE)]
    return [public_incident(i) for i in sorted(shown, key=lambda i: i.created_at, reverse=True)]
