"""The alert path: dedup keys, opening an incident, counting its occurrences, raising its severity, closing it.

The documents are listed in store/incidents.py.

Contention: no transaction on a document that alerts hit concurrently. A duplicate alert is ONE batched
commit with no read: an update of live/{key} with Increment and Maximum transforms (whose results come
back in the commit, so the caller learns the exact count) plus the delivery's claim. When the incident
is not active, live/{key} does not exist, the update fails with NotFound and the whole batch, claim
included, changes nothing; the caller then takes the slow path. Opening an incident is a batched create
(the loser of a race retries as a duplicate). Closing an incident (resolve, ignore) is the one transaction:
it locks live/{key} and its shards, so the occurrences counted by concurrent blind updates are all in the
counters it copies, and any that come after fail with NotFound and open the next incident. People's other
changes (acknowledge, workflow steps, severity) are preconditioned writes on the incident (store/changes.py).

Hot keys: Firestore sustains about one write per second per document, so a storm on one problem must not
write live/{key} at the alert rate. When a process sees live/{key} take more than 2 writes in a second
(the counts its own commits return are global, so other instances' writes show; writes in flight count
too), it shards the key: one read and one commit create as many counter shards as the measured rate needs
for 0.8 writes a second on each (a power of two from 8 to 128, shared/rules/hot.py) and mark
live/{key}.shards, on the precondition that live/{key} is unchanged since read. From then on each
duplicate is ONE commit with no read on the next shard, round robin (update + Increment/Maximum, plus the
claim). A storm that grows past its shards (this process's own writes, or a shard's count rising faster
than its part of the rate, which shows other instances' writes) gets more the same way: one read, one
commit adding the missing shards. A shard exists only while the incident is active: close reads all
shards in its transaction (shard writes wait, then fail with NotFound and open the next incident, as on
live/{key}) and deletes them. Counts stay exact: reads add the shards to live/{key} (up to 16 shards read
as documents, beyond that a sum aggregation and two one-document queries); close copies the exact
totals. Milestones and severity rises on a hot key are decided on a count the key has certainly reached
(the sum of the largest value each document returned to this process; the minute sweep catches up from
the exact count, shared/hot_sweep.py), announced once by the outbox record's id and the per-rank claim.

Cost per alert (Firestore documents): a cold duplicate 0 reads, 1 write (+1 for the claim when the source
gives a delivery id); a hot duplicate the same, on a shard; sharding a key 1 read and 1 + S writes for S
shards (9 at 5 alerts/s, 129 at 100/s), and growing them 1 read and 1 write per shard added; closing a
sharded incident S more reads and deletes; reading a sharded incident S more reads in one batch read up to
16 shards, 3 more beyond; a severity rise on a hot key 1 read more than on a cold one.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.config.frozen import frozen
from shared.lazy import firestore, gexc
from shared.store import shards as hot
from shared.store.client import (
    AlreadyClaimed,
    Conflict,
    add_claim,
    call,
    client,
    commit,
    counted,
    get_all,
    is_claimed,
    run_transaction,
)
from shared.store.incidents import INCIDENTS, KEYS, LIVE, LIVE_FIELDS, doc_ref
from shared.store.outbox import add_records
from shared.store.timeline import append

# ---------------------------------------------------------------- dedup keys

@frozen
class KeyState:
    """A dedup key's current incident and, while it is active, its live counters."""

    incident_id: str
    status: str
    generation: int
    key_update_time: Any
    live: dict | None          # live/{key} while the incident is active


def get_key(key_doc: str) -> KeyState | None:
    """Return the state of a dedup key, or None when it never had an incident."""
    refs = [doc_ref(KEYS, key_doc), doc_ref(LIVE, key_doc)]
    snaps = {s.reference.parent.id: s for s in get_all(refs)}
    key, live = snaps[KEYS], snaps[LIVE]
    if not key.exists:
        return None
    d = key.to_dict()
    return KeyState(d["incident_id"], d["status"], int(d["generation"]), key.update_time,
                    live.to_dict() if live.exists else None)


def live_counters(key_doc: str) -> dict | None:
    """Return live/{key} (the active incident's counters and severity), or None when the key is not active."""
    snap = call(doc_ref(LIVE, key_doc).get)
    return snap.to_dict() if snap.exists else None


def open_incident(incident: dict, live: dict, key_doc: str, previous: KeyState | None, claims: list[str],
                  now: datetime, outbox: list[dict] = ()) -> None:
    """Create an incident, its live counters, its notifications and point its dedup key at it, atomically."""
    db = client()
    batch = db.batch()
    add_records(batch, outbox)
    batch.create(doc_ref(INCIDENTS, incident["id"]), incident)
    batch.create(doc_ref(LIVE, key_doc), live)
    key_fields = {"incident_id": incident["id"], "status": incident["status"], "generation": incident["generation"],
                  "dedup_key": incident["dedup_key"]}
    if previous is None:
        batch.create(doc_ref(KEYS, key_doc), key_fields)
    else:
        batch.update(doc_ref(KEYS, key_doc), key_fields,
                     option=db.write_option(last_update_time=previous.key_update_time))
    for claim in claims:
        add_claim(batch, claim, now)
    commit(batch, claims[0] if claims else None)


# ---------------------------------------------------------------- occurrences

@frozen
class Occurrence:
    """The live counters right after one more occurrence was counted (exact under concurrency)."""

    generation: int
    id_length: int
    occurrences: int
    opened_epoch: float
    severity_rank: int
    users: int
    pinned_rank: int = 0      # the team lead's pin (0: none); automatic rises leave a pinned incident alone
    muted: bool = False       # ignored at its source (Sentry's archive): counted, but no rise and no milestone
    shards: int = 0           # the key's counters are spread over this many shards (store/shards.py); then
    # `occurrences` and `users` are live/{key}'s own, a part of the key's


def count_occurrence(key_doc: str, fields: dict, users: int | None, claim: str | None, now: datetime) -> Occurrence:
    """Count one occurrence on the active incident in one commit; NotActive when there is none."""
    # Maximum(x, 0) leaves a non-negative field as it is and returns its value: a read inside the write.
    transforms = {"occurrences": firestore.Increment(1), "users_affected": firestore.Maximum(users or 0),
                  "severity_rank": firestore.Maximum(0), "generation": firestore.Maximum(0),
                  "id_length": firestore.Maximum(0), "opened_epoch": firestore.Maximum(0),
                  "pinned_rank": firestore.Maximum(0), "shards": firestore.Maximum(0), "muted": firestore.Maximum(0)}
    values = counted(doc_ref(LIVE, key_doc), fields, transforms, claim, now)
    return Occurrence(generation=int(values["generation"]), id_length=int(values["id_length"]),
                      occurrences=int(values["occurrences"]), opened_epoch=float(values["opened_epoch"]),
                      severity_rank=int(values["severity_rank"]), users=int(values["users_affected"]),
                      pinned_rank=int(values["pinned_rank"]), muted=bool(values["muted"]), shards=int(values["shards"]))


def raise_severity(incident_id: str, key_doc: str, rank: int, label: str, reason: str, entry: dict,
                   now: datetime, outbox: list[dict] = (), due: dict | None = None) -> bool:
    """Raise the severity to `rank` once (a claim per rank) with its notifications and new SLA due times;
    False when already done."""
    batch = client().batch()
    add_records(batch, outbox)
    batch.update(doc_ref(INCIDENTS, incident_id), {
        "severity_rank": firestore.Maximum(rank), f"severity_reasons.{label}": reason, "updated_at": now,
        "timeline": firestore.ArrayUnion([entry]), **(due or {})})
    batch.update(doc_ref(LIVE, key_doc), {"severity_rank": firestore.Maximum(rank)})
    claim = f"{incident_id}:severity:{rank}"
    add_claim(batch, claim, now)
    try:
        commit(batch, claim)
    except (AlreadyClaimed, Conflict):
        return False  # done by another writer, or the incident closed meanwhile
    return True


# ---------------------------------------------------------------- status changes

def change_status(incident_id: str, key_doc: str, status: str, fields: dict, entry: dict, claim: str | None,
                  now: datetime, close: bool, outbox: list[dict] = (), live_fields: dict | None = None) -> None:
    """Move the active incident of a dedup key to a new status, in a transaction.

    A human-rate change, so a transaction is right here: it locks live/{key}, so the occurrences counted
    by concurrent blind updates are all in the counters it copies when closing, and any that come after
    fail with NotFound and open the next incident. Conflict when the key no longer points at
    `incident_id` or it is no longer active.
    """
    key_ref, live_ref, incident_ref = doc_ref(KEYS, key_doc), doc_ref(LIVE, key_doc), doc_ref(INCIDENTS, incident_id)

    def run(tx):
        snaps = {s.reference.parent.id: s for s in get_all([key_ref, live_ref, incident_ref], tx)}
        key, live, incident = snaps[KEYS], snaps[LIVE], snaps[INCIDENTS].to_dict()
        if not key.exists or key.get("incident_id") != incident_id or not live.exists:
            raise Conflict("the dedup key moved on")
        counters = live.to_dict()
        shard_refs = hot.shard_refs(key_doc, int(counters.get("shards") or 0)) if close else []
        if shard_refs:  # read in the transaction: shard writes wait for it, then find none
            shard_docs = [s.to_dict() for s in get_all(shard_refs, tx) if s.exists]
            counters = {**counters, **hot.combine(counters, shard_docs)}
        add_claim(tx, claim, now)
        add_records(tx, outbox)
        update = {**fields, "status": status, "updated_at": now, **append(incident_ref, incident, [entry], tx)}
        if close:
            for ref in shard_refs:
                tx.delete(ref)
            update.update({k: counters[k] for k in LIVE_FIELDS if k in counters})
            tx.delete(live_ref)
            update.update({"next_check_at": None, "ttr_seconds": (now - incident["created_at"]).total_seconds()})
            if incident.get("resolve_by"):
                update["sla_resolution_met"] = now <= incident["resolve_by"]
        elif live_fields:
            tx.update(live_ref, live_fields)
        tx.update(incident_ref, update)
        tx.update(key_ref, {"status": status})

    _run_claimed(run, claim)


def _run_claimed(run, claim: str | None) -> None:
    """Run a transaction that creates `claim`: AlreadyClaimed when the claim exists (a redelivery), else Conflict."""
    try:
        run_transaction(run)
    except gexc.Conflict as e:  # AlreadyExists: the claim
        if claim and is_claimed(claim):
            raise AlreadyClaimed(claim) from None
        raise Conflict(str(e)) from None


def annotate(incident_id: str, fields: dict, entry: dict, claim: str | None, now: datetime) -> None:
    """Record a change that is not a status change (e.g. assigned in the source tool)."""
    batch = client().batch()
    batch.update(doc_ref(INCIDENTS, incident_id),
                 {**fields, "updated_at": now, "timeline": firestore.ArrayUnion([entry])})
    add_claim(batch, claim, now)
    commit(batch, claim)


def reopen(incident_id: str, key_doc: str, fields: dict, live: dict, entry: dict, claim: str | None,
           now: datetime, outbox: list[dict] = ()) -> None:
    """Make a resolved incident active again, as itself: its live counters back, its dedup key pointing at it again,
    in a transaction. Conflict when it is not resolved, or its key has moved on (a newer incident of the same
    problem was opened since: that one is the live one now)."""
    key_ref, live_ref, incident_ref = doc_ref(KEYS, key_doc), doc_ref(LIVE, key_doc), doc_ref(INCIDENTS, incident_id)

    def run(tx):
        snaps = {s.reference.parent.id: s for s in get_all([key_ref, live_ref, incident_ref], tx)}
        key, current, incident = snaps[KEYS], snaps[LIVE], snaps[INCIDENTS]
        if not key.exists or key.get("incident_id") != incident_id or current.exists:
            raise Conflict("the dedup key moved on")
        if not incident.exists or incident.get("status") != "resolved":
            raise Conflict(f"{incident_id} is not resolved")
        add_claim(tx, claim, now)
        add_records(tx, outbox)
        tx.create(live_ref, live)
        tx.update(incident_ref, {**fields, "updated_at": now,
                                 **append(incident_ref, incident.to_dict(), [entry], tx)})
        tx.update(key_ref, {"status": fields["status"]})

    _run_claimed(run, claim)
