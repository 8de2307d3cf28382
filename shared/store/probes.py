"""Health-probe results: the state of each probed URL and every result, per UTC day.

Documents:
  probes/{key}                 per (service, url), key = probe_key(): `last` result, the slot last probed, the
                               state the sweep's rules keep (failures in a row, open, flapping, changes) and
                               `pending` transitions not yet handed to the ingest use case
  probe_days/{key}:{YYYY-MM-DD}  every result of that URL on that UTC day, appended ({at, ok, status, ms, reason}),
                               for the daily summary's response times and down intervals; expire_at for a TTL policy

A result and the state it leads to are one transaction that first checks the slot, so overlapping sweeps record
each (url, slot) once.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from shared.lazy import firestore
from shared.store.client import Unchanged, client, docs, get_all, put_unchanged, read_then_write

PROBES = "probes"
DAYS = "probe_days"
DAY_TTL = timedelta(days=90)  # long enough for any report re-run; older days expire (TTL on expire_at)


def probe_key(service: str, url: str) -> str:
    """Return the document id for one health URL of one service (URLs hold '/')."""
    return hashlib.sha256(f"{service}\n{url}".encode()).hexdigest()[:32]


def _day(at: datetime) -> str:
    return at.astimezone(timezone.utc).date().isoformat()


def states(keys: list[str]) -> dict[str, dict]:
    """Return the stored probes/{key} documents that exist, by key."""
    if not keys:
        return {}
    refs = [client().collection(PROBES).document(k) for k in keys]
    return {s.id: s.to_dict() for s in get_all(refs) if s.exists}


def record(key: str, service: str, url: str, slot: int, result: dict,
           decide: Callable[[dict], tuple[dict, list[dict]]]) -> dict | None:
    """Store one result and the state `decide(previous state)` gives, appending the new pending transitions;
    return the stored document, or None when this slot was already recorded (an overlapping sweep)."""
    db = client()
    ref = db.collection(PROBES).document(key)
    day_ref = db.collection(DAYS).document(f"{key}:{_day(result['at'])}")

    def write(snap, batch) -> dict | None:
        doc = snap.to_dict() if snap.exists else {}
        if doc.get("slot", -1) >= slot:
            raise Unchanged(None)
        state, transitions = decide(doc.get("state") or {})
        stored = {"service": service, "url": url, "slot": slot, "updated_at": result["at"], "last": result,
                  "state": state, "pending": list(doc.get("pending") or []) + transitions}
        put_unchanged(batch, ref, snap, stored)
        batch.set(day_ref, {"service": service, "url": url, "day": _day(result["at"]),
                            "expire_at": result["at"] + DAY_TTL, "results": firestore.ArrayUnion([result])},
                  merge=True)
        return stored

    return read_then_write(ref, write, "another sweep recorded this probe")


def clear_pending(key: str, transition_id: str) -> None:
    """Drop one pending transition once the ingest use case has taken it."""
    ref = client().collection(PROBES).document(key)

    def write(snap, batch) -> None:
        if not snap.exists:
            raise Unchanged()
        pending = [p for p in snap.to_dict().get("pending") or [] if p.get("id") != transition_id]
        put_unchanged(batch, ref, snap, {"pending": pending})

    read_then_write(ref, write, "another sweep changed this probe")


def results_between(start: datetime, end: datetime) -> list[dict]:
    """Return every stored result with start <= at < end as {service, url, at, ok, status, ms, reason}, oldest
    first (reads the probe_days documents of the UTC days the window touches)."""
    query = (client().collection(DAYS).where(filter=firestore.FieldFilter("day", ">=", _day(start)))
             .where(filter=firestore.FieldFilter("day", "<=", _day(end))))
    days = docs(query)
    out = [{"service": d["service"], "url": d["url"], **r} for d in days for r in d.get("results") or []
           if start <= r["at"] < end]
    return sorted(out, key=lambda r: r["at"])
