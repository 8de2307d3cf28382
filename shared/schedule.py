"""The cron table: what Cloud Scheduler fires in production and the local runner fires in development.

Keep it to 3 jobs (Cloud Scheduler's free tier). deploy.sh creates one Scheduler job per entry whose
function exists; the local runner fires the same entries against the local server.
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
