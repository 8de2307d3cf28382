"""Fire the cron table against the local server, as Cloud Scheduler would (at least once, with its headers)."""
from __future__ import annotations

import argparse
import contextlib
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import httpx
from croniter import croniter

from shared import log
from shared.config import config
from shared.config.schedule import Job
from shared.config.schedule import jobs as cron_table
from shared.local.server import function_names


def next_fire(job: Job, after: datetime) -> datetime:
    """Return the next time the job fires after `after` (both UTC)."""
    local = after.astimezone(ZoneInfo(job.time_zone))
    return croniter(job.cron, local).get_next(datetime).astimezone(timezone.utc)


def fire(base_url: str, job: Job, at: datetime, client: httpx.Client) -> int:
    """POST the job to its function with Cloud Scheduler's headers; return the HTTP status."""
    headers = {"X-CloudScheduler": "true", "X-CloudScheduler-JobName": job.name,
               "X-CloudScheduler-ScheduleTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
               "User-Agent": "Google-Cloud-Scheduler"}
    response = client.post(f"{base_url}/{job.function}{job.path}", headers=headers, timeout=60)
    return response.status_code


def run(base_url: str) -> None:
    present = set(function_names())
    table = cron_table(config())
    jobs = [j for j in table if j.function in present]
    if not jobs:
        log.info("cron runner: no scheduled function exists yet; idle", jobs=[j.name for j in table])
    now = datetime.now(timezone.utc)
    due = {j.name: next_fire(j, now) for j in jobs}
    with httpx.Client() as client:
        while True:
            now = datetime.now(timezone.utc)
            for job in jobs:
                if due[job.name] <= now:
                    try:
                        status = fire(base_url, job, due[job.name], client)
                        log.info("cron fired", job=job.name, status=status)
                    except httpx.HTTPError as e:
                        log.warning("cron fire failed", job=job.name, reason=str(e))
                    due[job.name] = next_fire(job, now)
            time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        run(args.url.rstrip("/"))


if __name__ == "__main__":
    main()
