"""Deleting a smoke test's incident and everything stored for it (shared/incidents/smoke.py decides when).

Deleted: incidents/{id}, its timeline_archive, its notifications (outbox/{id}:*) and what the local preview
page shows of them (previews), and incident_keys/{key} while that key still names this incident (a smoke
test's dedup key is its own, used once).
"""
from __future__ import annotations

from shared.lazy import firestore
from shared.store.client import call, client, snapshots
from shared.store.incidents import INCIDENTS, KEYS, doc_ref
from shared.store.outbox import OUTBOX, PREVIEWS
from shared.store.timeline import ARCHIVE


def remove_incident(incident_id: str, key_doc: str, notification_ids: list[str]) -> None:
    """Delete the incident, its archived timeline, its notifications and its dedup key's pointer to it."""
    db = client()
    incident = doc_ref(INCIDENTS, incident_id)
    batch = db.batch()
    for archived in list(call(incident.collection(ARCHIVE).list_documents)):
        batch.delete(archived)
    for rid in notification_ids:
        batch.delete(db.collection(OUTBOX).document(rid))
    shown = db.collection(PREVIEWS).where(filter=firestore.FieldFilter("incident_id", "==", incident_id))
    for preview in snapshots(shown.select([])):   # equality on one field: no composite index
        batch.delete(preview.reference)
    key = call(doc_ref(KEYS, key_doc).get)
    if key.exists and (key.to_dict() or {}).get("incident_id") == incident_id:
        batch.delete(key.reference, option=db.write_option(last_update_time=key.update_time))
    batch.delete(incident)
    call(batch.commit)
