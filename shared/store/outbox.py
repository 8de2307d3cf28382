"""Outbox records in Firestore: one per (incident, reason, channel), claimed before each send.

outbox/{incident}:{reason}:{channel} holds what to send and its state. `due_at` exists only while there is
something to do (pending, held, or sending under a lease), so the sweep's query `due_at <= now` reads
the due set and never the history. previews/{auto} keeps what channels without credentials would have
sent, for the local preview page.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.clock import clock
from shared.lazy import firestore, gexc
from shared.model import OutboxStatus
from shared.store.client import call, client, docs

OUTBOX = "outbox"
PREVIEWS = "previews"
KEEP_FINISHED = timedelta(days=90)  # a TTL policy on expire_at deletes finished records after this
KEEP_PREVIEWS = timedelta(days=7)


def record_id(incident_id: str, reason: str, channel: str) -> str:
    return f"{incident_id}:{reason}:{channel}"


def _ref(rid: str):
    return client().collection(OUTBOX).document(rid)


def add_records(writer, records) -> None:
    """Add the creation of outbox records to a batch or transaction (the change that causes them)."""
    for record in records:
        writer.create(_ref(record["id"]), record)


def enqueue(records: list[dict]) -> list[bool]:
    """Create outbox records; True for each that is new, False for one that already existed."""
    if not records:
        return []
    batch = client().batch()
    add_records(batch, records)
    try:
        call(batch.commit)
        return [True] * len(records)
    except gexc.Conflict:
        pass
    created = []
    for record in records:  # some existed: create one by one to learn which
        try:
            call(_ref(record["id"]).create, record)
            created.append(True)
        except gexc.Conflict:
            created.append(False)
    return created


def get(rid: str) -> dict | None:
    snap = call(_ref(rid).get)
    return snap.to_dict() if snap.exists else None


def due(now: datetime, limit: int) -> list[dict]:
    """Return records with something to do at `now`, oldest first (indexed on due_at)."""
    query = (client().collection(OUTBOX).where(filter=firestore.FieldFilter("due_at", "<=", now))
             .order_by("due_at").limit(limit))
    return docs(query)


def _wall() -> datetime:
    return clock().now()


def claim(rid: str, now: datetime, lease: timedelta, include_held: bool = False) -> dict | None:
    """Take a record for sending under a lease; None when it is not due or someone else has it.

    `now` is the run's time (a scheduled run's schedule time) and decides what is due; the lease runs on
    the wall clock, since a late-delivered run and the next one can overlap in real time.
    """
    db = client()
    ref = _ref(rid)
    snap = call(ref.get)
    if not snap.exists:
        return None
    record = snap.to_dict()
    status, due_at, wall = record.get("status"), record.get("due_at"), _wall()
    if status == OutboxStatus.SENDING:
        claimable = record.get("lease_until") is not None and record["lease_until"] <= wall
    elif status == OutboxStatus.HELD:
        claimable = include_held  # a held record is taken only to release it (digest, or sent at a new severity)
    else:
        claimable = status == OutboxStatus.PENDING and due_at is not None and due_at <= now
    if not claimable:
        return None
    update = {"status": OutboxStatus.SENDING.value, "lease_until": wall + lease,
              "attempts": record.get("attempts", 0) + 1}
    try:
        call(ref.update, update, option=db.write_option(last_update_time=snap.update_time))
    except (gexc.FailedPrecondition, gexc.Conflict):
        return None
    return {**record, **update}


def finish(rid: str, status: OutboxStatus, now: datetime, **fields) -> None:
    """Record a final state (sent, failed, superseded): nothing more to do, so due_at goes."""
    call(_ref(rid).update, {**fields, "status": OutboxStatus(status).value, "finished_at": now,
                            "due_at": firestore.DELETE_FIELD, "expire_at": now + KEEP_FINISHED})


def raise_field(rid: str, field: str, value: int) -> None:
    """Raise a number on a record to at least `value` (a Maximum transform: writers in any order leave the largest)."""
    call(_ref(rid).update, {field: firestore.Maximum(value)})


def retry_at(rid: str, when: datetime, error: str, status: OutboxStatus = OutboxStatus.PENDING,
             progress: dict | None = None) -> None:
    """Put a record back for another attempt at `when` (with the steps of a multi-step send already done)."""
    update = {"status": OutboxStatus(status).value, "due_at": when, "last_error": error[:500]}
    if progress:
        update["progress"] = progress
    call(_ref(rid).update, update)


def release(rid: str) -> None:
    """Give back a record its creator claimed but did not send (plan.claim_due): due again at once, for the sweep,
    its attempt not counted."""
    call(_ref(rid).update, {"status": OutboxStatus.PENDING.value, "lease_until": firestore.DELETE_FIELD,
                            "attempts": firestore.Increment(-1)})


def create_claimed(record: dict, now: datetime, lease: timedelta) -> bool:
    """Create a record already claimed by the caller; False when it exists (someone else has it)."""
    try:
        call(_ref(record["id"]).create, {**record, "status": OutboxStatus.SENDING.value, "due_at": now,
                                         "lease_until": _wall() + lease, "attempts": 1})
    except gexc.Conflict:
        return False
    return True


def add_preview(preview: dict) -> None:
    """Keep a rendered message for the local preview page."""
    now = _wall()
    call(client().collection(PREVIEWS).add, {**preview, "at": now, "expire_at": now + KEEP_PREVIEWS})


def list_previews(limit: int = 100) -> list[dict]:
    """Return the kept previews, newest first."""
    query = client().collection(PREVIEWS).order_by("at", direction=firestore.Query.DESCENDING).limit(limit)
    return docs(query)


def list_held(limit: int = 100) -> list[dict]:
    """Return records held for business hours, the first to go out first."""
    query = client().collection(OUTBOX).where(filter=firestore.FieldFilter("status", "==", OutboxStatus.HELD.value)) \
        .limit(limit)  # equality on one field: no composite index; sorted here
    return sorted(docs(query), key=lambda r: (r["due_at"], r["id"]))


def for_incident(incident_id: str, limit: int = 100) -> list[dict]:
    """Return an incident's notifications, oldest first (equality on one field: no composite index)."""
    query = client().collection(OUTBOX).where(filter=firestore.FieldFilter("incident_id", "==", incident_id)) \
        .limit(limit)
    return sorted(docs(query), key=lambda r: (r["created_at"], r["id"]))
