"""Counter shards of a hot dedup key: live_shards/{key}-{n}, n < live/{key}.shards.

A hot key's duplicates go to its shards, round robin, each one blind commit with no read, as a cold
duplicate goes to live/{key}. A shard exists only while its key's incident is active and the key is
sharded: the transaction that closes the incident reads every shard (so the counts it copies are final
and concurrent shard writes wait for it), then deletes them; a duplicate that comes after fails with
NotFound and opens the next incident, as on live/{key}. The key's counters are live/{key} plus its shards:
occurrences add up, users affected and last seen take the largest.
"""
from __future__ import annotations

from shared.clock import clock
from shared.lazy import firestore, gexc
from shared.store.client import call, client, counted, docs, get_all, snapshots

LIVE = "live"
LIVE_SHARDS = "live_shards"
# copied from live/{key} into each shard, read back with Maximum(x, 0) by every shard write (no read)
IDENTITY = ("generation", "id_length", "opened_epoch", "severity_rank", "pinned_rank")
# each shard also holds `shards`, the key's shards when it was made: a writer learns of shards added since
SHARD_ATTEMPTS = 3


def shard_id(key_doc: str, n: int) -> str:
    return f"{key_doc}-{n}"


def shard_ref(key_doc: str, n: int):
    return client().collection(LIVE_SHARDS).document(shard_id(key_doc, n))


def shard_refs(key_doc: str, shards: int) -> list:
    return [shard_ref(key_doc, n) for n in range(shards)]


def shard_key(key_doc: str, shards: int) -> dict | None:
    """Spread an active key's counters over `shards` shards, or grow its shards to that many; return
    live/{key} as it now is (with `shards`), or None when the key has no active incident or other writers
    kept changing it.

    One read and one commit: live/{key} gets `shards` and the shards it lacks are created, on the
    precondition that live/{key} is still as read, so they are never created for an incident that closed
    meanwhile (nor twice). Shards are only ever added while the incident is active: the round robin of a
    writer that has not heard of the new ones yet still lands on existing shards.
    """
    db = client()
    ref = db.collection(LIVE).document(key_doc)
    for _ in range(SHARD_ATTEMPTS):
        snap = call(ref.get)
        if not snap.exists:
            return None
        live = snap.to_dict()
        have = int(live.get("shards") or 0)
        if have >= shards:
            return live  # another writer got there first
        batch = db.batch()
        batch.update(ref, {"shards": shards}, option=db.write_option(last_update_time=snap.update_time))
        shard = {"key_doc": key_doc, "incident_id": live["incident_id"], "occurrences": 0, "users_affected": 0,
                 **{k: live.get(k, 0) for k in IDENTITY}, "shards": shards}
        for n in range(have, shards):
            batch.create(shard_ref(key_doc, n), {**shard, "shard": n})
        try:
            call(batch.commit)
            return {**live, "shards": shards}
        except (gexc.FailedPrecondition, gexc.Conflict, gexc.NotFound):
            clock().sleep(0.01)  # live/{key} moved on (a duplicate from another instance, or a close): read again
    return None


def count_on_shard(key_doc: str, n: int, fields: dict, users: int | None, claim: str | None, now) -> dict:
    """Count one occurrence on shard n in one commit (no read); return the shard's counters after it.

    NotActive when the shard is gone (the incident closed); AlreadyClaimed for a replayed delivery.
    """
    transforms = {"occurrences": firestore.Increment(1), "users_affected": firestore.Maximum(users or 0),
                  **{k: firestore.Maximum(0) for k in (*IDENTITY, "shards")}}
    return counted(shard_ref(key_doc, n), fields, transforms, claim, now)


def combine(live: dict, shards: list[dict]) -> dict:
    """Return the key's counters: live/{key}'s plus its shards' (occurrences add up, the rest take the largest)."""
    out = {k: live[k] for k in ("occurrences", "users_affected", "last_seen", "latest_message") if k in live}
    out["occurrences"] = int(live.get("occurrences", 0)) + sum(int(s.get("occurrences", 0)) for s in shards)
    out["users_affected"] = max([int(live.get("users_affected", 0))] +
                                [int(s.get("users_affected", 0)) for s in shards])
    for s in shards:
        if s.get("last_seen") is not None and (out.get("last_seen") is None or s["last_seen"] > out["last_seen"]):
            out["last_seen"], out["latest_message"] = s["last_seen"], s.get("latest_message", "")
    return out


READ_ALL = 16  # up to this many shards, a key's counters are read as documents; beyond, aggregated


def totals(key_doc: str, live: dict) -> dict:
    """Return the key's counters outside a transaction.

    Up to READ_ALL shards: the shards live/{key} names, in one batch read (one round trip, a read each).
    Beyond: a sum aggregation and two one-document queries (three round trips, three reads whatever the
    number of shards; composite indexes in firestore.indexes.json). The batch read is also what the Firestore
    emulator can answer without scanning every shard of every key (a notification reads its incident, so a
    storm's notifications did this at the storm's height). A shard added after `live` was read is counted at
    the next read (eventually exact, as the close is exact)."""
    count = int(live.get("shards") or 0)
    if count <= READ_ALL:
        refs = shard_refs(key_doc, count)
        return combine(live, [s.to_dict() for s in get_all(refs) if s.exists])
    shards = client().collection(LIVE_SHARDS).where(filter=firestore.FieldFilter("key_doc", "==", key_doc))

    total = call(shards.sum("occurrences").get)[0][0].value
    latest = docs(shards.order_by("last_seen", direction=firestore.Query.DESCENDING).limit(1))
    most = docs(shards.order_by("users_affected", direction=firestore.Query.DESCENDING).limit(1))
    out = combine(live, latest + most)
    # the two documents read carry the latest and the largest; the sum covers every shard
    out["occurrences"] = int(live.get("occurrences", 0)) + int(total or 0)
    return out


def sharded_keys(limit: int) -> list[dict]:
    """Return live/{key} of active sharded keys (single-field index on `shards`), with `key_doc`."""
    query = client().collection(LIVE).where(filter=firestore.FieldFilter("shards", ">", 0)).limit(limit)
    return [{**s.to_dict(), "key_doc": s.id} for s in snapshots(query)]
