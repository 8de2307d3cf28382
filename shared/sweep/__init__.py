"""The minute's sweep, once per schedule time (Cloud Scheduler delivers at least once): silences that ended,
reactions on the alerts (bot mode), escalation steps, a storm's milestones, the handoff, status-update reminders,
the outbox (pages first), postmortem drafts, UptimeRobot polling and health probes, in that order."""
from __future__ import annotations

from datetime import datetime, timedelta

from shared import log, postmortems, silences
from shared.clock import clock
from shared.config import config
from shared.config.settings import settings
from shared.incidents import escalation as escalations
from shared.incidents import hot_sweep, reactions
from shared.notify.sweep import sweep
from shared.oncall import handoff
from shared.reports import health, polling, probes
from shared.status import updates as status_updates
from shared.store.client import claim_run, finish_run

# The run's time. Cloud Functions stops the function after 60 s (deploy/target.py); no stage starts after
# RUN_BUDGET, and each stage is given only what is left, its sends in flight included, so the run ends about
# 15 s before the timeout even when every vendor hangs. A stage that cannot have its whole time is left to the next
# minute's run and named in "cut_short". The outbox comes first (pages), then UptimeRobot polling, then probes
# (whose per-URL timeouts must not be shortened: a probe cut short would look like an outage).
RUN_BUDGET = 45.0
SWEEP_BUDGET = 20.0   # seconds the outbox's sends may keep starting (each may then take its send timeout)
RUN_LEASE = timedelta(seconds=70)   # a run not finished by then was killed: a retry of its schedule time redoes it
# Postmortem work (drafts within 48 h, reminders at 24 h and 44 h, a daily ping) is not minute-critical, and its
# queries read every recently resolved incident and every unreviewed postmortem: it runs every fifth minute, which
# keeps the day's sweeps within a third of Firestore's free reads (tests/bench/day.py prints the breakdown).
POSTMORTEM_EVERY = 5   # minutes


def every(now: datetime, minutes: int) -> bool:
    """True for the schedule times of work done every `minutes` minutes (:00, :05, ... for 5)."""
    return (now.hour * 60 + now.minute) % minutes == 0


def run_escalate(now: datetime, job: str) -> dict:
    """Run the minute's sweep once for this schedule time (again only if a run of it was cut off)."""
    timer = clock()
    deadline = timer.monotonic() + RUN_BUDGET
    key = f"run-{job}-{now.strftime('%Y%m%dT%H%M%S')}"
    if not claim_run(key, now, timer.now(), RUN_LEASE):
        return {"status": "duplicate", "run": key}
    released = silences.sweep(now, config())  # first: an incident whose silence ended escalates from now on
    # before escalation: a 👀 read this minute stops this minute's page
    reacted, reaction_due = reactions.sweep(config(), settings(), now,
                                            min(reactions.STAGE_BUDGET, deadline - timer.monotonic()))
    escalated, due = escalations.sweep(config(), now)
    due += released + reaction_due
    milestones, hot_due = hot_sweep.sweep(now, config())  # a storm's last second, over several instances
    due += hot_due
    handoff_record = handoff.post_once(now, config())
    if handoff_record:
        due.append(handoff_record)
    reminders = status_updates.remind(now, config())  # a public update promised and not written: tell the owner
    due += reminders
    tail = settings().send_timeout   # a send that has started finishes, whatever the budget
    stats = sweep(config(), settings(), now, max(min(SWEEP_BUDGET, deadline - timer.monotonic() - tail), 0),
                  first=due)
    counts: dict = {**escalated, **reacted, **stats.as_dict(), "milestones_caught_up": milestones}
    if every(now, POSTMORTEM_EVERY):
        counts["postmortems_drafted"] = postmortems.sweep(now, config(), settings().public_url)
    counts["status_update_reminders"] = len(reminders)
    cut_short = []
    if deadline - timer.monotonic() >= polling.BUDGET:   # UptimeRobot on the free plan, after the pages
        counts.update(polling.poll(now, config(), settings(), polling.BUDGET))
    elif settings().uptimerobot_api_key:
        cut_short.append("polling")
    if deadline - timer.monotonic() >= probes.STAGE_BUDGET:   # last, so a slow health URL never delays a page
        counts.update(probes.run(config(), settings(), now, probes.STAGE_BUDGET))
    elif probes.targets(config()):
        cut_short.append("probes")
    if cut_short:
        counts["cut_short"] = cut_short
        log.warning("sweep cut short: the next run does the rest", run=key, cut_short=cut_short)
    if any(counts.values()):  # a quiet minute says nothing (the health check shows the last sweep)
        log.info("sweep done", run=key, **counts)
    health.record_sweep(timer.now(), now, counts)
    finish_run(key, timer.now(), {"counts": counts})
    return {"status": "done", "run": key, **counts}
