"""Incidents, their dedup keys and live counters.

Documents:
  incidents/{id}        the incident: what, where, severity reasons, status, SLA clocks, timeline
  incident_keys/{key}   per dedup key, permanent: its current incident id, generation, status
  live/{key}            per dedup key, exists only while its incident is active: the live counters
  live_shards/{key}-{n} while a hot key's incident is active: its counters spread out (store/shards.py)

Contention: no transaction on a document that alerts hit concurrently. A duplicate alert is ONE batched
commit with no read: an update of live/{key} with Increment and Maximum transforms (whose results come
back in the commit, so the caller learns the exact count) plus the delivery's claim. When the incident
is not active, live/{key} does not exist, the update fails with NotFound and the whole batch, claim
included, changes nothing; the caller then takes the slow path. Opening an incident is a batched create
(the loser of a race retries as a duplicate). Human-rate changes (acknowledge, resolve, severity) are
transactions: they do not contend with the alert path.

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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.errors import Closed, NotFound, Pinned
from shared.lazy import firestore, gexc
from shared.model import Incident, Status
from shared.store import shards as hot
from shared.store.client import (
    AlreadyClaimed,
    Conflict,
    Unchanged,
    add_claim,
    call,
    client,
    commit,
    counted,
    docs,
    get_all,
    is_claimed,
    read_then_write,
    run_transaction,
)
from shared.store.outbox import OUTBOX, add_records

INCIDENTS = "incidents"
KEYS = "incident_keys"
LIVE = hot.LIVE

# Counters that live in live/{key} while the incident is active and are copied into it when it closes.
LIVE_FIELDS = ("occurrences", "users_affected", "severity_rank", "last_seen", "latest_message")


def _ref(collection: str, name: str):
    return client().collection(collection).document(name)


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
    refs = [_ref(KEYS, key_doc), _ref(LIVE, key_doc)]
    snaps = {s.reference.parent.id: s for s in get_all(refs)}
    key, live = snaps[KEYS], snaps[LIVE]
    if not key.exists:
        return None
    d = key.to_dict()
    return KeyState(d["incident_id"], d["status"], int(d["generation"]), key.update_time,
                    live.to_dict() if live.exists else None)


def live_counters(key_doc: str) -> dict | None:
    """Return live/{key} (the active incident's counters and severity), or None when the key is not active."""
    snap = call(_ref(LIVE, key_doc).get)
    return snap.to_dict() if snap.exists else None


def open_incident(incident: dict, live: dict, key_doc: str, previous: KeyState | None, claims: list[str],
                  now: datetime, outbox: list[dict] = ()) -> None:
    """Create an incident, its live counters, its notifications and point its dedup key at it, atomically."""
    db = client()
    batch = db.batch()
    add_records(batch, outbox)
    batch.create(_ref(INCIDENTS, incident["id"]), incident)
    batch.create(_ref(LIVE, key_doc), live)
    key_fields = {"incident_id": incident["id"], "status": incident["status"], "generation": incident["generation"],
                  "dedup_key": incident["dedup_key"]}
    if previous is None:
        batch.create(_ref(KEYS, key_doc), key_fields)
    else:
        batch.update(_ref(KEYS, key_doc), key_fields, option=db.write_option(last_update_time=previous.key_update_time))
    for claim in claims:
        add_claim(batch, claim, now)
    commit(batch, claims[0] if claims else None)


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
    shards: int = 0           # the key's counters are spread over this many shards (store/shards.py); then
    # `occurrences` and `users` are live/{key}'s own, a part of the key's


def count_occurrence(key_doc: str, fields: dict, users: int | None, claim: str | None, now: datetime) -> Occurrence:
    """Count one occurrence on the active incident in one commit; NotActive when there is none."""
    # Maximum(x, 0) leaves a non-negative field as it is and returns its value: a read inside the write.
    transforms = {"occurrences": firestore.Increment(1), "users_affected": firestore.Maximum(users or 0),
                  "severity_rank": firestore.Maximum(0), "generation": firestore.Maximum(0),
                  "id_length": firestore.Maximum(0), "opened_epoch": firestore.Maximum(0),
                  "pinned_rank": firestore.Maximum(0), "shards": firestore.Maximum(0)}
    values = counted(_ref(LIVE, key_doc), fields, transforms, claim, now)
    return Occurrence(generation=int(values["generation"]), id_length=int(values["id_length"]),
                      occurrences=int(values["occurrences"]), opened_epoch=float(values["opened_epoch"]),
                      severity_rank=int(values["severity_rank"]), users=int(values["users_affected"]),
                      pinned_rank=int(values["pinned_rank"]), shards=int(values["shards"]))


def raise_severity(incident_id: str, key_doc: str, rank: int, label: str, reason: str, entry: dict,
                   now: datetime, outbox: list[dict] = (), due: dict | None = None) -> bool:
    """Raise the severity to `rank` once (a claim per rank) with its notifications and new SLA due times;
    False when already done."""
    batch = client().batch()
    add_records(batch, outbox)
    batch.update(_ref(INCIDENTS, incident_id), {
        "severity_rank": firestore.Maximum(rank), f"severity_reasons.{label}": reason, "updated_at": now,
        "timeline": firestore.ArrayUnion([entry]), **(due or {})})
    batch.update(_ref(LIVE, key_doc), {"severity_rank": firestore.Maximum(rank)})
    claim = f"{incident_id}:severity:{rank}"
    add_claim(batch, claim, now)
    try:
        commit(batch, claim)
    except (AlreadyClaimed, Conflict):
        return False  # done by another writer, or the incident closed meanwhile
    return True


# ---------------------------------------------------------------- status changes

def change_status(incident_id: str, key_doc: str, status: str, fields: dict, entry: dict, claim: str | None,
                  now: datetime, close: bool, outbox: list[dict] = ()) -> None:
    """Move the active incident of a dedup key to a new status, in a transaction.

    A human-rate change, so a transaction is right here: it locks live/{key}, so the occurrences counted
    by concurrent blind updates are all in the counters it copies when closing, and any that come after
    fail with NotFound and open the next incident. Conflict when the key no longer points at
    `incident_id` or it is no longer active.
    """
    key_ref, live_ref, incident_ref = _ref(KEYS, key_doc), _ref(LIVE, key_doc), _ref(INCIDENTS, incident_id)

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
        update = {**fields, "status": status, "updated_at": now, "timeline": firestore.ArrayUnion([entry])}
        if close:
            for ref in shard_refs:
                tx.delete(ref)
            update.update({k: counters[k] for k in LIVE_FIELDS if k in counters})
            tx.delete(live_ref)
            update.update({"next_check_at": None, "ttr_seconds": (now - incident["created_at"]).total_seconds()})
            if incident.get("resolve_by"):
                update["sla_resolution_met"] = now <= incident["resolve_by"]
        tx.update(incident_ref, update)
        tx.update(key_ref, {"status": status})

    try:
        run_transaction(run)
    except gexc.Conflict as e:  # AlreadyExists: the claim
        if claim and is_claimed(claim):
            raise AlreadyClaimed(claim) from None
        raise Conflict(str(e)) from None


def annotate(incident_id: str, fields: dict, entry: dict, claim: str | None, now: datetime) -> None:
    """Record a change that is not a status change (e.g. assigned in the source tool)."""
    batch = client().batch()
    batch.update(_ref(INCIDENTS, incident_id), {**fields, "updated_at": now, "timeline": firestore.ArrayUnion([entry])})
    add_claim(batch, claim, now)
    commit(batch, claim)


def _optimistic(incident_id: str, write: Callable):
    """Apply a person's change to an open incident without locks: read it, let `write(stored, batch, unchanged)`
    add the writes (with `unchanged`, the precondition that it is as read, where the change depends on it),
    commit; when someone changed it meanwhile, read again (read_then_write). People clicking at the same moment
    never wait on each other's locks: the changes are applied one after another, none lost, none half-done."""
    def change(snap, batch):
        if not snap.exists:
            raise NotFound(f"no incident {incident_id}")
        stored = snap.to_dict()
        if stored["status"] == Status.RESOLVED.value:
            raise Closed(f"{incident_id} is resolved")
        return write(stored, batch, client().write_option(last_update_time=snap.update_time))
    return read_then_write(_ref(INCIDENTS, incident_id), change, f"{incident_id} changed meanwhile, try again")


def _add_new(batch, wanted: list[dict]) -> list[dict]:
    """Add to the batch the outbox records not already stored (an optimistic write may run again after a lost
    race, and a create of an existing record would fail the whole commit); return those added."""
    db = client()
    refs = [db.collection(OUTBOX).document(r["id"]) for r in wanted]
    existing = {s.id for s in get_all(refs) if s.exists}
    records = [r for r in wanted if r["id"] not in existing]
    add_records(batch, records)
    return records


def take_step(incident_id: str, actor: str, now: datetime, entry: dict, acknowledge: bool, phase: str | None,
              outbox_for: Callable[[Incident], list[dict]]) -> dict:
    """Take one step of the team's workflow on an open incident, with its notifications, in one commit.

    `acknowledge`: an unacknowledged incident is acknowledged by the actor first (owner, time to acknowledge,
    escalation stops). `phase`: the phase it moves to (None: the acknowledgement alone). Nothing changes, and
    {"first": False, "owner", "at", "notify": []} is returned, when the step is already where the incident is.
    """
    ref = _ref(INCIDENTS, incident_id)

    def write(stored: dict, batch, unchanged) -> dict:
        acked = stored.get("acknowledged_at") is not None
        if acked and (phase is None or stored.get("phase") == phase):
            raise Unchanged({"first": False, "owner": stored.get("owner"), "at": stored["acknowledged_at"],
                            "notify": []})
        incident = Incident.from_doc(stored)
        records = _add_new(batch, outbox_for(incident))
        update = {"timeline": firestore.ArrayUnion([entry]), "updated_at": now, "steps": incident.steps + 1}
        if phase is not None:
            update["phase"] = phase
        if not acked:
            update.update({"status": Status.ACKNOWLEDGED.value, "acknowledged_at": now, "owner": actor,
                           "tta_seconds": (now - stored["created_at"]).total_seconds(),
                           "sla_response_met": now <= stored["respond_by"] if stored.get("respond_by") else None})
            batch.update(_ref(KEYS, stored["key_doc"]), {"status": Status.ACKNOWLEDGED.value})
        batch.update(ref, update, option=unchanged)
        return {"first": not acked, "owner": actor if not acked else stored.get("owner"),
                "at": now if not acked else stored["acknowledged_at"],
                "notify": [r["id"] for r in records if r["status"] == "pending"]}

    return _optimistic(incident_id, write)


def set_severity(incident_id: str, rank: int, label: str, pin: bool, lead: bool, reason: str, entry: dict,
                 now: datetime, fields_for: Callable[[Incident], dict],
                 outbox_for: Callable[[Incident], list[dict]]) -> dict:
    """Change the severity by hand: a pin by the team lead, or a change by the on-call unless pinned."""
    def write(stored: dict, batch, unchanged) -> dict:
        if stored.get("pinned_rank") and not lead:
            raise Pinned(f"the team lead pinned the severity of {incident_id}; only the team lead can change it")
        incident = Incident.from_doc(stored)
        records = _add_new(batch, outbox_for(incident))
        update = {f"severity_reasons.{label}": reason, "timeline": firestore.ArrayUnion([entry]), "updated_at": now,
                  **fields_for(incident)}
        update.update({"pinned_rank": rank, "pinned_by": entry["actor"]} if pin else {"severity_rank": rank})
        batch.update(_ref(INCIDENTS, incident_id), update, option=unchanged)
        if stored.get("active"):
            batch.update(_ref(LIVE, incident.key_doc), {"pinned_rank": rank} if pin else {"severity_rank": rank})
        return {"notify": [r["id"] for r in records if r["status"] == "pending"]}

    return _optimistic(incident_id, write)


def record_escalation(incident_id: str, steps: list[str], level: int, next_check_at: datetime | None,
                      records: list[dict], entries: list[dict], now: datetime) -> bool:
    """Take escalation steps once: their claims, notifications and the next check in one batch.

    False when another sweep took them first (its batch holds the same claims), which changes nothing.
    """
    batch = client().batch()
    for step in steps:
        add_claim(batch, f"{incident_id}:escalation:{step}", now)
    add_records(batch, records)
    update: dict = {"next_check_at": next_check_at, "updated_at": now}
    if steps:
        update.update({"escalations": firestore.ArrayUnion(steps), "escalation_level": firestore.Maximum(level),
                       "timeline": firestore.ArrayUnion(entries)})
    batch.update(_ref(INCIDENTS, incident_id), update)
    try:
        call(batch.commit)
    except gexc.Conflict:
        return False
    return True


# ---------------------------------------------------------------- reads

def _merge(incident: dict, live: dict | None) -> Incident:
    """Overlay the live counters (with those of its shards when the key is hot) on the stored incident."""
    if live is not None and live.get("incident_id") == incident["id"]:
        if live.get("shards"):
            live = {**live, **hot.totals(incident["key_doc"], live)}
        incident = {**incident, **{k: live[k] for k in LIVE_FIELDS if k in live}}
    return Incident.from_doc(incident)


def _with_live(incidents: list[dict]) -> list[Incident]:
    """Return stored incidents with the live counters of the active ones overlaid (one batch read)."""
    refs = [_ref(LIVE, i["key_doc"]) for i in incidents if i.get("active")]
    live = {s.id: s.to_dict() for s in get_all(refs) if s.exists}
    return [_merge(i, live.get(i["key_doc"])) for i in incidents]


def get_incident(incident_id: str) -> Incident | None:
    """Return one incident with its live counters, or None."""
    snap = call(_ref(INCIDENTS, incident_id).get)
    if not snap.exists:
        return None
    incident = snap.to_dict()
    live = call(_ref(LIVE, incident["key_doc"]).get) if incident.get("active") else None
    return _merge(incident, live.to_dict() if live and live.exists else None)


def list_incidents(statuses: list[str] | None, limit: int) -> list[Incident]:
    """Return incidents, newest first, optionally only those in `statuses` (indexed query)."""
    query = client().collection(INCIDENTS)
    if statuses:
        query = query.where(filter=firestore.FieldFilter("status", "in", statuses))
    query = query.order_by("created_at", direction=firestore.Query.DESCENDING).limit(limit)
    return _with_live(docs(query))


@dataclass(frozen=True)
class Filters:
    """What a listing narrows incidents to; every field is optional (None: any)."""

    statuses: tuple[str, ...] = ()
    service: str | None = None
    environment: str | None = None
    severity_rank: int | None = None     # the effective severity (a team lead's pin counts)
    since: datetime | None = None        # created at or after
    until: datetime | None = None        # created before


def list_page(filters: Filters, limit: int, after: tuple[datetime, str] | None = None) -> tuple[list[Incident], bool]:
    """Return up to `limit` incidents matching `filters`, newest first, starting after the cursor `after`
    (created_at, id) of the previous page, and whether more may follow; reads about `limit` documents whatever
    the total.

    Equality filters are served by one composite index per field with created_at (Firestore merges them);
    the days bound the order by cursors, so they need no index of their own.
    The effective severity is a pin when there is one: two queries (automatic rank, pinned rank) are merged,
    and the page stops where the first of them that filled its limit stopped, so nothing is skipped.
    """
    def query(rank_field: str | None) -> list[dict]:
        q = client().collection(INCIDENTS)
        if filters.statuses:
            q = q.where(filter=firestore.FieldFilter("status", "in", list(filters.statuses)))
        for name, value in (("service", filters.service), ("environment", filters.environment),
                            (rank_field, filters.severity_rank)):
            if name and value is not None:
                q = q.where(filter=firestore.FieldFilter(name, "==", value))
        q = q.order_by("created_at", direction=firestore.Query.DESCENDING) \
            .order_by("__name__", direction=firestore.Query.DESCENDING)
        # The days are cursors on the order, not range filters: equalities and an order are served by merging
        # the per-field indexes; a range beside two equalities would need an index for each combination.
        if after:
            q = q.start_after({"created_at": after[0], "__name__": _ref(INCIDENTS, after[1])})
        elif filters.until:
            q = q.start_after({"created_at": filters.until})   # newest first: only those created before
        if filters.since:
            q = q.end_at({"created_at": filters.since})        # down to those created at `since`
        return docs(q.limit(limit))

    def key(doc: dict) -> tuple:
        return doc["created_at"], doc["id"]

    if filters.severity_rank is None:
        results = [query(None)]
        found = results[0]
    else:  # the automatic rank where no pin overrides it, and the pinned rank
        rank = filters.severity_rank
        results = [query("severity_rank"), query("pinned_rank")]
        merged = {d["id"]: d for d in results[0] if d.get("pinned_rank") in (None, 0, rank)}
        merged.update({d["id"]: d for d in results[1]})
        bounds = [key(r[-1]) for r in results if len(r) == limit]
        found = sorted((d for d in merged.values() if not bounds or key(d) >= max(bounds)), key=key,
                       reverse=True)[:limit]
    more = any(len(r) == limit for r in results)
    return _with_live(found), more


def incidents_created_since(since: datetime, limit: int, live: bool = False) -> list[Incident]:
    """Return incidents created at or after `since`, oldest first (single-field index on created_at); `live`:
    with the live counters of active ones merged in (occurrences, users, last seen)."""
    query = (client().collection(INCIDENTS).where(filter=firestore.FieldFilter("created_at", ">=", since))
             .order_by("created_at").limit(limit))
    found = docs(query)
    return _with_live(found) if live else [Incident.from_doc(i) for i in found]


def due_incidents(now: datetime, limit: int) -> list[Incident]:
    """Return incidents whose escalation check is due (indexed on next_check_at; only active ones have it)."""
    query = (client().collection(INCIDENTS).where(filter=firestore.FieldFilter("next_check_at", "<=", now))
             .order_by("next_check_at").limit(limit))
    return [Incident.from_doc(i) for i in docs(query)]


def add_timeline(incident_id: str, entry: dict) -> None:
    """Append one entry to an incident's timeline (e.g. a notification sent or failed)."""
    call(_ref(INCIDENTS, incident_id).update, {"timeline": firestore.ArrayUnion([entry])})
