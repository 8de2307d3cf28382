"""The scheduled runs, each idempotent per schedule time (Cloud Scheduler delivers at least once)."""
from __future__ import annotations

from datetime import datetime, timezone

from shared import escalations, handoff, health, log, store
from shared.store import outbox
from shared.config import config, settings
from shared.notify.sweep import sweep

SWEEP_BUDGET = 45.0  # seconds; the next run starts a minute after this one


def run_escalate(now: datetime, job: str) -> dict:
    """Run the minute's sweep once for this schedule time."""
    key = f"run-{job}-{now.strftime('%Y%m%dT%H%M%S')}"
    if not store.claim_once(key, now):
        return {"status": "duplicate", "run": key}
    escalated, due = escalations.sweep(config(), now)
    handoff_record = handoff.due_record(now, config())
    if handoff_record:
        outbox.enqueue([handoff_record])
        due.append(handoff_record["id"])
    stats = sweep(config(), settings(), now, SWEEP_BUDGET, first=due)
    log.info("sweep done", run=key, **escalated, **stats.as_dict())
    health.record_sweep(datetime.now(timezone.utc), now, {**escalated, **stats.as_dict()})
    return {"status": "done", "run": key, **escalated, **stats.as_dict()}
