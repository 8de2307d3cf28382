"""The incidents API: views of stored incidents (state-changing calls come with later issues)."""
from __future__ import annotations

import hmac

from shared import store
from shared.config import settings
from shared.model import Severity, Status
from shared.rules import ids
from shared.sources.common import BadInput, Unauthorized
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
