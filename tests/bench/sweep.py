"""Escalation sweep benchmark: one sweep over many stored incidents of which few are due.

Shows that the sweep's Firestore reads follow the due set (the indexed next_check_at query), not the total.
"""
from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import datetime, timedelta, timezone

from shared.config import config
from shared.incidents import escalation as escalations
from shared.store.client import client
from shared.store.incidents import INCIDENTS
from tests.fakes.firestore_tap import tap_product


def set_all(db, writes) -> None:
    """Set (document reference, data) pairs in batches of 400 (Firestore takes at most 500 writes a commit)."""
    batch, size = db.batch(), 0
    for ref, doc in writes:
        batch.set(ref, doc)
        size += 1
        if size == 400:
            batch.commit()
            batch, size = db.batch(), 0
    if size:
        batch.commit()


def seed(db, total: int, due: int, now: datetime, run: str) -> None:
    """Write `total` open Critical incidents directly; `due` of them are due for their check at `now`."""
    writes = []
    for i in range(total):
        opened = now - timedelta(minutes=20) if i < due else now
        doc = {"id": f"INC-B{run}{i:05d}", "dedup_key": f"bench:{run}:{i}", "key_doc": f"bench{run}{i}",
               "title": f"bench {i}", "service": "petties-backend", "environment": "production", "source": "bench",
               "status": "open", "active": True, "severity_rank": 4, "severity_reasons": {"critical": "bench"},
               "created_at": opened, "respond_by": opened + timedelta(minutes=15),
               "resolve_by": opened + timedelta(hours=2), "acknowledged_at": None, "escalations": [],
               "escalation_level": 1, "pinned_rank": 0, "occurrences": 1, "users_affected": 0, "timeline": [],
               "next_check_at": opened + timedelta(minutes=15), "links": {}}
        writes.append((db.collection(INCIDENTS).document(doc["id"]), doc))
    set_all(db, writes)


def main() -> None:
    db = client()
    counts = tap_product()
    cfg = dataclasses.replace(config(), stakeholders=[])
    print("\nescalation sweep benchmark: one sweep, Critical incidents 20 min old are due (level 2)")
    for index, (total, due) in enumerate(((1_000, 100), (10_000, 100))):
        run = uuid.uuid4().hex[:6]
        # each round runs a day before the last, so nothing an earlier round stored is due in it
        now = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc) - timedelta(days=index)
        started = time.perf_counter()
        seed(db, total, due, now, run)
        seeded = time.perf_counter() - started
        before = counts.snapshot()
        started = time.perf_counter()
        stats, records = escalations.sweep(cfg, now)
        elapsed = time.perf_counter() - started
        after = counts.snapshot()
        print(f"  {total:>6} stored, {due} due: sweep {elapsed * 1000:.0f} ms, {after[0] - before[0]} reads, "
              f"{after[1] - before[1]} writes; checked {stats['checked']}, escalated {stats['escalated']}, "
              f"{len(records)} pages queued (seeding took {seeded:.1f} s)")


if __name__ == "__main__":
    main()
