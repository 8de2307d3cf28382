"""The incidents API: views of stored incidents (state-changing calls come with later issues)."""
from __future__ import annotations

import hmac
from datetime import datetime, timedelta, timezone

from shared import actions, oncall, store
from shared.config import config, settings
from shared.model import Severity, Status
from shared.rules import ids
from shared.sources.common import BadInput, Unauthorized
from shared.store import changes
from shared.store import oncall as store_oncall
from shared.web import HTTPError, iso

MAX_LIMIT = 500
STATUS_GROUPS = {"active": [Status.OPEN.value, Status.ACKNOWLEDGED.value]}


def authenticate(authorization: str) -> None:
    """Accept only `Authorization: Bearer API_TOKEN`, compared in constant time."""
    expected = settings().api_token
    if not expected:
        raise Unauthorized("API_TOKEN is not configured on the server")
    if not authorization.lower().startswith("bearer "):
        raise Unauthorized("missing Authorization: Bearer <API_TOKEN>")
    if not hmac.compare_digest(authorization[7:].strip().encode(), expected.reveal().encode()):
        raise Unauthorized("wrong API token")


def incident_view(doc: dict) -> dict:
    """Return the public JSON shape of a stored incident."""
    severity = Severity(doc["severity_rank"])
    return {
        "id": doc["id"],
        "title": doc["title"],
        "status": doc["status"],
        "severity": severity.label,
        "severity_reason": doc.get("severity_reasons", {}).get(severity.label, ""),
        "service": doc["service"],
        "environment": doc["environment"],
        "source": doc["source"],
        "dedup_key": doc["dedup_key"],
        "links": doc.get("links", {}),
        "location": doc.get("location", ""),
        "occurrences": doc["occurrences"],
        "users_affected": doc.get("users_affected", 0),
        "latest_message": doc.get("latest_message", ""),
        "created_at": iso(doc["created_at"]),
        "first_seen": iso(doc.get("first_seen")),
        "last_seen": iso(doc.get("last_seen")),
        "acknowledged_at": iso(doc.get("acknowledged_at")),
        "resolved_at": iso(doc.get("resolved_at")),
        "assignee": doc.get("assignee"),
        "previous_incident": doc.get("previous_incident"),
        "downtime_seconds": doc.get("downtime_seconds"),
        "owner": doc.get("owner"),
        "severity_pinned": bool(doc.get("pinned_rank")),
        "respond_by": iso(doc.get("respond_by")),
        "resolve_by": iso(doc.get("resolve_by")),
        "escalation_level": doc.get("escalation_level", 1),
        "time_to_acknowledge_seconds": doc.get("tta_seconds"),
        "time_to_resolve_seconds": doc.get("ttr_seconds"),
        "sla_response_met": doc.get("sla_response_met"),
        "sla_resolution_met": doc.get("sla_resolution_met"),
        "timeline": [{"at": iso(e["at"]), "actor": e["actor"], "action": e["action"], "detail": e.get("detail", "")}
                     for e in doc.get("timeline", [])],  # in the order the changes were stored
    }


def list_incidents(status: str | None, limit: str | None) -> dict:
    """GET /api/incidents?status=open[,acknowledged|active]&limit=N."""
    statuses: list[str] = []
    for name in filter(None, (s.strip().lower() for s in (status or "").split(","))):
        if name in STATUS_GROUPS:
            statuses += STATUS_GROUPS[name]
        elif name in {s.value for s in Status}:
            statuses.append(name)
        else:
            raise BadInput(f"unknown status {name!r}; use open, acknowledged, resolved, ignored or active")
    try:
        count = int(limit) if limit else 100
    except ValueError:
        raise BadInput(f"limit must be a whole number, got {limit!r}") from None
    if not 1 <= count <= MAX_LIMIT:
        raise BadInput(f"limit must be between 1 and {MAX_LIMIT}")
    docs = store.list_incidents(sorted(set(statuses)) or None, count)
    return {"incidents": [incident_view(d) for d in docs], "count": len(docs)}


def get_incident(typed_id: str) -> dict:
    """GET /api/incidents/<id>; the id is case-insensitive."""
    incident_id = ids.normalize(typed_id)
    doc = store.get_incident(incident_id) if ids.is_valid(incident_id) else None
    if doc is None:
        raise HTTPError(404, f"no incident {typed_id!r}")
    return incident_view(doc)


# ---------------------------------------------------------------- state changes and on-call

ACTIONS = ("ack", "resolve", "severity", "note")


def _incident_id(typed: str) -> str:
    incident_id = ids.normalize(typed)
    if not ids.is_valid(incident_id):
        raise HTTPError(404, f"no incident {typed!r}")
    return incident_id


def _time(value: object, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{name}: expected an ISO-8601 time, got {str(value)[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=config().team.zone)  # a wall-clock time is the team's
    return parsed.astimezone(timezone.utc)


def act(typed_id: str, action: str, body: dict, now: datetime) -> tuple[dict, list[str]]:
    """POST /api/incidents/<id>/<ack|resolve|severity|note>; return the incident and the notifications due."""
    cfg, incident_id = config(), _incident_id(typed_id)
    try:
        if action == "ack":
            actions.acknowledge(incident_id, body.get("actor"), now, cfg)
            due: list[str] = []
        elif action == "resolve":
            due = actions.resolve(incident_id, body.get("actor"), now, cfg, str(body.get("detail") or ""))
        elif action == "severity":
            due = actions.set_severity(incident_id, body.get("severity"), body.get("actor"), now, cfg,
                                       str(body.get("reason") or ""))
        elif action == "note":
            actions.note(incident_id, body.get("actor"), body.get("text"), now, cfg)
            due = []
        else:
            raise HTTPError(404, f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    except changes.NotFound:
        raise HTTPError(404, f"no incident {typed_id!r}") from None
    except changes.Closed:
        raise HTTPError(409, f"{incident_id} is resolved") from None
    except changes.Pinned:
        raise HTTPError(409, f"the team lead pinned the severity of {incident_id}; only the team lead can change it") \
            from None
    except actions.Forbidden as e:
        raise HTTPError(403, str(e)) from None
    return get_incident(incident_id), due


def _person_view(pid: str) -> dict:
    person = config().person(pid)
    return {"id": person.id, "name": person.name, "email": person.email, "discord_id": person.discord_id}


def who_is_on_call(at: str | None, now: datetime) -> dict:
    """GET /api/oncall?at=<iso>: primary, backup, the override in force, next handover."""
    when = _time(at, "at") if at else now
    current = oncall.at(when, config())
    return {"at": iso(when), "primary": _person_view(current.primary),
            "rotation_primary": _person_view(current.rotation_primary), "backup": _person_view(current.backup),
            "override": _override_view(current.override) if current.override else None,
            "next_handover": iso(current.next_handover)}


def _override_view(o: dict) -> dict:
    return {"id": o["id"], "covering": o["covering"], "for": o.get("for"), "start": iso(o["start"]),
            "end": iso(o["end"]), "created_by": o.get("created_by"), "note": o.get("note", "")}


def add_override(body: dict, now: datetime) -> dict:
    """POST /api/oncall/overrides {"covering", "for"?, "start", "end", "actor", "note"?}."""
    cfg = config()
    covering = actions.person(body.get("covering"), cfg)
    for_whom = actions.person(body.get("for"), cfg) if body.get("for") else None
    start, end = _time(body.get("start") or now.isoformat(), "start"), _time(body.get("end"), "end")
    if end <= start:
        raise BadInput("end must be after start")
    created_by = actions.person(body.get("actor") or covering, cfg)
    override = store_oncall.add_override({"covering": covering, "for": for_whom, "start": start, "end": end,
                                          "created_by": created_by, "created_at": now,
                                          "note": str(body.get("note") or "")[:500]})
    oncall.forget()
    return _override_view(override)


def delete_override(override_id: str) -> None:
    if not store_oncall.delete_override(override_id):
        raise HTTPError(404, f"no override {override_id!r}")
    oncall.forget()


def handoff_now(now: datetime) -> dict:
    """GET /api/handoff: the handoff as it would be posted now."""
    from shared import handoff
    composed = handoff.compose(now, config())
    return {**composed, "text": handoff.text(composed, config())[0]}


def add_handoff_note(body: dict, now: datetime) -> dict:
    """POST /api/handoff/notes {"actor", "text"}: a thing to watch for the next handoff."""
    actor = actions.person(body.get("actor"), config())
    text = str(body.get("text") or "").strip()
    if not text:
        raise BadInput("text is missing")
    note = store_oncall.add_handoff_note({"actor": actor, "text": text[:500], "at": now})
    return {"id": note["id"], "actor": actor, "text": note["text"], "at": iso(now)}


def metrics(start: str | None, end: str | None, now: datetime) -> dict:
    """GET /api/metrics?from=&to=: time to acknowledge / resolve and SLA kept, per severity."""
    from shared.rules import metrics as rules
    since = _time(start, "from") if start else now - timedelta(days=1)
    until = _time(end, "to") if end else now
    incidents = [i for i in store.incidents_created_since(since, 2000) if i["created_at"] < until]
    return {"from": iso(since), "to": iso(until), "by_severity": rules.summarize(incidents),
            "incidents": [{"id": i["id"], "severity": Severity(i["severity_rank"]).label, "status": i["status"],
                           "sla_response_met": i.get("sla_response_met"),
                           "sla_resolution_met": i.get("sla_resolution_met")} for i in incidents]}
