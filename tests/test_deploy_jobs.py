"""The Cloud Scheduler jobs built for each row of the schedule table (shared/config/schedule.py)."""
from __future__ import annotations

from dataclasses import replace

from google.cloud import scheduler_v1

from deploy import scheduler, target
from shared.config import DEFAULT_CONFIG as PETTIES_YAML
from shared.config import load_config
from shared.config.schedule import jobs
from shared.web.http import SCHEDULE_SKEW

URL = "https://escalate-abc123-as.a.run.app"


def petties_target(project: str = "petties-incidents") -> target.Target:
    cfg = load_config(PETTIES_YAML)
    return target.build(cfg, PETTIES_YAML, project, "asia-southeast1", ["escalate", "daily_summary"], set())


def test_the_sweep_job_posts_every_minute_with_an_oidc_token_and_one_quick_retry():
    t = petties_target()
    sweep = next(j for j in jobs(load_config(PETTIES_YAML)) if j.function == "escalate")
    job = scheduler.build_job(t, sweep, URL)
    assert job.name == "projects/petties-incidents/locations/asia-southeast1/jobs/escalate-every-minute"
    assert (job.schedule, job.time_zone) == ("* * * * *", "Etc/UTC")
    assert job.http_target.uri == URL + "/"
    assert job.http_target.http_method == scheduler_v1.HttpMethod.POST
    assert job.http_target.oidc_token.service_account_email == \
        "incidents-scheduler@petties-incidents.iam.gserviceaccount.com"
    assert job.http_target.oidc_token.audience == URL
    retry = job.retry_config
    assert retry.retry_count == 1
    # every retry is over before the next minute's run starts
    assert retry.max_retry_duration.total_seconds() < 60
    assert job.attempt_deadline.total_seconds() > target.TIMEOUT_SECONDS


def test_the_daily_job_runs_at_the_teams_local_time_in_its_zone_and_retries_within_nine_minutes():
    cfg = load_config(PETTIES_YAML)
    cfg = replace(cfg, daily_summary=replace(cfg.daily_summary, time="07:30"))
    daily = next(j for j in jobs(cfg) if j.function == "daily_summary")
    job = scheduler.build_job(petties_target(), daily, "https://daily-summary-abc123-as.a.run.app")
    assert (job.schedule, job.time_zone) == ("30 7 * * *", "Asia/Ho_Chi_Minh")
    assert job.http_target.oidc_token.audience == "https://daily-summary-abc123-as.a.run.app"
    assert job.retry_config.retry_count == 4
    assert job.retry_config.max_retry_duration.total_seconds() == 540


def test_the_schedule_table_fits_the_free_tier_and_every_job_is_valid_for_cloud_scheduler():
    table = jobs(load_config(PETTIES_YAML))
    assert len(table) <= scheduler.FREE_JOBS
    for row in table:
        job = scheduler.build_job(petties_target(), row, "https://x-abc123-as.a.run.app")
        # Cloud Scheduler's limits: 0..5 retries, an HTTP attempt deadline of 15 s to 30 min
        assert 0 <= job.retry_config.retry_count <= 5
        # a retry carries its run's schedule time: it must start while the function still accepts that time
        assert job.retry_config.max_retry_duration.total_seconds() < SCHEDULE_SKEW.total_seconds()
        assert 15 <= job.attempt_deadline.total_seconds() <= 1800
        assert job.http_target.uri.startswith("https://")


def test_more_jobs_than_the_free_tier_stop_apply(tmp_path):
    from deploy.run import Facts, blockers
    t = petties_target()
    table = jobs(load_config(PETTIES_YAML)) * 2
    problems = blockers(t, Facts(installed=True, account="a@b", enabled_apis=set(), secrets=set()), [], table)
    assert "shared/config/schedule.py has 4 jobs; Cloud Scheduler's free tier is 3" in problems
