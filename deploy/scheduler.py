"""The Cloud Scheduler jobs of shared/config/schedule.py (the table the local cron runner fires), as scheduler_v1.Job.

Each job POSTs to its function's URL with an OIDC token of the scheduler service account (audience: that
URL), so only Cloud Scheduler can call the sweep and the daily report. Cloud Scheduler's free tier is 3 jobs
per billing account: a table with more is refused before anything changes.
"""
from __future__ import annotations

from google.api_core import exceptions as gexc
from google.cloud import scheduler_v1
from google.protobuf import duration_pb2

from deploy.steps import Change, Step
from deploy.target import Target
from shared.config.schedule import Job

FREE_JOBS = 3   # https://cloud.google.com/scheduler/pricing


def _seconds(n: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=n)


# How each job is retried. A retry carries its run's X-CloudScheduler-ScheduleTime, and the functions refuse
# one more than 10 minutes from their clock (shared/web/http.py), so every retry starts within 9 minutes. The
# sweep runs every minute and the next run catches up on everything, so one quick retry that ends before the
# next run is enough; the daily report is retried for 9 minutes (a run that already posted it answers from the
# stored report and posts nothing twice), and the next day's run makes the report of a day every try missed.
RETRY = {
    "escalate": scheduler_v1.RetryConfig(retry_count=1, min_backoff_duration=_seconds(10),
                                         max_backoff_duration=_seconds(10), max_doublings=0,
                                         max_retry_duration=_seconds(50)),
    "daily_summary": scheduler_v1.RetryConfig(retry_count=4, min_backoff_duration=_seconds(30),
                                              max_backoff_duration=_seconds(120), max_doublings=2,
                                              max_retry_duration=_seconds(540)),
}
DEFAULT_RETRY = scheduler_v1.RetryConfig(retry_count=3, min_backoff_duration=_seconds(30),
                                         max_backoff_duration=_seconds(300), max_doublings=3,
                                         max_retry_duration=_seconds(1800))
# A little longer than the function's own timeout, so Scheduler never gives up on an answer that is coming.
ATTEMPT_DEADLINE = _seconds(90)


def job_name(t: Target, job: Job) -> str:
    return f"projects/{t.pid}/locations/{t.region}/jobs/{job.name}"


def build_job(t: Target, job: Job, function_url: str) -> scheduler_v1.Job:
    """Return the Scheduler job for one row of the schedule table, calling `function_url`."""
    return scheduler_v1.Job(
        name=job_name(t, job),
        description=f"incident response: {job.function} ({job.cron}, {job.time_zone})",
        schedule=job.cron, time_zone=job.time_zone,
        http_target=scheduler_v1.HttpTarget(
            uri=function_url.rstrip("/") + job.path, http_method=scheduler_v1.HttpMethod.POST,
            oidc_token=scheduler_v1.OidcToken(service_account_email=t.scheduler_sa, audience=function_url)),
        retry_config=RETRY.get(job.function, DEFAULT_RETRY), attempt_deadline=ATTEMPT_DEADLINE)


def _compared(job: scheduler_v1.Job) -> tuple:
    """Return the parts of a job this deploy decides (not its state, status or times)."""
    target = job.http_target
    retry = job.retry_config
    return (job.schedule, job.time_zone, target.uri, target.http_method, target.oidc_token.service_account_email,
            target.oidc_token.audience, retry.retry_count, retry.min_backoff_duration, retry.max_backoff_duration,
            retry.max_doublings, retry.max_retry_duration, job.attempt_deadline, job.description)


def describe(job: Job, url: str, t: Target) -> str:
    retry = RETRY.get(job.function, DEFAULT_RETRY)
    return (f"{job.name}: '{job.cron}' ({job.time_zone}) POST {url}{job.path} with an OIDC token of "
            f"{t.scheduler_sa}; up to {retry.retry_count} retries within {retry.max_retry_duration.seconds} s, "
            f"attempt deadline {ATTEMPT_DEADLINE.seconds} s")


def step(t: Target, job: Job) -> Step:
    """Create the job, or update it when it differs from the table; a job that is right is left alone."""
    def read(ctx):
        url = ctx.function_uri(job.function)
        try:
            current = ctx.scheduler.get_job(name=job_name(t, job)) if ctx.connected else None
        except gexc.NotFound:
            current = None
        return {"url": url, "job": current}

    def needed(current) -> list[Change]:
        current = current or {"url": None, "job": None}
        url = current["url"] or f"<URL of {job.function}, known once it is deployed>"
        wanted = build_job(t, job, url)
        text = describe(job, url, t)
        if current["job"] is None:
            return [Change(f"create Scheduler job {text}", call=lambda ctx: ctx.scheduler.create_job(
                parent=f"projects/{t.pid}/locations/{t.region}", job=build_job(t, job, ctx.function_uri(
                    job.function))))]
        if _compared(current["job"]) != _compared(wanted):
            return [Change(f"update Scheduler job {text}", call=lambda ctx: ctx.scheduler.update_job(
                job=build_job(t, job, ctx.function_uri(job.function))))]
        return []

    return Step(f"Scheduler job {job.name} -> {job.function}", read, needed)
