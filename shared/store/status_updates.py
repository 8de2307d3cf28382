"""Public status updates (status_updates/{incident id}:{key}), written with their incident's summary in one commit.

The incident keeps what the status page and the reminder need without reading the updates: `status_page`
{title, status, component_status, count, updated_at} of the latest, and `status_update_due_at` while an update's
promised next one is owed (the sweep's indexed query `status_update_due_at <= now`).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared.errors import NotFound
from shared.lazy import firestore, gexc
from shared.store.client import call, client, contended, docs, snapshots
from shared.store.incidents import INCIDENTS
from shared.store.outbox import add_records

STATUS_UPDATES = "status_updates"
IN_LIMIT = 30   # values in one Firestore `in` filter


def _ref(update_id: str):
    return client().collection(STATUS_UPDATES).document(update_id)


def get(update_id: str) -> dict | None:
    snap = call(_ref(update_id).get)
    return snap.to_dict() if snap.exists else None


def add(incident_id: str, update_id: str, make: Callable[[dict], tuple[dict, dict]], deadline: float = 10.0) -> dict:
    """Store one update of an incident: `make(incident)` returns (the update, the incident's changed fields),
    committed together, preconditioned on the incident as read (two people writing at once are numbered one
    after the other). Return the stored update; an update already stored under `update_id` is returned as it is,
    with "replayed": True."""
    db, ref = client(), client().collection(INCIDENTS).document(incident_id)

    def attempt():
        snap = call(ref.get)
        if not snap.exists:
            raise NotFound(f"no incident {incident_id}")
        existing = get(update_id)
        if existing is not None:
            return {**existing, "replayed": True}
        update, fields = make(snap.to_dict())
        batch = db.batch()
        batch.create(_ref(update_id), update)
        batch.update(ref, fields, option=db.write_option(last_update_time=snap.update_time))
        call(batch.commit)
        return update
    return contended(attempt, f"{incident_id} changed meanwhile, try again", deadline,
                     lost=(gexc.FailedPrecondition, gexc.Aborted, gexc.Conflict))


def of_incident(incident_id: str, limit: int = 200) -> list[dict]:
    """Return an incident's updates, oldest first (equality on one field: no composite index; sorted here)."""
    query = (client().collection(STATUS_UPDATES).where(filter=firestore.FieldFilter("incident_id", "==", incident_id))
             .limit(limit))
    return sorted(docs(query), key=lambda u: u["n"])


def of_incidents(incident_ids: list[str], limit: int = 1000) -> dict[str, list[dict]]:
    """Return the updates of several incidents, oldest first, by incident id (one query per 30 incidents, each
    reading at most `limit` updates)."""
    out: dict[str, list[dict]] = {}
    ids = sorted(set(incident_ids))
    for start in range(0, len(ids), IN_LIMIT):
        query = client().collection(STATUS_UPDATES).where(
            filter=firestore.FieldFilter("incident_id", "in", ids[start:start + IN_LIMIT])).limit(limit)
        for update in docs(query):
            out.setdefault(update["incident_id"], []).append(update)
    return {k: sorted(v, key=lambda u: u["n"]) for k, v in out.items()}


def owed(now: datetime, limit: int) -> list[tuple[dict, object]]:
    """Return (incident, its update time) for incidents whose promised status update is due at `now`."""
    query = (client().collection(INCIDENTS).where(filter=firestore.FieldFilter("status_update_due_at", "<=", now))
             .order_by("status_update_due_at").limit(limit))
    return [(s.to_dict(), s.update_time) for s in snapshots(query)]


def settle_reminder(incident_id: str, read_at, records: list[dict]) -> bool:
    """Clear an incident's owed update with its reminder's outbox records, in one commit preconditioned on the
    incident as read (a newer update meanwhile wins); False when it changed or the reminder exists already."""
    db = client()
    batch = db.batch()
    add_records(batch, records)
    batch.update(db.collection(INCIDENTS).document(incident_id), {"status_update_due_at": firestore.DELETE_FIELD},
                 option=db.write_option(last_update_time=read_at))
    try:
        call(batch.commit)
    except (gexc.FailedPrecondition, gexc.Conflict):
        return False
    return True
