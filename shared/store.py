"""Firestore access: the only module that imports google.cloud.firestore.

Contention rules (see DESIGN.md): no transaction on a document that alerts hit concurrently.
Opening an incident is a batched create (the loser of a race gets AlreadyExists and retries as a
duplicate); duplicates are one batched update with Increment/Maximum transforms whose results
come back in the commit; status changes guard the dedup-key document with its update time;
exactly-once effects claim a deterministic document with create() in the same batch.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.config import settings

INCIDENTS = "incidents"
KEYS = "incident_keys"
CLAIMS = "claims"
CLAIM_TTL = timedelta(days=30)

_client = None
_lock = threading.Lock()


class Conflict(Exception):
    """Another writer changed the same state first: read again and retry."""


class AlreadyClaimed(Exception):
    """This exactly-once effect (e.g. a Sentry Request-ID) has already happened."""


class Unavailable(Exception):
    """Firestore could not be reached or answered with a server error."""


def client():
    """Return the Firestore client, created on first use (cold starts stay light)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                from google.cloud import firestore
                _client = firestore.Client(project=settings().project)
    return _client


def _fs():
    from google.cloud import firestore
    return firestore


def _errors():
    from google.api_core import exceptions
    return exceptions


@dataclass(frozen=True)
class KeyState:
    """Where a dedup key points: its current incident and that incident's status."""

    incident_id: str
    status: str
    generation: int
    opened_at: datetime
    update_time: Any


def get_key(key_doc: str) -> KeyState | None:
    """Return the current state of a dedup key, or None when it never had an incident."""
    snap = _call(lambda: client().collection(KEYS).document(key_doc).get())
    if not snap.exists:
        return None
    d = snap.to_dict()
    return KeyState(d["incident_id"], d["status"], int(d["generation"]), d["opened_at"], snap.update_time)


def _claim(batch, claim: str | None, now: datetime) -> None:
    if claim:
        batch.create(client().collection(CLAIMS).document(claim), {"at": now, "expire_at": now + CLAIM_TTL})


def _commit(batch, claim: str | None):
    """Commit a batch; map a lost race to Conflict and a repeated claim to AlreadyClaimed."""
    errors = _errors()
    try:
        return _call(batch.commit)
    except (errors.Conflict, errors.FailedPrecondition, errors.NotFound) as e:
        if claim and client().collection(CLAIMS).document(claim).get().exists:
            raise AlreadyClaimed(claim) from None
        raise Conflict(str(e)) from None


def _call(fn):
    errors = _errors()
    try:
        return fn()
    except (errors.ServiceUnavailable, errors.DeadlineExceeded, errors.InternalServerError,
            errors.RetryError) as e:
        raise Unavailable(str(e)) from None


def open_incident(incident: dict, key_doc: str, previous: KeyState | None, claim: str | None,
                  now: datetime) -> None:
    """Create an incident and point its dedup key at it, atomically; Conflict if someone else did."""
    db = client()
    batch = db.batch()
    batch.create(db.collection(INCIDENTS).document(incident["id"]), incident)
    key_fields = {"incident_id": incident["id"], "status": incident["status"], "generation": incident["generation"],
                  "opened_at": now, "dedup_key": incident["dedup_key"]}
    key_ref = db.collection(KEYS).document(key_doc)
    if previous is None:
        batch.create(key_ref, key_fields)
    else:
        batch.update(key_ref, key_fields, option=db.write_option(last_update_time=previous.update_time))
    _claim(batch, claim, now)
    _commit(batch, claim)


@dataclass(frozen=True)
class Counts:
    occurrences: int
    users: int
    severity_rank: int


def add_occurrence(incident_id: str, fields: dict, users: int | None, claim: str | None, now: datetime) -> Counts:
    """Count one more occurrence; return the counts after it (exact under concurrency)."""
    fs, db = _fs(), client()
    batch = db.batch()
    update = dict(fields)
    update.update({"occurrences": fs.Increment(1), "users_affected": fs.Maximum(users or 0),
                   "severity_rank": fs.Maximum(0)})  # Maximum(0) changes nothing and reads the rank back
    batch.update(db.collection(INCIDENTS).document(incident_id), update)
    _claim(batch, claim, now)
    result = _commit(batch, claim)[0]
    # transform results come back in field-path order: occurrences, severity_rank, users_affected
    values = [_int(v) for v in result.transform_results]
    return Counts(occurrences=values[0], severity_rank=values[1], users=values[2])


def _int(value) -> int:
    return int(value.integer_value or value.double_value or 0)


def raise_severity(incident_id: str, rank: int, label: str, reason: str, entry: dict, now: datetime) -> bool:
    """Raise the severity to `rank` once (a claim per rank); False when it was already done."""
    fs, db = _fs(), client()
    batch = db.batch()
    batch.update(db.collection(INCIDENTS).document(incident_id), {
        "severity_rank": fs.Maximum(rank), f"severity_reasons.{label}": reason, "updated_at": now,
        "timeline": fs.ArrayUnion([entry])})
    claim = f"{incident_id}:severity:{rank}"
    _claim(batch, claim, now)
    try:
        _commit(batch, claim)
    except AlreadyClaimed:
        return False
    return True


def change_status(incident_id: str, key_doc: str, key: KeyState, status: str, fields: dict, entry: dict,
                  claim: str | None, now: datetime) -> None:
    """Move an incident to a new status if its key has not changed since `key` was read."""
    fs, db = _fs(), client()
    batch = db.batch()
    batch.update(db.collection(INCIDENTS).document(incident_id),
                 {**fields, "status": status, "updated_at": now, "timeline": fs.ArrayUnion([entry])})
    batch.update(db.collection(KEYS).document(key_doc), {"status": status},
                 option=db.write_option(last_update_time=key.update_time))
    _claim(batch, claim, now)
    _commit(batch, claim)


def annotate(incident_id: str, fields: dict, entry: dict, claim: str | None, now: datetime) -> None:
    """Record a change that is not a status change (e.g. assigned in the source tool)."""
    fs, db = _fs(), client()
    batch = db.batch()
    batch.update(db.collection(INCIDENTS).document(incident_id),
                 {**fields, "updated_at": now, "timeline": fs.ArrayUnion([entry])})
    _claim(batch, claim, now)
    _commit(batch, claim)


def claim_exists(claim: str) -> bool:
    return _call(lambda: client().collection(CLAIMS).document(claim).get()).exists


def get_incident(incident_id: str) -> dict | None:
    """Return one incident document, or None."""
    snap = _call(lambda: client().collection(INCIDENTS).document(incident_id).get())
    return snap.to_dict() if snap.exists else None


def list_incidents(statuses: list[str] | None, limit: int) -> list[dict]:
    """Return incidents, newest first, optionally only those in `statuses` (indexed query)."""
    fs = _fs()
    query = client().collection(INCIDENTS)
    if statuses:
        query = query.where(filter=fs.FieldFilter("status", "in", statuses))
    query = query.order_by("created_at", direction=fs.Query.DESCENDING).limit(limit)
    return _call(lambda: [s.to_dict() for s in query.stream()])


def warm_up() -> None:
    """Import the client library and open the channel in the background (cold-start latency)."""
    def _warm():
        try:
            client()
        except Exception as e:  # noqa: BLE001 - a failed warm-up only means the first call pays
            from shared import log
            log.warning("firestore warm-up failed", reason=str(e)[:200])
    threading.Thread(target=_warm, name="firestore-warm-up", daemon=True).start()
