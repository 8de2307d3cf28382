"""Postmortems (postmortems/{incident id}): one per incident, created once, edited by people."""
from __future__ import annotations

from datetime import datetime

from shared.lazy import firestore, gexc
from shared.model import Incident
from shared.store.client import call, client

POSTMORTEMS = "postmortems"


def get(incident_id: str) -> dict | None:
    snap = call(client().collection(POSTMORTEMS).document(incident_id).get)
    return snap.to_dict() if snap.exists else None


def create(incident_id: str, doc: dict) -> bool:
    """Store the first draft unless one exists; False when it already did (a sweep run twice)."""
    try:
        call(lambda: client().collection(POSTMORTEMS).document(incident_id).create(doc))
    except gexc.Conflict:
        return False
    return True


def update(incident_id: str, fields: dict) -> None:
    call(lambda: client().collection(POSTMORTEMS).document(incident_id).update(fields))


def resolved_since(since: datetime, limit: int) -> list[Incident]:
    """Incidents resolved at or after `since` (single-field index on resolved_at)."""
    query = (client().collection("incidents").where(filter=firestore.FieldFilter("resolved_at", ">=", since))
             .order_by("resolved_at").limit(limit))
    return call(lambda: [Incident.from_doc(s.to_dict()) for s in query.stream()])


def unreviewed(limit: int) -> list[dict]:
    """Postmortems not reviewed yet (an equality filter on null)."""
    query = (client().collection(POSTMORTEMS).where(filter=firestore.FieldFilter("reviewed_at", "==", None))
             .limit(limit))
    return call(lambda: [s.to_dict() for s in query.stream()])


def all_postmortems(limit: int) -> list[dict]:
    """Every postmortem (a small team's: the daily report looks for overdue action items)."""
    return call(lambda: [s.to_dict() for s in client().collection(POSTMORTEMS).limit(limit).stream()])
