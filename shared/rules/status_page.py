"""The public status page as pure rules: each service's state, daily uptime, and the incidents the team publishes,
in the Atlassian Statuspage v2 vocabulary (https://www.githubstatus.com/api). `now` is a parameter.

The page says what the team means, as Statuspage and Better Stack do: what people write, plus what monitors prove.
- An incident shows when a person posted a status update for it (shared/status/updates.py), or when it is an
  automatic outage: UptimeRobot or a health probe says its service is down (team file `status_page.automatic:
  outages`, the default; `none` leaves even those to people). An automatic outage shows under a neutral title
  ("Major outage of petties-backend") and is resolved publicly when the monitor recovers. Sentry, Alertmanager,
  Grafana and PagerDuty incidents never show by themselves, and never change a component or the banner.
- One state per component, by this precedence (STATE_PRECEDENCE):
    1. the state a person set (`component_status` of a status update; it holds until a later update sets another
       or the incident is resolved): a person sees the monitors too, and says what visitors should read;
    2. under maintenance while a maintenance window covering the service is in force: planned work is what the
       team means, and the uptime leaves those minutes out too (an outage inside a window is not downtime);
    3. major outage while an automatic outage of the service is open (a monitor proves it);
    4. operational.
  A person's state counts per incident: one person's "degraded performance" on another incident does not hide a
  monitor's outage. The banner (indicator) is the worst of the components' states.
- Daily uptime: one computation, service_uptime, for the page's bars, the JSON and the daily report.

Nothing internal leaves here: an incident is shown under the public title a person wrote, else a neutral one, with
its times, a public status and the updates people wrote for the public; never its own title, message, links,
people or dedup key.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta

from shared.config import Config
from shared.model import Incident
from shared.rules import silence, uptime
from shared.rules import status_updates as updates_rules

PUBLIC_ENVIRONMENT = "production"   # only production incidents reach the public page; staging never shows
HISTORY_DAYS = 90                   # daily uptime bars
RECENT_DAYS = 14                    # incidents listed on the page: those with activity this recent, and open ones
LISTED = 50                         # at most, the most recent: Statuspage's incidents.json lists 50
                                    # (https://www.githubstatus.com/api, "the 50 most recent incidents")
ACTIVE = ("open", "acknowledged")
OUTAGE_STATE = "major_outage"       # what a monitor that says the service is down makes its component
STATE_PRECEDENCE = ("a person's status update", "maintenance window in force", "monitor outage", "operational")

COMPONENT_RANK = ["operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"]
COMPONENT_LABEL = {"operational": "Operational", "under_maintenance": "Under maintenance",
                   "degraded_performance": "Degraded performance", "partial_outage": "Partial outage",
                   "major_outage": "Major outage"}
COMPONENT_IMPACT = {"major_outage": "critical", "partial_outage": "major", "degraded_performance": "minor",
                    "operational": "none", "under_maintenance": "none"}
IMPACT_RANK = ["none", "minor", "major", "critical"]
INDICATOR_TEXT = {"none": "All Systems Operational", "minor": "Minor Service Outage",
                  "major": "Partial System Outage", "critical": "Major Service Outage"}
MAINTENANCE_TEXT = "Service Under Maintenance"
UPDATE_BODY = {"investigating": "We are investigating this issue.",
               "resolved": "This incident has been resolved."}
UPCOMING_DAYS = 7                   # scheduled maintenances shown this far ahead
MAINTENANCE_BODY = {"scheduled": "We will be undergoing scheduled maintenance during this time.",
                    "in_progress": "Scheduled maintenance is currently in progress.",
                    "completed": "The scheduled maintenance has been completed."}


def public_id(kind: str, name: str) -> str:
    """Return a stable 12-character id for a page, component or incident (the internal id is not shown)."""
    return hashlib.sha256(f"{kind}:{name}".encode()).hexdigest()[:12]


def is_public(incident: Incident, cfg: Config) -> bool:
    """True for a production incident of a configured service (not closed as invalid): one the page may show,
    should a person write for it or a monitor prove it."""
    return (incident.environment == PUBLIC_ENVIRONMENT and not incident.invalid
            and incident.service in {s.name for s in cfg.services})


def _covers(window: dict, service: str) -> bool:
    """A window naming only service (and environment) covers the service; one naming titles is about alerts."""
    return set(window["matchers"]) <= {"service", "environment"} and silence.matches(
        window["matchers"], {"service": service, "environment": PUBLIC_ENVIRONMENT})


def _latest(incident: Incident) -> dict:
    """The incident's latest public status update, as stored on it: title, status, component_status, count."""
    return incident.doc.get("status_page") or {}


def is_outage(incident: Incident) -> bool:
    """True for an outage a monitor proves: UptimeRobot or a health probe saying the service is down (an SSL
    expiry notice is not one)."""
    return incident.source in uptime.OUTAGE_SOURCES and incident.doc.get("level") == "down" and not incident.invalid


def automatic(incident: Incident, cfg: Config) -> bool:
    """True when the page shows the incident without a person: an outage, and the team lets outages show."""
    return cfg.status_page.automatic == "outages" and is_outage(incident)


def written(incident: Incident) -> bool:
    """True once a person posted a status update for the incident."""
    return bool(_latest(incident).get("count"))


def planned(service: str, windows: list[dict]) -> list[uptime.Interval]:
    """The maintenance window occurrences (`windows`) that cover the service, as intervals."""
    return [(w["start"], w["end"]) for w in windows if _covers(w, service)]


def outages(service: str, incidents: list[Incident], end: datetime) -> list[uptime.Interval]:
    """The service's public outages (production; UptimeRobot and probes) as intervals, an open one until `end`."""
    mine = [i for i in incidents if i.service == service and i.environment == PUBLIC_ENVIRONMENT]
    return uptime.outages(mine, end).get(service, [])


def service_uptime(service: str, incidents: list[Incident], windows: list[dict], start: datetime,
                   end: datetime) -> dict:
    """Return the service's uptime over [start, end) from its public outages outside the maintenance windows that
    cover it: {percent, downtime_minutes, maintenance_minutes}. The one computation the status page's bars, its
    JSON and the daily report all show (`windows`: maintenance occurrences; `incidents`: any, the rule picks)."""
    return uptime.figures(outages(service, incidents, end), planned(service, windows), start, end)


def shown(incident: Incident, cfg: Config, windows: list[dict], now: datetime) -> bool:
    """True when the page shows the incident: a person wrote for it, or it is an automatic outage that was down
    outside the maintenance windows covering its service (`windows`: their occurrences; one wholly inside planned
    work is the maintenance the page already shows)."""
    if written(incident):
        return True
    if not automatic(incident, cfg):
        return False
    held = planned(incident.service, windows)
    if incident.status in ACTIVE and not any(a <= now < b for a, b in held):
        return True
    return bool(uptime.without(outages(incident.service, [incident], now), held))


def publicly_open(incident: Incident) -> bool:
    """True while the incident is open and no person has told the public it is resolved."""
    return incident.status in ACTIVE and _latest(incident).get("status") != "resolved"


def incident_state(incident: Incident, cfg: Config) -> str | None:
    """The state the incident gives its service while open: the one a person set, else a monitor's outage, else
    None (it changes no component)."""
    return _latest(incident).get("component_status") or (OUTAGE_STATE if automatic(incident, cfg) else None)


def impact(incident: Incident, cfg: Config) -> str:
    return COMPONENT_IMPACT[incident_state(incident, cfg) or "operational"]


def component_status(service: str, incidents: list[Incident], in_force: list[dict], cfg: Config) -> str:
    """Return the service's one Statuspage status, by STATE_PRECEDENCE (module docstring), from its open public
    incidents and the maintenance windows in force (`in_force`)."""
    current = [i for i in incidents if i.service == service and publicly_open(i)]
    said = [s for i in current if (s := _latest(i).get("component_status"))]
    proven = [OUTAGE_STATE for i in current if automatic(i, cfg) and not _latest(i).get("component_status")]
    held = any(_covers(w, service) for w in in_force)
    return max(said + (["under_maintenance"] if held else proven), key=COMPONENT_RANK.index, default="operational")


def indicator(states: list[str]) -> str:
    """Return the page's indicator: the worst impact of the components' states."""
    return max((COMPONENT_IMPACT[s] for s in states), key=IMPACT_RANK.index, default="none")


def daily_uptime(service: str, incidents: list[Incident], windows: list[dict], today: date, now: datetime,
                 cfg: Config, known: dict[str, dict] | None = None) -> list[dict]:
    """Return HISTORY_DAYS local days, oldest first: {date, percent, downtime_minutes} (maintenance left out).
    `known`: days recorded when they closed ({day: {service: figures}}), taken as they are; a service the team
    file did not have then was not watched that day (100%)."""
    days = []
    for back in range(HISTORY_DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        if known and day.isoformat() in known:
            figures = known[day.isoformat()].get(service, {"percent": 100.0, "downtime_minutes": 0})
            days.append({"date": day.isoformat(), **figures})
            continue
        start = datetime.combine(day, time(0), tzinfo=cfg.team.zone)
        figures = service_uptime(service, incidents, windows, start, min(start + timedelta(days=1), now))
        days.append({"date": day.isoformat(), "percent": figures["percent"],
                     "downtime_minutes": figures["downtime_minutes"]})
    return days


def public_name(incident: Incident) -> str:
    """The latest title a person wrote for the public, else a neutral line ("Major outage of petties-backend")."""
    neutral = (f"{COMPONENT_LABEL[OUTAGE_STATE]} of {incident.service}" if is_outage(incident)
               else f"Incident affecting {incident.service}")
    return _latest(incident).get("title") or neutral


def last_activity(incident: Incident) -> datetime:
    """When the public last heard of the incident: opened, a person's latest update, or resolved."""
    times = [incident.created_at, _latest(incident).get("updated_at")]
    if incident.status not in ACTIVE:
        times.append(incident.resolved_at or incident.last_seen)
    return max(t for t in times if isinstance(t, datetime))


def _neutral(incident_id: str, status: str, at: datetime) -> dict:
    return {"id": public_id("update", f"{incident_id}:{status}"), "status": status, "at": at,
            "body": UPDATE_BODY[status], "issue": UPDATE_BODY[status], "impact": None, "eta": None, "every": None}


def _human(update: dict) -> dict:
    return {"id": public_id("update", update["id"]), "status": update["status"], "at": update["created_at"],
            "body": updates_rules.body(update), "issue": update["message"], "impact": update.get("impact"),
            "eta": update.get("eta"), "every": update.get("next_update_minutes")}


def _timeline(incident: Incident, human: list[dict], auto: bool) -> list[dict]:
    """The incident's public updates, oldest first: a neutral "investigating" when a monitor opened it (or nobody
    wrote yet), those people wrote, and a neutral "resolved" when it was resolved (the monitor recovered, or a
    person resolved it in the team's workflow) without a person's "resolved" last."""
    out = [_human(u) for u in human]
    if auto or not out:
        out.insert(0, _neutral(incident.id, "investigating", incident.created_at))
    out.sort(key=lambda u: u["at"])
    if incident.status not in ACTIVE and out[-1]["status"] != "resolved":
        resolved_at = incident.resolved_at or incident.last_seen or incident.created_at
        out.append(_neutral(incident.id, "resolved", max(resolved_at, out[-1]["at"])))
    return out


def public_incident(incident: Incident, cfg: Config, human: list[dict] = ()) -> dict:
    """Return what the page may say about an incident: its public name, status, impact, times and updates, newest
    first (`human`: the status updates people wrote, oldest first)."""
    updates = _timeline(incident, list(human), automatic(incident, cfg))
    status = updates[-1]["status"]
    return {"id": public_id("incident", incident.id), "name": public_name(incident), "status": status,
            "impact": impact(incident, cfg), "service": incident.service,
            # opened, not the source's first sighting (a Sentry issue may have been first seen months before)
            "started_at": incident.created_at, "created_at": incident.created_at,
            "updated_at": updates[-1]["at"],
            "resolved_at": updates[-1]["at"] if status == "resolved" else None,
            "monitoring_at": next((u["at"] for u in updates if u["status"] == "monitoring"), None),
            "updates": list(reversed(updates))}


def listed(incidents: list[Incident], now: datetime, cfg: Config, windows: list[dict]) -> list[Incident]:
    """Return the incidents the page lists, by latest activity, newest first: the LISTED most recent of those it
    shows (see shown) that are open or were active in the last RECENT_DAYS. (The uptime counts every outage: a
    long outage's older incidents are only not listed.)"""
    since = now - timedelta(days=RECENT_DAYS)
    chosen = [i for i in incidents if i.status in (*ACTIVE, "resolved")
              and (i.status in ACTIVE or last_activity(i) >= since) and shown(i, cfg, windows, now)]
    return sorted(chosen, key=lambda i: (last_activity(i), i.created_at, i.id), reverse=True)[:LISTED]


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
