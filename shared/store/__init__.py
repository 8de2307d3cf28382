"""Firestore access: the only module that imports google.cloud.firestore.

Documents:
  incidents/{id}            the incident: what, where, severity reasons, status, timeline
  incident_keys/{key}       per dedup key, permanent: its current incident id, generation, status
  live/{key}                per dedup key, exists only while its incident is active: the live counters
  claims/{name}             exactly-once markers (Sentry Request-IDs, one-time severity rises, cron runs)
  outbox/{incident:reason:channel}  notifications to deliver (see store/outbox.py); created in the
                            same commit as the change that causes them, so none is lost

Contention rules (see DESIGN.md): no transaction on a document that alerts hit concurrently.
A duplicate alert is ONE batched commit with no read: an update of live/{key} with Increment and
Maximum transforms (whose results come back in the commit, so the caller learns the exact count)
plus the delivery's claim. When the incident is not active, live/{key} does not exist, the update
fails with NotFound and the whole batch, claim included, changes nothing; the caller then takes
the slow path. Opening an incident is a batched create (the loser of a race retries as a duplicate);
status changes (human-rate) run in a transaction.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared import lazy
from shared.config import settings

INCIDENTS = "incidents"
KEYS = "incident_keys"
LIVE = "live"
CLAIMS = "claims"
OUTBOX = "outbox"
CLAIM_TTL = timedelta(days=30)

_client = None
_lock = threading.Lock()


class Conflict(Exception):
    """Another writer changed the same state first: read again and retry."""


class AlreadyClaimed(Exception):
    """This exactly-once effect (e.g. a Sentry Request-ID) has already happened."""


class NotActive(Exception):
    """The dedup key has no active incident (live/{key} does not exist)."""


class Unavailable(Exception):
    """Firestore could not be reached or answered with a server error."""


def client():
    """Return the Firestore client, created on first use (cold starts stay light)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = _fs().Client(project=settings().project)
    return _client


def _fs():
    return lazy.load("google.cloud.firestore")


def _errors():
    return lazy.load("google.api_core.exceptions")


def _call(fn):
    errors = _errors()
    try:
        return fn()
    except (errors.ServiceUnavailable, errors.DeadlineExceeded, errors.InternalServerError,
            errors.RetryError) as e:
        raise Unavailable(str(e)) from None


def _claim(batch, claim: str | None, now: datetime) -> None:
    if claim:
        batch.create(client().collection(CLAIMS).document(claim), {"at": now, "expire_at": now + CLAIM_TTL})


def _commit(batch, claim: str | None, missing_means_inactive: bool = False):
    """Commit a batch; map a repeated claim to AlreadyClaimed and a lost race to Conflict."""
    errors = _errors()
    try:
        return _call(batch.commit)
    except errors.NotFound as e:
        if missing_means_inactive:
            raise NotActive() from None
        raise Conflict(str(e)) from None
    except (errors.Conflict, errors.FailedPrecondition) as e:
        if claim and _call(lambda: client().collection(CLAIMS).document(claim).get()).exists:
            raise AlreadyClaimed(claim) from None
        raise Conflict(str(e)) from None


# ---------------------------------------------------------------- dedup keys

@dataclass(frozen=True)
class KeyState:
    """A dedup key's current incident and, while it is active, its live counters."""

    incident_id: str
    status: str
    generation: int
    key_update_time: Any
    live: dict | None          # live/{key} while the incident is active


def get_key(key_doc: str) -> KeyState | None:
    """Return the state of a dedup key, or None when it never had an incident."""
    db = client()
    refs = [db.collection(KEYS).document(key_doc), db.collection(LIVE).document(key_doc)]
    snaps = {s.reference.parent.id: s for s in _call(lambda: list(db.get_all(refs)))}
    key, live = snaps[KEYS], snaps[LIVE]
    if not key.exists:
        return None
    d = key.to_dict()
    return KeyState(d["incident_id"], d["status"], int(d["generation"]), key.update_time,
                    live.to_dict() if live.exists else None)


def _outbox(batch, records: list[dict]) -> None:
    for record in records:
        batch.create(client().collection(OUTBOX).document(record["id"]), record)


def open_incident(incident: dict, live: dict, key_doc: str, previous: KeyState | None, claims: list[str],
                  now: datetime, outbox: list[dict] = ()) -> None:
    """Create an incident, its live counters, its notifications and point its dedup key at it, atomically."""
    db = client()
    batch = db.batch()
    _outbox(batch, list(outbox))
    batch.create(db.collection(INCIDENTS).document(incident["id"]), incident)
    batch.create(db.collection(LIVE).document(key_doc), live)
    key_fields = {"incident_id": incident["id"], "status": incident["status"], "generation": incident["generation"],
                  "dedup_key": incident["dedup_key"]}
    key_ref = db.collection(KEYS).document(key_doc)
    if previous is None:
        batch.create(key_ref, key_fields)
    else:
        batch.update(key_ref, key_fields, option=db.write_option(last_update_time=previous.key_update_time))
    for claim in claims:
        _claim(batch, claim, now)
    _commit(batch, claims[0] if claims else None)


# ---------------------------------------------------------------- occurrences

@dataclass(frozen=True)
class Occurrence:
    """The live counters right after one more occurrence was counted (exact under concurrency)."""

    generation: int
    id_length: int
    occurrences: int
    opened_epoch: float
    severity_rank: int
    users: int
    pinned_rank: int = 0      # the team lead's pin (0: none); automatic rises leave a pinned incident alone


def count_occurrence(key_doc: str, fields: dict, users: int | None, claim: str | None, now: datetime) -> Occurrence:
    """Count one occurrence on the active incident in one commit; NotActive when there is none."""
    fs, db = _fs(), client()
    # Maximum(x, 0) leaves a non-negative field as it is and returns its value: a read inside the write.
    transforms = {"occurrences": fs.Increment(1), "users_affected": fs.Maximum(users or 0),
                  "severity_rank": fs.Maximum(0), "generation": fs.Maximum(0), "id_length": fs.Maximum(0),
                  "opened_epoch": fs.Maximum(0), "pinned_rank": fs.Maximum(0)}
    batch = db.batch()
    batch.update(db.collection(LIVE).document(key_doc), {**fields, **transforms})
    _claim(batch, claim, now)
    result = _commit(batch, claim, missing_means_inactive=True)[0]
    # transform results come back in field-path order
    values = dict(zip(sorted(transforms), (_number(v) for v in result.transform_results), strict=True))
    return Occurrence(generation=int(values["generation"]), id_length=int(values["id_length"]),
                      occurrences=int(values["occurrences"]), opened_epoch=float(values["opened_epoch"]),
                      severity_rank=int(values["severity_rank"]), users=int(values["users_affected"]),
                      pinned_rank=int(values["pinned_rank"]))


def _number(value) -> float:
    return value.double_value if value._pb.WhichOneof("value_type") == "double_value" else value.integer_value


def raise_severity(incident_id: str, key_doc: str, rank: int, label: str, reason: str, entry: dict,
                   now: datetime, outbox: list[dict] = (), due: dict | None = None) -> bool:
    """Raise the severity to `rank` once (a claim per rank) with its notifications and new SLA due times;
    False when already done."""
    fs, db = _fs(), client()
    batch = db.batch()
    _outbox(batch, list(outbox))
    batch.update(db.collection(INCIDENTS).document(incident_id), {
        "severity_rank": fs.Maximum(rank), f"severity_reasons.{label}": reason, "updated_at": now,
        "timeline": fs.ArrayUnion([entry]), **(due or {})})
    batch.update(db.collection(LIVE).document(key_doc), {"severity_rank": fs.Maximum(rank)})
    claim = f"{incident_id}:severity:{rank}"
    _claim(batch, claim, now)
    try:
        _commit(batch, claim)
    except (AlreadyClaimed, Conflict):
        return False  # done by another writer, or the incident closed meanwhile
    return True


# ---------------------------------------------------------------- status changes

def change_status(incident_id: str, key_doc: str, status: str, fields: dict, entry: dict, claim: str | None,
                  now: datetime, close: bool, outbox: list[dict] = ()) -> None:
    """Move the active incident of a dedup key to a new status, in a transaction.

    A human-rate change, so a transaction is right here (DESIGN.md): it locks live/{key}, so the
    occurrences counted by concurrent blind updates are all in the counters it copies when closing,
    and any that come after fail with NotFound and open the next incident. Conflict when the key no
    longer points at `incident_id` or it is no longer active.
    """
    fs, db = _fs(), client()
    key_ref, live_ref = db.collection(KEYS).document(key_doc), db.collection(LIVE).document(key_doc)
    incident_ref = db.collection(INCIDENTS).document(incident_id)

    @fs.transactional
    def run(tx):
        snaps = {s.reference.parent.id: s for s in db.get_all([key_ref, live_ref, incident_ref], transaction=tx)}
        key, live, incident = snaps[KEYS], snaps[LIVE], snaps[INCIDENTS].to_dict()
        if not key.exists or key.get("incident_id") != incident_id or not live.exists:
            raise Conflict("the dedup key moved on")
        if claim:
            tx.create(db.collection(CLAIMS).document(claim), {"at": now, "expire_at": now + CLAIM_TTL})
        for record in outbox:
            tx.create(db.collection(OUTBOX).document(record["id"]), record)
        update = {**fields, "status": status, "updated_at": now, "timeline": fs.ArrayUnion([entry])}
        if close:
            counters = live.to_dict()
            update.update({k: counters[k] for k in LIVE_FIELDS if k in counters})
            tx.delete(live_ref)
            update.update({"next_check_at": None, "ttr_seconds": (now - incident["created_at"]).total_seconds()})
            if incident.get("resolve_by"):
                update["sla_resolution_met"] = now <= incident["resolve_by"]
        tx.update(incident_ref, update)
        tx.update(key_ref, {"status": status})

    errors = _errors()
    try:
        _call(lambda: run(db.transaction()))
    except errors.Conflict as e:  # AlreadyExists: the claim
        if claim and _call(lambda: db.collection(CLAIMS).document(claim).get()).exists:
            raise AlreadyClaimed(claim) from None
        raise Conflict(str(e)) from None
    except errors.Aborted as e:
        raise Conflict(str(e)) from None


def annotate(incident_id: str, fields: dict, entry: dict, claim: str | None, now: datetime) -> None:
    """Record a change that is not a status change (e.g. assigned in the source tool)."""
    fs, db = _fs(), client()
    batch = db.batch()
    batch.update(db.collection(INCIDENTS).document(incident_id),
                 {**fields, "updated_at": now, "timeline": fs.ArrayUnion([entry])})
    _claim(batch, claim, now)
    _commit(batch, claim)


# ---------------------------------------------------------------- reads for the API

# Counters that live in live/{key} while the incident is active and are copied into it when it closes.
LIVE_FIELDS = ("occurrences", "users_affected", "severity_rank", "last_seen", "latest_message")


def effective(incident: dict) -> dict:
    """Return the incident with severity_rank the effective one: a pin wins over the automatic severity."""
    incident = {**incident, "auto_severity_rank": incident["severity_rank"]}
    if incident.get("pinned_rank"):
        incident["severity_rank"] = incident["pinned_rank"]
    return incident


def _merge(incident: dict, live: dict | None) -> dict:
    """Overlay the live counters; make severity_rank the effective one."""
    if live is not None and live.get("incident_id") == incident["id"]:
        incident = {**incident, **{k: live[k] for k in LIVE_FIELDS if k in live}}
    return effective(incident)
def get_incident(incident_id: str) -> dict | None:
    """Return one incident with its live counters, or None."""
    db = client()
    snap = _call(lambda: db.collection(INCIDENTS).document(incident_id).get())
    if not snap.exists:
        return None
    incident = snap.to_dict()
    live = _call(lambda: db.collection(LIVE).document(incident["key_doc"]).get()) if incident.get("active") else None
    return _merge(incident, live.to_dict() if live and live.exists else None)


def list_incidents(statuses: list[str] | None, limit: int) -> list[dict]:
    """Return incidents, newest first, optionally only those in `statuses` (indexed query)."""
    fs, db = _fs(), client()
    query = db.collection(INCIDENTS)
    if statuses:
        query = query.where(filter=fs.FieldFilter("status", "in", statuses))
    query = query.order_by("created_at", direction=fs.Query.DESCENDING).limit(limit)
    incidents = _call(lambda: [s.to_dict() for s in query.stream()])
    refs = [db.collection(LIVE).document(i["key_doc"]) for i in incidents if i.get("active")]
    live = {s.id: s.to_dict() for s in _call(lambda: list(db.get_all(refs))) if s.exists} if refs else {}
    return [_merge(i, live.get(i["key_doc"])) for i in incidents]


def add_timeline(incident_id: str, entry: dict) -> None:
    """Append one entry to an incident's timeline (e.g. a notification sent or failed)."""
    fs = _fs()
    _call(lambda: client().collection(INCIDENTS).document(incident_id).update({"timeline": fs.ArrayUnion([entry])}))


def claim_once(name: str, now: datetime) -> bool:
    """Create claims/{name}; False when it already exists (the work was done, or is being done)."""
    try:
        _call(lambda: client().collection(CLAIMS).document(name).create({"at": now, "expire_at": now + CLAIM_TTL}))
    except _errors().Conflict:
        return False
    return True


def incidents_created_since(since: datetime, limit: int) -> list[dict]:
    """Return incidents created at or after `since`, oldest first (single-field index on created_at)."""
    fs = _fs()
    query = (client().collection(INCIDENTS).where(filter=fs.FieldFilter("created_at", ">=", since))
             .order_by("created_at").limit(limit))
    return _call(lambda: [effective(s.to_dict()) for s in query.stream()])


STATUS = "status"


def set_status(name: str, fields: dict) -> None:
    """Record how a periodic job went (status/{name}), for the health check."""
    _call(lambda: client().collection(STATUS).document(name).set(fields))


def get_status(name: str) -> dict | None:
    snap = _call(lambda: client().collection(STATUS).document(name).get())
    return snap.to_dict() if snap.exists else None
