"""The cron table: what Cloud Scheduler fires in production and the local runner fires in development.

Keep it to 3 jobs (Cloud Scheduler's free tier). The local runner (shared/local/cron.py) fires the entries
whose function exists against the local server; the production deploy is to create one Scheduler job each.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    name: str          # Cloud Scheduler job name
    function: str      # functions/<function>/main.py
    cron: str          # standard 5-field cron expression
    time_zone: str     # zone the expression is read in
    path: str = "/"    # path under the function's URL


JOBS = [
    Job("escalate-every-minute", "escalate", "* * * * *", "Etc/UTC"),
    Job("daily-summary", "daily_summary", "0 8 * * *", "Asia/Ho_Chi_Minh"),
]
