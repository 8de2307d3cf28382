"""An incident's timeline stays small enough to live on its document: Firestore refuses a document over 1 MiB, and
an incident it refuses can be neither acknowledged nor resolved.

The newest entries are on the incident (`timeline`); when a change that read the incident finds them over
BUDGET bytes, the oldest (all but the first, "opened") move, in the same commit, to
incidents/{id}/timeline_archive/{n} (`entries`, oldest first), and `timeline_archived` counts them. Writes that do
not read the incident (a notification sent, an escalation step) append small entries a bounded number of times,
so the document stays far below the limit between two changes that read it.
"""
from __future__ import annotations

from shared.lazy import firestore
from shared.store.client import docs

BUDGET = 256 * 1024        # bytes of timeline kept on the incident document (Firestore's limit: 1,048,576)
KEEP = BUDGET // 2         # bytes of the newest entries kept when the rest move to the archive
ARCHIVE = "timeline_archive"


def _bytes(value) -> int:
    """Firestore's storage size of a value (https://firebase.google.com/docs/firestore/storage-size)."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "replace")) + 1
    if isinstance(value, dict):
        return sum(_bytes(k) + _bytes(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sum(_bytes(v) for v in value)
    return 8   # a number, a timestamp, a boolean, null


def size(entries) -> int:
    return _bytes(list(entries))


def append(ref, stored: dict, entries: list[dict], batch) -> dict:
    """Return the update that adds `entries` to the timeline of the incident `stored` (as read, at `ref`); when
    that would pass BUDGET, add to `batch` the move of the oldest entries to the archive, and return the kept
    timeline in full (the caller's write must be preconditioned on the read, or in a transaction)."""
    timeline = list(stored.get("timeline") or [])
    new = [e for e in entries if e not in timeline]   # as ArrayUnion would
    if size(timeline) + size(new) <= BUDGET:
        return {"timeline": firestore.ArrayUnion(entries)}
    head, rest = timeline[:1], timeline[1:]
    kept: list[dict] = []
    room = KEEP - size(head) - size(new)
    for entry in reversed(rest):
        room -= size([entry])
        if room < 0:
            break
        kept.insert(0, entry)
    moved = rest[:len(rest) - len(kept)]
    archived = int(stored.get("timeline_archived") or 0)
    part = int(stored.get("timeline_parts") or 0)
    batch.set(ref.collection(ARCHIVE).document(f"{part:06d}"), {"entries": moved, "first": archived})
    return {"timeline": head + kept + new, "timeline_archived": archived + len(moved), "timeline_parts": part + 1}


def archived(ref) -> list[dict]:
    """Return the archived entries of an incident, oldest first (empty when nothing was moved)."""
    parts = docs(ref.collection(ARCHIVE).order_by("first"))
    return [e for part in parts for e in part.get("entries", [])]


def whole(ref, stored: dict) -> list[dict]:
    """Return an incident's whole timeline: the first entry, the archived ones, the rest on the document."""
    timeline = list(stored.get("timeline") or [])
    if not stored.get("timeline_archived"):
        return timeline
    return timeline[:1] + archived(ref) + timeline[1:]
