"""The public status page as pure rules: each service's state, daily uptime, and incidents under neutral public
names, in the Atlassian Statuspage v2 vocabulary (https://www.githubstatus.com/api). `now` is a parameter.

Nothing internal leaves here: an incident is shown under the public title a person wrote in a status update
(shared/status/updates.py), else as "<Major outage> of <service>", with its times, a public status and the
updates people wrote for the public; never its own title, message, links, people or dedup key.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta

from shared.config import Config
from shared.model import Incident, Severity
from shared.rules import silence, uptime
from shared.rules import status_updates as updates_rules

PUBLIC_ENVIRONMENT = "production"   # only production incidents reach the public page; staging never shows
HISTORY_DAYS = 90                   # daily uptime bars
RECENT_DAYS = 14                    # incidents listed on the page
LISTED = 50                         # at most, the most recent: Statuspage's incidents.json lists 50
                                    # (https://www.githubstatus.com/api, "the 50 most recent incidents")
ACTIVE = ("open", "acknowledged")

# Statuspage component status per severity of an open incident (Low changes nothing a visitor sees).
COMPONENT_STATUS = {Severity.CRITICAL: "major_outage", Severity.HIGH: "partial_outage",
                    Severity.MEDIUM: "degraded_performance", Severity.LOW: "operational"}
COMPONENT_RANK = ["operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"]
COMPONENT_LABEL = {"operational": "Operational", "under_maintenance": "Under maintenance",
                   "degraded_performance": "Degraded performance", "partial_outage": "Partial outage",
                   "major_outage": "Major outage"}
IMPACT = {Severity.CRITICAL: "critical", Severity.HIGH: "major", Severity.MEDIUM: "minor", Severity.LOW: "none"}
COMPONENT_IMPACT = {"major_outage": "critical", "partial_outage": "major", "degraded_performance": "minor",
                    "operational": "none"}
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
UPCOMING_DAYS = 7                   # scheduled maintenances shown this far ahead
MAINTENANCE_BODY = {"scheduled": "We will be undergoing scheduled maintenance during this time.",
                    "in_progress": "Scheduled maintenance is currently in progress.",
                    "completed": "The scheduled maintenance has been completed."}


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


def _latest(incident: Incident) -> dict:
    """The incident's latest public status update, as stored on it: title, status, component_status, count."""
    return incident.doc.get("status_page") or {}


def publicly_open(incident: Incident) -> bool:
    """True while the incident is open and no person has told the public it is resolved."""
    return incident.status in ACTIVE and _latest(incident).get("status") != "resolved"


def incident_component_status(incident: Incident) -> str:
    """The state an open incident gives its service: the latest update's override, else from its severity."""
    return _latest(incident).get("component_status") or COMPONENT_STATUS[incident.severity]


def impact(incident: Incident) -> str:
    return COMPONENT_IMPACT[incident_component_status(incident)]


def component_status(service: str, incidents: list[Incident], windows: list[dict]) -> str:
    """Return the service's Statuspage status from its open incidents and the windows in force (`windows`)."""
    if any(_covers(w, service) for w in windows):
        return "under_maintenance"
    states = [incident_component_status(i) for i in incidents if i.service == service and publicly_open(i)]
    return max(states, key=COMPONENT_RANK.index, default="operational")


def indicator(incidents: list[Incident]) -> str:
    """Return the page's indicator: the worst impact of its unresolved incidents."""
    return max((impact(i) for i in incidents if publicly_open(i)), key=IMPACT_RANK.index, default="none")


def daily_uptime(service: str, incidents: list[Incident], windows: list[dict], today: date, now: datetime,
                 cfg: Config, known: dict[str, dict] | None = None) -> list[dict]:
    """Return HISTORY_DAYS local days, oldest first: {date, percent, downtime_minutes} (maintenance left out).
    `known`: days recorded when they closed ({day: {service: figures}}), taken as they are; a service the team
    file did not have then was not watched that day (100%)."""
    down = uptime.outages([i for i in incidents if i.service == service], now).get(service, [])
    planned = [(w["start"], w["end"]) for w in windows if _covers(w, service)]
    counted = uptime.without(down, planned)
    days = []
    for back in range(HISTORY_DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        if known and day.isoformat() in known:
            figures = known[day.isoformat()].get(service, {"percent": 100.0, "downtime_minutes": 0})
            days.append({"date": day.isoformat(), **figures})
            continue
        start = datetime.combine(day, time(0), tzinfo=cfg.team.zone)
        end = min(start + timedelta(days=1), now)
        held = uptime.downtime(planned, start, end)
        lost = uptime.downtime(counted, start, end)
        days.append({"date": day.isoformat(), "downtime_minutes": round(lost.total_seconds() / 60),
                     "percent": round(uptime.percent_up(lost, start, end - held), 2) if end > start else 100.0})
    return days


def public_name(incident: Incident) -> str:
    """The latest title a person wrote for the public, else a neutral line ("Major outage of petties-backend")."""
    neutral = f"{COMPONENT_LABEL[COMPONENT_STATUS[incident.severity]]} of {incident.service}"
    return _latest(incident).get("title") or neutral


def incident_status(incident: Incident) -> str:
    return "resolved" if incident.status not in ACTIVE else PHASE_STATUS.get(incident.phase, "investigating")


def _neutral(incident_id: str, status: str, at: datetime) -> dict:
    return {"id": public_id("update", f"{incident_id}:{status}"), "status": status, "at": at,
            "body": UPDATE_BODY[status], "issue": UPDATE_BODY[status], "impact": None, "eta": None, "every": None}


def _human(update: dict) -> dict:
    return {"id": public_id("update", update["id"]), "status": update["status"], "at": update["created_at"],
            "body": updates_rules.body(update), "issue": update["message"], "impact": update.get("impact"),
            "eta": update.get("eta"), "every": update.get("next_update_minutes")}


def _timeline(incident: Incident, human: list[dict]) -> list[dict]:
    """The incident's public updates, oldest first: those people wrote (closed by a neutral "resolved" when the
    incident was resolved without one), else neutral ones from the team's workflow phase."""
    resolved_at = incident.resolved_at or incident.last_seen or incident.created_at
    if human:
        out = [_human(u) for u in human]
        if incident.status not in ACTIVE and out[-1]["status"] != "resolved":
            out.append(_neutral(incident.id, "resolved", max(resolved_at, out[-1]["at"])))
        return out
    status = incident_status(incident)
    out = [_neutral(incident.id, "investigating", incident.created_at)]
    if status in ("identified", "monitoring"):
        steps = [e.get("at") for e in incident.timeline if isinstance(e.get("at"), datetime)]
        out.append(_neutral(incident.id, status, max(steps, default=incident.acknowledged_at or incident.created_at)))
    if status == "resolved":
        out.append(_neutral(incident.id, "resolved", resolved_at))
    return out


def public_incident(incident: Incident, human: list[dict] = ()) -> dict:
    """Return what the page may say about an incident: its public name, status, impact, times and updates
    (`human`: the status updates people wrote, oldest first)."""
    updates = _timeline(incident, list(human))
    status = updates[-1]["status"]
    return {"id": public_id("incident", incident.id), "name": public_name(incident), "status": status,
            "impact": impact(incident), "service": incident.service,
            # opened, not the source's first sighting (a Sentry issue may have been first seen months before)
            "started_at": incident.created_at, "created_at": incident.created_at,
            "updated_at": max(u["at"] for u in updates),
            "resolved_at": updates[-1]["at"] if status == "resolved" else None,
            "monitoring_at": next((u["at"] for u in updates if u["status"] == "monitoring"), None),
            "updates": list(reversed(updates))}


def listed(incidents: list[Incident], now: datetime) -> list[Incident]:
    """Return the incidents the page lists, newest first: the LISTED most recent of those of the last RECENT_DAYS
    and any still open; Low only when a person wrote a status update for it. (The state and the uptime still
    count every incident: a long outage's older ones are only not listed.)"""
    since = now - timedelta(days=RECENT_DAYS)
    shown = [i for i in incidents if (i.severity > Severity.LOW or _latest(i).get("count"))
             and i.status in (*ACTIVE, "resolved") and (i.created_at >= since or i.status in ACTIVE)]
    return sorted(shown, key=lambda i: (i.created_at, i.id), reverse=True)[:LISTED]


def recent(incidents: list[Incident], now: datetime, human: dict[str, list[dict]] | None = None) -> list[dict]:
    """Return the listed incidents as the public sees them (`human`: status updates by incident id)."""
    return [public_incident(i, (human or {}).get(i.id, [])) for i in listed(incidents, now)]


def maintenances(occurrences: list[dict], services: list[str], now: datetime) -> list[dict]:
    """Return the maintenance window occurrences that cover services, as scheduled maintenances under a neutral
    name (a window's own name and comment are the team's), soonest first."""
    out = []
    for o in sorted(occurrences, key=lambda o: o["start"]):
        covered = [s for s in services if _covers(o, s)]
        if not covered:
            continue
        status = "scheduled" if now < o["start"] else "in_progress" if now < o["end"] else "completed"
        listed_at = o["start"] - timedelta(days=UPCOMING_DAYS)   # when it first shows among the upcoming
        steps = [("scheduled", listed_at), ("in_progress", o["start"]), ("completed", o["end"])]
        steps = steps[:[s for s, _ in steps].index(status) + 1]
        mid = public_id("maintenance", o["id"])
        out.append({"id": mid, "name": f"Scheduled maintenance of {', '.join(covered)}", "status": status,
                    "services": covered, "created_at": listed_at, "updated_at": steps[-1][1],
                    "scheduled_for": o["start"], "scheduled_until": o["end"],
                    "resolved_at": o["end"] if status == "completed" else None,
                    "updates": [{"id": public_id("update", f"{o['id']}:{s}"), "status": s, "at": at,
                                 "body": MAINTENANCE_BODY[s]} for s, at in reversed(steps)]})
    return out
