"""The public status page: one view computed from stored incidents, people's status updates and the recorded
closed days (cached CACHE_SECONDS in the process, so a burst of visitors costs one set of Firestore reads),
served as HTML and as Statuspage v2 JSON.

Everything shown comes from shared/rules/status_page: neutral names, or what people wrote as public updates; the
template autoescapes it and the JSON escapes <, > and &. `url`, the page's own address its links start with, is
the transport's (from PUBLIC_URL, never from the request): the same answer for every visitor.
"""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

from shared.cache import TimedCache
from shared.config import Config
from shared.model import Incident, iso
from shared.rules import silence, uptime
from shared.rules import status_page as rules
from shared.rules import status_updates as updates_rules
from shared.store import incidents as store
from shared.store import status_days as days_store
from shared.store import status_updates as updates_store

CACHE_SECONDS = 30
MAX_INCIDENTS = 2000     # incidents read for the days not recorded yet (a small team has far fewer)
MAX_ACTIVE = 200         # open incidents read: each counts towards its service's state
MAX_UPDATES = 1000       # people's status updates read per 30 listed incidents (one `in` query)
TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "status"
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                          undefined=jinja2.StrictUndefined)
_env.filters["local"] = lambda moment, zone: moment.astimezone(ZoneInfo(zone)).strftime("%b %d, %H:%M")
_env.filters["iso"] = lambda moment: moment.isoformat(timespec="seconds")
_env.globals["emoji"] = updates_rules.EMOJI
_lock = threading.Lock()
_cache = TimedCache(CACHE_SECONDS)


def forget() -> None:
    """Drop the cached view (a new team file)."""
    _cache.forget()


def view(now: datetime, cfg: Config) -> dict:
    """Return the page's view, computed at most once per CACHE_SECONDS in this process."""
    return _cache.get("view", lambda: compute(now, cfg))


_rendered: dict = {}


def page(now: datetime, cfg: Config, url: str) -> str:
    """Return the page's HTML, rendered once per cached view (`url`: the page's address, the same on every call
    in a process)."""
    v = view(now, cfg)
    with _lock:
        if _rendered.get("view") is not v or _rendered.get("url") != url:
            _rendered.update(view=v, url=url, html=html(v, url))
        return _rendered["html"]


def _window(now: datetime, cfg: Config) -> tuple[date, datetime, list[str]]:
    """Return today (local), the start of the 90 days and the closed days among them (ISO dates)."""
    today = now.astimezone(cfg.team.zone).date()
    first = datetime.combine(today - timedelta(days=rules.HISTORY_DAYS - 1), datetime.min.time(), tzinfo=cfg.team.zone)
    return today, first, [(today - timedelta(days=back)).isoformat() for back in range(rules.HISTORY_DAYS - 1, 0, -1)]


def public_since(since: datetime, cfg: Config) -> list[Incident]:
    """Return the public incidents that overlap [since, now] as far as the page needs them: opened since, still
    open, or an outage that ended since (only outages count towards a day's uptime). The daily report reads its
    uptime from these too, so its figure for a day is the page's."""
    read = {i.id: i for i in store.incidents_created_since(since, MAX_INCIDENTS)}
    read.update({i.id: i for i in days_store.outages_resolved_since(since, uptime.OUTAGE_SOURCES, MAX_INCIDENTS)})
    read.update({i.id: i for i in store.list_incidents(list(rules.ACTIVE), MAX_ACTIVE)})
    return [i for i in read.values() if rules.is_public(i, cfg)]


def record_days(now: datetime, cfg: Config, again: tuple[str, ...] = ()) -> int:
    """Record the public uptime of the closed days of the last 90 that are not recorded yet, and of those in
    `again` (ISO dates; a day the daily report recomputes, so page and report keep showing one figure); the daily
    summary calls this each morning. Return how many were recorded."""
    today, first, closed = _window(now, cfg)
    known = {d: v for d, v in days_store.read(closed).items() if d not in again}
    missing = [d for d in closed if d not in known]
    if not missing:
        return 0
    incidents = public_since(datetime.combine(date.fromisoformat(missing[0]), datetime.min.time(),
                                               tzinfo=cfg.team.zone), cfg)
    history = [o for w in cfg.maintenance for o in silence.occurrences(w, first, now, cfg)]
    bars = {s.name: {d["date"]: d for d in rules.daily_uptime(s.name, incidents, history, today, now, cfg, known)}
            for s in cfg.services}
    days_store.record({d: {name: {k: bars[name][d][k] for k in ("percent", "downtime_minutes")} for name in bars}
                       for d in missing})
    return len(missing)


def compute(now: datetime, cfg: Config) -> dict:
    """Derive everything the page shows from the recorded closed days and the incidents that overlap the days not
    recorded yet (at least the last RECENT_DAYS, which the page lists): a few reads, however long the history."""
    today, first, closed = _window(now, cfg)
    known = days_store.read(closed)
    missing = [date.fromisoformat(d) for d in closed if d not in known] + [today]
    since = min(datetime.combine(missing[0], datetime.min.time(), tzinfo=cfg.team.zone),
                now - timedelta(days=rules.RECENT_DAYS))
    incidents = public_since(since, cfg)
    in_force = silence.active_windows(cfg.maintenance, now, cfg)
    history = [o for w in cfg.maintenance for o in silence.occurrences(w, first, now, cfg)]
    listed = rules.listed(incidents, now, cfg, history)
    human = updates_store.of_incidents([i.id for i in listed if rules.written(i)], MAX_UPDATES)
    ahead = [o for w in cfg.maintenance for o in silence.occurrences(
        w, now - timedelta(days=rules.RECENT_DAYS), now + timedelta(days=rules.UPCOMING_DAYS), cfg)]
    components = []
    for position, service in enumerate(cfg.services, start=1):
        status = rules.component_status(service.name, incidents, in_force, cfg)
        days = rules.daily_uptime(service.name, incidents, history, today, now, cfg, known)
        # what changed its state: the incidents it shows and the maintenance that began or ended
        changed = [rules.last_activity(i) for i in incidents if i.service == service.name
                   and rules.shown(i, cfg, history, now)]
        changed += [t for a, b in rules.planned(service.name, history) for t in (a, b) if t <= now]
        components.append({
            "id": rules.public_id("component", service.name), "name": service.name, "status": status,
            "label": rules.COMPONENT_LABEL[status], "description": service.description or None,
            "position": position, "created_at": first, "updated_at": max(changed, default=first), "days": days,
            "percent": round(sum(d["percent"] for d in days) / len(days), 2)})
    impact = rules.indicator([c["status"] for c in components])
    maintenance = impact == "none" and any(c["status"] == "under_maintenance" for c in components)
    return {"page_id": rules.public_id("page", cfg.team.name), "name": cfg.team.name,
            "time_zone": cfg.team.time_zone, "updated_at": now, "indicator": impact,
            "description": rules.MAINTENANCE_TEXT if maintenance else rules.INDICATOR_TEXT[impact],
            "components": components, "incidents": [rules.public_incident(i, cfg, human.get(i.id, []))
                                                     for i in listed],
            "maintenances": rules.maintenances(ahead, [s.name for s in cfg.services], now)}


# ------------------------------------------------------------- Statuspage v2 JSON

def _page(v: dict, url: str) -> dict:
    return {"id": v["page_id"], "name": v["name"], "url": url, "time_zone": v["time_zone"],
            "updated_at": v["updated_at"]}


def _component(c: dict, page_id: str) -> dict:
    return {"id": c["id"], "name": c["name"], "status": c["status"], "created_at": c["created_at"],
            "updated_at": c["updated_at"], "position": c["position"], "description": c["description"],
            "showcase": True, "start_date": c["created_at"].date().isoformat(), "group_id": None,
            "page_id": page_id, "group": False, "only_show_if_degraded": False}


def _with_uptime(c: dict, page_id: str) -> dict:
    """A component as the page lists it, with the uptime the page shows beside its bars (fields Statuspage's v2
    JSON does not have: its own readers ignore them): the HISTORY_DAYS figure and each local day's, oldest first,
    as the daily report gives them (status_page.service_uptime)."""
    return {**_component(c, page_id), "uptime_percent": c["percent"], "uptime_days": c["days"]}


def _incident(i: dict, v: dict, url: str) -> dict:
    component = next((c for c in v["components"] if c["name"] == i["service"]), None)
    components = [_component(component, v["page_id"])] if component else []
    return {"id": i["id"], "name": i["name"], "status": i["status"], "impact": i["impact"],
            "created_at": i["created_at"], "updated_at": i["updated_at"], "monitoring_at": i["monitoring_at"],
            "resolved_at": i["resolved_at"], "shortlink": f"{url}#incident-{i['id']}", "started_at": i["started_at"],
            "page_id": v["page_id"], "incident_updates": _updates(i), "components": components}


def _updates(i: dict) -> list[dict]:
    return [{"id": u["id"], "status": u["status"], "body": u["body"], "incident_id": i["id"], "created_at": u["at"],
             "updated_at": u["at"], "display_at": u["at"], "affected_components": None,
             "deliver_notifications": False, "custom_tweet": None, "tweet_id": None} for u in i["updates"]]


def _maintenance(m: dict, v: dict, url: str) -> dict:
    components = [_component(c, v["page_id"]) for c in v["components"] if c["name"] in m["services"]]
    return {"id": m["id"], "name": m["name"], "status": m["status"], "impact": "maintenance",
            "created_at": m["created_at"], "updated_at": m["updated_at"], "monitoring_at": None,
            "resolved_at": m["resolved_at"], "shortlink": f"{url}#maintenance-{m['id']}",
            "started_at": m["scheduled_for"], "page_id": v["page_id"], "scheduled_for": m["scheduled_for"],
            "scheduled_until": m["scheduled_until"], "incident_updates": _updates(m),
            "components": components}


def document(name: str, v: dict, url: str) -> dict | None:
    """Return the Statuspage v2 document called `name` (summary, status, ...), or None when there is none."""
    page = _page(v, url)
    status = {"indicator": v["indicator"], "description": v["description"]}
    components = [_with_uptime(c, v["page_id"]) for c in v["components"]]
    incidents = [_incident(i, v, url) for i in v["incidents"]]
    unresolved = [i for i in incidents if i["status"] != "resolved"]
    maintenances = [_maintenance(m, v, url) for m in v["maintenances"]]
    active = [m for m in maintenances if m["status"] == "in_progress"]
    upcoming = [m for m in maintenances if m["status"] == "scheduled"]
    documents = {
        "summary": lambda: {"page": page, "status": status, "components": components, "incidents": unresolved,
                            "scheduled_maintenances": active + upcoming},
        "status": lambda: {"page": page, "status": status},
        "components": lambda: {"page": page, "components": components},
        "incidents": lambda: {"page": page, "incidents": incidents},  # rules.listed: at most rules.LISTED
        "incidents/unresolved": lambda: {"page": page, "incidents": unresolved},
        "scheduled-maintenances": lambda: {"page": page, "scheduled_maintenances": maintenances[::-1][:rules.LISTED]},
        "scheduled-maintenances/upcoming": lambda: {"page": page, "scheduled_maintenances": upcoming},
        "scheduled-maintenances/active": lambda: {"page": page, "scheduled_maintenances": active},
    }
    make = documents.get(name)
    return make() if make else None


def json_text(document: dict) -> str:
    """Return a document as JSON with <, > and & escaped (\\u003c ...): the same data to any JSON reader, inert if
    a browser or a page that embeds it ever reads it as HTML."""
    text = json.dumps(document, default=lambda v: iso(v) if isinstance(v, datetime) else str(v), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def html(v: dict, url: str) -> str:
    """Return the page as HTML (autoescaped: every value is escaped, though none is internal)."""
    return _env.get_template("page.html.j2").render(view=v, url=url)
