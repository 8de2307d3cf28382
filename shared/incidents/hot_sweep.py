"""The minute sweep's part for hot keys: milestones a storm's last writes reached.

On a hot key each instance announces a milestone when the count it has certainly seen passes it; the last
second of a storm spread over several instances can end with the key past a milestone that none of them
saw. The sweep reads each sharded key's exact count (three reads) and announces what is missing; the
outbox record's id keeps each announcement to once, whoever makes it.
"""
from __future__ import annotations

from datetime import datetime

from shared.config import Config
from shared.notify import plan
from shared.store import outbox, shards

MAX_KEYS = 100  # sharded keys are the few problems storming right now


def sweep(now: datetime, cfg: Config) -> tuple[int, list[str]]:
    """Announce the milestones sharded keys reached; return how many, and the outbox records due now."""
    announced, due = 0, []
    for live in shards.sharded_keys(MAX_KEYS):
        total = shards.totals(live["key_doc"], live)["occurrences"]
        for count in (m for m in cfg.notifications.milestones if m <= total):
            records = plan.on_milestone(live["incident_id"], count, live.get("environment", ""), now, cfg)
            if not records or all(outbox.get(r["id"]) for r in records):
                continue  # announced already (the usual case: one read per record)
            created = [r for r, new in zip(records, outbox.enqueue(records), strict=True) if new]
            announced += bool(created)
            due += plan.due_now(created)
    return announced, due
