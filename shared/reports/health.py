"""Who watches the watchman: the alerting system's own health, for an outside monitor (UptimeRobot).

GET /ingest/health answers 200 when the every-minute sweep has run recently and no notification has
waited too long, else 503 with the reasons, so a keyword or status monitor pages the team directly when
this system is the thing that is down.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.config.settings import settings
from shared.model import OutboxStatus
from shared.store import jobs, outbox, polling

SWEEP_STALE = timedelta(minutes=5)        # the sweep runs every minute
UNDELIVERED_STALE = timedelta(minutes=15)  # a notification due this long ago and still not out
POLL_STALE = timedelta(minutes=15)         # UptimeRobot polling failing this long: the monitor is blind (a
# shorter failure, a 429 or UptimeRobot's own hiccup, is shown in `uptimerobot_poll` and stays 200)


def record_sweep(wall: datetime, schedule_time: datetime, stats: dict) -> None:
    """Note a finished sweep (wall-clock time and its schedule time)."""
    jobs.record_run("sweep", {"finished_at": wall, "schedule_time": schedule_time, "stats": stats})


def check(wall: datetime) -> tuple[dict, int]:
    """Return the health report and 200 (healthy) or 503."""
    problems = []
    sweep = jobs.last_run("sweep")
    last = sweep["finished_at"] if sweep else None
    if last is None:
        problems.append("the escalate sweep has never run")
    elif wall - last > SWEEP_STALE:
        problems.append(f"the escalate sweep last ran {int((wall - last).total_seconds() // 60)} min ago")
    backlog = outbox.due(wall, 500)
    waiting = [r for r in backlog if r["status"] in (OutboxStatus.PENDING, OutboxStatus.SENDING)]
    oldest = min((r["due_at"] for r in waiting), default=None)
    if oldest is not None and wall - oldest > UNDELIVERED_STALE:
        problems.append(f"a notification has waited {int((wall - oldest).total_seconds() // 60)} min")
    report = {"status": "ok" if not problems else "unhealthy", "problems": problems,
              "last_sweep_at": last, "outbox_backlog": len(waiting), "oldest_undelivered_due_at": oldest}
    if settings().uptimerobot_api_key:  # polling on: a blind monitor is a problem of its own
        poll = polling.state("uptimerobot")
        report["uptimerobot_poll"] = {k: poll.get(k) for k in ("last_ok_at", "last_error", "last_error_at",
                                                               "failing_since")}
        since = poll.get("failing_since")
        if since and wall - since > POLL_STALE:
            problems.append(f"UptimeRobot polling has failed since {since:%Y-%m-%d %H:%M} UTC: "
                            f"{poll.get('last_error')}")
            report["status"] = "unhealthy"
    return report, 200 if not problems else 503
