"""Outbox records in Firestore: one per (incident, reason, channel), claimed before each send.

outbox/{incident}:{reason}:{channel} holds what to send and its state. `due_at` exists only while there is
something to do (pending, held, or sending under a lease), so the sweep's query `due_at <= now` reads
the due set and never the history.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.store import OUTBOX, Conflict, _call, _errors, _fs, client


def record_id(incident_id: str, reason: str, channel: str) -> str:
    return f"{incident_id}:{reason}:{channel}"


def enqueue(records: list[dict]) -> list[bool]:
    """Create outbox records; True for each that is new, False for one that already existed."""
    db, errors = client(), _errors()
    if not records:
        return []
    batch = db.batch()
    for record in records:
        batch.create(db.collection(OUTBOX).document(record["id"]), record)
    try:
        _call(batch.commit)
        return [True] * len(records)
    except errors.Conflict:
        pass
    created = []
    for record in records:  # some existed: create one by one to learn which
        try:
            _call(lambda r=record: db.collection(OUTBOX).document(r["id"]).create(r))
            created.append(True)
        except errors.Conflict:
            created.append(False)
    return created


def get(rid: str) -> dict | None:
    snap = _call(lambda: client().collection(OUTBOX).document(rid).get())
    return snap.to_dict() if snap.exists else None


def due(now: datetime, limit: int) -> list[dict]:
    """Return records with something to do at `now`, oldest first (indexed on due_at)."""
    fs = _fs()
    query = (client().collection(OUTBOX).where(filter=fs.FieldFilter("due_at", "<=", now))
             .order_by("due_at").limit(limit))
    return _call(lambda: [s.to_dict() for s in query.stream()])


def _wall() -> datetime:
    return datetime.now(timezone.utc)


def claim(rid: str, now: datetime, lease: timedelta, include_held: bool = False) -> dict | None:
    """Take a record for sending under a lease; None when it is not due or someone else has it.

    `now` is the run's time (a scheduled run's schedule time) and decides what is due; the lease runs on
    the wall clock, since a late-delivered run and the next one can overlap in real time.
    """
    db = client()
    ref = db.collection(OUTBOX).document(rid)
    snap = _call(ref.get)
    if not snap.exists:
        return None
    record = snap.to_dict()
    status, due_at, wall = record.get("status"), record.get("due_at"), _wall()
    if status == "sending":
        claimable = record.get("lease_until") is not None and record["lease_until"] <= wall
    elif status == "held":
        claimable = include_held  # a held record is taken only to release it (digest, or sent at a new severity)
    else:
        claimable = status == "pending" and due_at is not None and due_at <= now
    if not claimable:
        return None
    update = {"status": "sending", "lease_until": wall + lease, "attempts": record.get("attempts", 0) + 1}
    try:
        _call(lambda: ref.update(update, option=db.write_option(last_update_time=snap.update_time)))
    except (_errors().FailedPrecondition, _errors().Conflict):
        return None
    return {**record, **update}


KEEP_FINISHED = timedelta(days=90)  # a TTL policy on expire_at deletes finished records after this


def finish(rid: str, status: str, now: datetime, **fields) -> None:
    """Record a final state (sent, failed, superseded): nothing more to do, so due_at goes."""
    fs = _fs()
    _call(lambda: client().collection(OUTBOX).document(rid).update(
        {**fields, "status": status, "finished_at": now, "due_at": fs.DELETE_FIELD,
         "expire_at": now + KEEP_FINISHED}))


def retry_at(rid: str, when: datetime, error: str, status: str = "pending") -> None:
    """Put a record back for another attempt at `when`."""
    _call(lambda: client().collection(OUTBOX).document(rid).update(
        {"status": status, "due_at": when, "last_error": error[:500]}))


def create_claimed(record: dict, now: datetime, lease: timedelta) -> bool:
    """Create a record already claimed by the caller; False when it exists (someone else has it)."""
    try:
        _call(lambda: client().collection(OUTBOX).document(record["id"]).create(
            {**record, "status": "sending", "due_at": now, "lease_until": _wall() + lease, "attempts": 1}))
    except _errors().Conflict:
        return False
    return True


__all__ = ["Conflict", "claim", "create_claimed", "due", "enqueue", "finish", "get", "record_id", "retry_at"]


def mark(rid: str, **fields) -> None:
    """Record progress inside a multi-step send (e.g. the GitHub comment before the close)."""
    _call(lambda: client().collection(OUTBOX).document(rid).update(fields))


PREVIEWS = "previews"


def add_preview(channel: str, incident_id: str, reason: str, text: str) -> None:
    """Keep a rendered message for the local preview page."""
    from datetime import timezone
    now = datetime.now(timezone.utc)
    _call(lambda: client().collection(PREVIEWS).add({"at": now, "channel": channel, "incident_id": incident_id,
                                                    "reason": reason, "text": text[:20000],
                                                    "expire_at": now + timedelta(days=7)}))


def list_previews(limit: int = 100) -> list[dict]:
    fs = _fs()
    query = client().collection(PREVIEWS).order_by("at", direction=fs.Query.DESCENDING).limit(limit)
    return _call(lambda: [s.to_dict() for s in query.stream()])
