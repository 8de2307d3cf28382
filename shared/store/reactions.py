"""What the reactions sweep reads and keeps: the open incidents (one query), and per incident and chat channel the
alert's message and the reaction counts last read, in the incident's `reactions.<channel>` field, so a minute with
nothing new reads nothing more and writes nothing."""
from __future__ import annotations

from shared.lazy import firestore
from shared.model import Incident, Status
from shared.store.client import call, client, docs, get_all
from shared.store.incidents import INCIDENTS, doc_ref
from shared.store.outbox import OUTBOX

FIELD = "reactions"


def open_incidents(limit: int, unacknowledged_only: bool = False) -> list[Incident]:
    """Return the open incidents (acknowledged or not; with `unacknowledged_only`, those nobody has acknowledged),
    without their live counters (equality on one field)."""
    field, value = ("status", Status.OPEN.value) if unacknowledged_only else ("active", True)
    query = client().collection(INCIDENTS).where(filter=firestore.FieldFilter(field, "==", value)).limit(limit)
    return [Incident.from_doc(d) for d in docs(query)]


def opened_records(record_ids: list[str]) -> dict[str, dict]:
    """Return the given outbox records that exist, by id (one batch read)."""
    refs = [client().collection(OUTBOX).document(rid) for rid in record_ids]
    return {s.id: s.to_dict() for s in get_all(refs) if s.exists}


def save(incident_id: str, channel: str, state: dict) -> None:
    """Keep what was read of an incident's alert on a channel (its ref, the counts, who was seen)."""
    call(doc_ref(INCIDENTS, incident_id).update, {f"{FIELD}.{channel}": state})
