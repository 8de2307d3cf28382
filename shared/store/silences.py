"""Silences in Firestore, and the outbox records and incidents they hold back.

silences/{id}: matchers, start, end, created_by, created_at, comment, include_critical, expired_at (deleted
early: end is set to that moment and the silence kept for the record), announced_start and announced_end (the
Discord notices went out). Openings a silence holds are outbox records with status `silenced` and
`silence_ids`; releasing one is a single batch with its incident, preconditioned on the incident as read.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime

from shared.lazy import firestore, gexc
from shared.model import OutboxStatus
from shared.store.client import call, client, docs
from shared.store.incidents import INCIDENTS
from shared.store.outbox import KEEP_FINISHED, OUTBOX

SILENCES = "silences"
SILENCE_ID = re.compile(r"[0-9a-f]{12}")  # what add makes: uuid4().hex[:12]


def _ref(silence_id: str):
    return client().collection(SILENCES).document(silence_id)


def add(silence: dict) -> dict:
    """Store a silence and return it with its id."""
    silence = {**silence, "id": uuid.uuid4().hex[:12], "announced_start": False, "announced_end": False}
    call(_ref(silence["id"]).create, silence)
    return silence


def get(silence_id: str) -> dict | None:
    """Return one silence; None for an unknown id (anything but our ids is refused before Firestore sees it)."""
    if not isinstance(silence_id, str) or not SILENCE_ID.fullmatch(silence_id):
        return None
    snap = call(_ref(silence_id).get)
    return snap.to_dict() if snap.exists else None


def expire(silence_id: str, now: datetime, actor: str | None) -> dict | None:
    """End a silence now (kept for the record); None when there is none. One that already ended stays as it is."""
    silence = get(silence_id)
    if silence is None:
        return None
    if silence["end"] <= now:
        return silence
    update = {"end": now, "expired_at": now, "expired_by": actor}
    if silence["start"] > now:  # deleted before it began: it never was in force
        update["start"] = now
    call(_ref(silence_id).update, update)
    return {**silence, **update}


def ending_after(at: datetime) -> list[dict]:
    """Return silences in force or to come at `at` (indexed on end)."""
    query = client().collection(SILENCES).where(filter=firestore.FieldFilter("end", ">", at)).order_by("end")
    return docs(query)


def ended_by(at: datetime, limit: int = 100) -> list[dict]:
    """Return silences that ended at or before `at`, the latest first."""
    query = (client().collection(SILENCES).where(filter=firestore.FieldFilter("end", "<=", at))
             .order_by("end", direction=firestore.Query.DESCENDING).limit(limit))
    return docs(query)


def page(limit: int, after: tuple[datetime, str] | None, ends_after: datetime | None = None,
         ends_by: datetime | None = None) -> list[dict]:
    """Return up to `limit` silences, the latest end first, after the cursor `after` (end, id), optionally only those
    ending after `ends_after` (active and pending) or by `ends_by` (expired)."""
    query = client().collection(SILENCES)
    if ends_after is not None:
        query = query.where(filter=firestore.FieldFilter("end", ">", ends_after))
    if ends_by is not None:
        query = query.where(filter=firestore.FieldFilter("end", "<=", ends_by))
    query = query.order_by("end", direction=firestore.Query.DESCENDING) \
        .order_by("__name__", direction=firestore.Query.DESCENDING)
    if after:
        query = query.start_after({"end": after[0], "__name__": _ref(after[1])})
    return docs(query.limit(limit))


def unannounced() -> list[dict]:
    """Return silences whose end has not been announced yet (pending, active, or just ended)."""
    query = client().collection(SILENCES).where(filter=firestore.FieldFilter("announced_end", "==", False))
    return docs(query)


def mark(silence_id: str, fields: dict) -> None:
    call(_ref(silence_id).update, fields)


# ---------------------------------------------------------------- what silences hold back

def held_openings(now: datetime) -> list[dict]:
    """Return silenced outbox records due at `now` (equality on status: no composite index; few at a time)."""
    query = client().collection(OUTBOX).where(filter=firestore.FieldFilter("status", "==",
                                                                           OutboxStatus.SILENCED.value))
    return [r for r in docs(query) if r.get("due_at") and r["due_at"] <= now]


def records_of(silence_id: str) -> list[dict]:
    """Return the outbox records a silence held (whatever became of them)."""
    query = client().collection(OUTBOX).where(filter=firestore.FieldFilter("silence_ids", "array_contains",
                                                                           silence_id))
    return docs(query)


def release_now(silence_id: str, now: datetime) -> None:
    """Make what a silence still holds due at once (it was deleted): the next sweep releases it."""
    for record in records_of(silence_id):
        if record.get("status") == OutboxStatus.SILENCED:
            call(client().collection(OUTBOX).document(record["id"]).update, {"due_at": now})


def incident_snapshot(incident_id: str) -> tuple[dict | None, object]:
    """Return a stored incident and the token that makes a later write conditional on it being unchanged."""
    snap = call(client().collection(INCIDENTS).document(incident_id).get)
    return (snap.to_dict() if snap.exists else None), snap.update_time


def settle(incident_id: str, token, fields: dict, entries: list[dict], updates: dict[str, dict],
           creates: list[dict]) -> bool:
    """Write one incident's release (or re-hold, or supersession) in one batch; False when the incident changed
    since it was read (the next sweep tries again)."""
    db = client()
    batch = db.batch()
    for rid, update in updates.items():
        final = update.get("status") in (OutboxStatus.SUPERSEDED, OutboxStatus.SENT)
        if final:
            update = {**update, "due_at": firestore.DELETE_FIELD, "finished_at": update.get("finished_at"),
                      "expire_at": update["finished_at"] + KEEP_FINISHED}
        batch.update(db.collection(OUTBOX).document(rid), update)
    for record in creates:
        batch.create(db.collection(OUTBOX).document(record["id"]), record)
    if fields or entries:
        change = {**fields, **({"timeline": firestore.ArrayUnion(entries)} if entries else {})}
        batch.update(db.collection(INCIDENTS).document(incident_id), change,
                     option=db.write_option(last_update_time=token))
    try:
        call(batch.commit)
    except (gexc.FailedPrecondition, gexc.Conflict, gexc.Aborted, gexc.NotFound):
        return False
    return True


def array_union(values: list[str]):
    """A field value that adds `values` to a stored list (for record fields in `settle`)."""
    return firestore.ArrayUnion(values)
