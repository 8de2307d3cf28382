"""The cron table: what Cloud Scheduler fires in production and the local runner fires in development.

Keep it to 3 jobs (Cloud Scheduler's free tier). The local runner (shared/local/cron.py) fires the entries
whose function exists against the local server; `./deploy.sh gcp apply` creates one Cloud Scheduler job each
(deploy/scheduler.py).
"""
from __future__ import annotations

from shared.config import Config, load_config
from shared.config.frozen import frozen


@frozen
class Job:
    name: str          # Cloud Scheduler job name
    function: str      # functions/<function>/main.py
    cron: str          # standard 5-field cron expression
    time_zone: str     # zone the expression is read in
    path: str = "/"    # path under the function's URL


def jobs(cfg: Config) -> list[Job]:
    """Return the cron table for a team: the minute's sweep, and the daily summary at the team's local time."""
    hour, minute = cfg.daily_summary.time.split(":")
    return [
        Job("escalate-every-minute", "escalate", "* * * * *", "Etc/UTC"),
        Job("daily-summary", "daily_summary", f"{int(minute)} {int(hour)} * * *", cfg.team.time_zone),
    ]


JOBS = jobs(load_config())   # the default team's; the local runner and the deploy use jobs(config())
