"""Postmortems (postmortems/{incident id}): one per incident, created once, edited by people."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared.lazy import firestore, gexc
from shared.model import Incident
from shared.store import outbox
from shared.store.client import Unchanged, call, client, docs, put_unchanged, read_then_write

POSTMORTEMS = "postmortems"


def get(incident_id: str) -> dict | None:
    snap = call(client().collection(POSTMORTEMS).document(incident_id).get)
    return snap.to_dict() if snap.exists else None


def _ref(incident_id: str):
    return client().collection(POSTMORTEMS).document(incident_id)


def create(incident_id: str, doc: dict, records: list[dict] = ()) -> bool:
    """Store the first draft and its outbox records in one commit unless it exists; False when it already did
    (a sweep run twice)."""
    batch = client().batch()
    batch.create(_ref(incident_id), doc)
    return _commit_with(batch, records)


def update(incident_id: str, fields: dict, records: list[dict] = ()) -> bool:
    """Change fields, and create the outbox records the change causes, in one commit; False (nothing changed)
    when one of the records exists already (another run made the same change)."""
    batch = client().batch()
    batch.update(_ref(incident_id), fields)
    return _commit_with(batch, records)


def _commit_with(batch, records: list[dict]) -> bool:
    """Commit the batch with the outbox records it causes; False when something it creates already exists."""
    outbox.add_records(batch, records)
    try:
        call(batch.commit)
    except gexc.Conflict:
        return False
    return True


def change(incident_id: str, write: Callable[[dict], tuple[dict, list[dict]]]) -> dict | None:
    """Apply a person's change in a transaction: `write(stored)` returns the fields to set and the outbox records
    the change causes (stored with it); return the postmortem as changed, None when there is none."""
    ref = _ref(incident_id)

    def change(snap, batch):
        if not snap.exists:
            raise Unchanged(None)
        stored = snap.to_dict()
        fields, records = write(stored)
        put_unchanged(batch, ref, snap, fields)
        outbox.add_records(batch, records)
        return {**stored, **fields}

    return read_then_write(ref, change, f"the postmortem of {incident_id} changed meanwhile, try again")


def with_overdue_items(day: str, limit: int) -> list[dict]:
    """Postmortems with an action item not done whose deadline is before `day` (single-field index on
    next_deadline, the earliest open deadline, kept on every change)."""
    query = (client().collection(POSTMORTEMS).where(filter=firestore.FieldFilter("next_deadline", "<", day))
             .order_by("next_deadline").limit(limit))
    return docs(query)


def flagged_since(since: datetime, limit: int) -> list[Incident]:
    """Incidents a person flagged (data loss, security) at or after `since` (single-field index on flagged_at)."""
    query = (client().collection("incidents").where(filter=firestore.FieldFilter("flagged_at", ">=", since))
             .order_by("flagged_at").limit(limit))
    return [Incident.from_doc(d) for d in docs(query)]


def resolved_since(since: datetime, limit: int) -> list[Incident]:
    """Incidents resolved at or after `since` (single-field index on resolved_at)."""
    query = (client().collection("incidents").where(filter=firestore.FieldFilter("resolved_at", ">=", since))
             .order_by("resolved_at").limit(limit))
    return [Incident.from_doc(d) for d in docs(query)]


def unreviewed(limit: int) -> list[dict]:
    """Postmortems not reviewed yet (an equality filter on null)."""
    query = (client().collection(POSTMORTEMS).where(filter=firestore.FieldFilter("reviewed_at", "==", None))
             .limit(limit))
    return docs(query)


def all_postmortems(limit: int) -> list[dict]:
    """Every postmortem (a small team's: the daily report looks for overdue action items)."""
    return docs(client().collection(POSTMORTEMS).limit(limit))
