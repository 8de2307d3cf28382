"""State of an API poll (UptimeRobot on the free plan): when the next poll may run, the newest event seen per
monitor, and how the last poll went, for the health check.

Document polling/{source}:
  next_poll_at   no poll before this (a minute after the last one, or a 429's Retry-After)
  seen           {monitor id: unix time of the newest log seen}; only ever moves forward
  last_ok_at, last_error, last_error_at, failing_since (None while polls succeed)

`begin` takes the next poll in a transaction, so two sweeps running at once (a duplicated or overlapping run)
poll once; `finish_ok` merges the cursors by taking the newer one, so a late, slower poll never moves a monitor
back to events already reported.
"""
from __future__ import annotations

from datetime import datetime

from shared.store.client import Unchanged, call, client, put_unchanged, read_then_write

POLLING = "polling"


def _ref(source: str):
    return client().collection(POLLING).document(source)


def state(source: str) -> dict:
    """Return the stored poll state of a source ({} before the first poll)."""
    snap = call(_ref(source).get)
    return (snap.to_dict() or {}) if snap.exists else {}


def begin(source: str, now: datetime, next_poll_at: datetime) -> dict | None:
    """Take the poll due at `now` (the next one may run at `next_poll_at`); return the state before it, or None
    when a poll is not due yet (too soon, inside a Retry-After, or another sweep took it)."""
    ref = _ref(source)

    def take(snap, batch) -> dict | None:
        doc = (snap.to_dict() or {}) if snap.exists else {}
        if doc.get("next_poll_at") and doc["next_poll_at"] > now:
            raise Unchanged(None)
        put_unchanged(batch, ref, snap, {"next_poll_at": next_poll_at})
        return doc

    return read_then_write(ref, take, "another sweep is polling")


def finish_ok(source: str, now: datetime, seen: dict[str, int]) -> None:
    """Record a successful poll and the newest event seen per monitor (never moving a cursor back)."""
    ref = _ref(source)

    def write(snap, batch) -> None:
        doc = (snap.to_dict() or {}) if snap.exists else {}
        merged = dict(doc.get("seen") or {})
        for monitor, at in seen.items():
            merged[monitor] = max(int(merged.get(monitor) or 0), at)
        last_ok = doc.get("last_ok_at")
        put_unchanged(batch, ref, snap, {"seen": merged, "last_ok_at": max(last_ok, now) if last_ok else now,
                                         "failing_since": None})

    read_then_write(ref, write, "another sweep is polling")


def finish_failed(source: str, now: datetime, error: str, next_poll_at: datetime) -> None:
    """Record a failed poll: the error, since when polls fail, and no poll before `next_poll_at`."""
    ref = _ref(source)

    def write(snap, batch) -> None:
        doc = (snap.to_dict() or {}) if snap.exists else {}
        later = max(doc["next_poll_at"], next_poll_at) if doc.get("next_poll_at") else next_poll_at
        put_unchanged(batch, ref, snap, {"last_error": error, "last_error_at": now,
                                         "failing_since": doc.get("failing_since") or now, "next_poll_at": later})

    read_then_write(ref, write, "another sweep is polling")
