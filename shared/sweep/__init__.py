"""The minute's sweep, once per schedule time (Cloud Scheduler delivers at least once): silences that ended,
escalation steps, a storm's milestones, the handoff, status-update reminders, the outbox (pages first), postmortem
drafts, UptimeRobot polling and health probes, in that order."""
from __future__ import annotations

from datetime import datetime

from shared import log, postmortems, silences
from shared.clock import clock
from shared.config import config
from shared.config.settings import settings
from shared.incidents import escalation as escalations
from shared.incidents import hot_sweep
from shared.notify.sweep import sweep
from shared.oncall import handoff
from shared.reports import health, polling, probes
from shared.status import updates as status_updates
from shared.store.client import claim_once

# Seconds the outbox's sends may keep starting (each may then take its send timeout, 5 s); polling and the probes
# come after with at most 10 s each (reports/polling.py, reports/probes.py): the run ends within the function's
# 60 s timeout (deploy/target.py), before the next minute's run starts.
SWEEP_BUDGET = 30.0


def run_escalate(now: datetime, job: str) -> dict:
    """Run the minute's sweep once for this schedule time."""
    key = f"run-{job}-{now.strftime('%Y%m%dT%H%M%S')}"
    if not claim_once(key, now):
        return {"status": "duplicate", "run": key}
    released = silences.sweep(now, config())  # first: an incident whose silence ended escalates from now on
    escalated, due = escalations.sweep(config(), now)
    due += released
    milestones, hot_due = hot_sweep.sweep(now, config())  # a storm's last second, over several instances
    due += hot_due
    handoff_record = handoff.post_once(now, config())
    if handoff_record:
        due.append(handoff_record)
    reminders = status_updates.remind(now, config())  # a public update promised and not written: tell the owner
    due += reminders
    stats = sweep(config(), settings(), now, SWEEP_BUDGET, first=due)
    counts = {**escalated, **stats.as_dict(), "milestones_caught_up": milestones}
    counts["postmortems_drafted"] = postmortems.sweep(now, config())
    counts["status_update_reminders"] = len(reminders)
    counts.update(polling.poll(now, config(), settings()))  # UptimeRobot on the free plan, after the pages
    counts.update(probes.run(config(), settings(), now))  # last, so a slow health URL never delays a page
    if any(counts.values()):  # a quiet minute says nothing (the health check shows the last sweep)
        log.info("sweep done", run=key, **counts)
    health.record_sweep(clock().now(), now, counts)
    return {"status": "done", "run": key, **counts}
