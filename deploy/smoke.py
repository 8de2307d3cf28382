"""./deploy.sh gcp smoke [--project P] [--region R] [--url BASE]: check that what was deployed works, one line a check.

Against the functions (https://<region>-<project>.cloudfunctions.net, or --url BASE for any running stack,
./deploy.sh local's included): ingest's health; one signed test alert from each configured source, followed
to its channels and then removed (deploy/smoke_alerts.py); the API and the console with the token; the status
page and its JSON in public; escalate and daily_summary refusing a call without Cloud Scheduler's token; the
Scheduler jobs enabled and run within their interval (a local stack: the sweep ran recently, per the health
report); Firestore's indexes READY. Secrets are read as the functions read them: from Secret Manager for a
project (through gcloud), from the environment with --url. Exit 1 when any check fails.
"""
from __future__ import annotations

import os
import sys
import uuid
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import httpx
from croniter import croniter
from google.api_core import exceptions as gexc

from deploy import firestore, smoke_alerts
from deploy.gcloud import Gcloud
from deploy.run import scheduler_client
from deploy.scheduler import job_name
from deploy.target import build, discover, functions_url
from shared.clock import clock
from shared.config import DEFAULT_CONFIG, Config, load_config
from shared.config.schedule import jobs as cron_table
from shared.local.doctor import FAIL, OFF, OK, SYMBOLS, Line, render
from shared.local.samples import setting
from shared.reports.health import SWEEP_STALE
from shared.rules.smoke import SMOKE_MARK

TIMEOUT = 30.0                  # seconds one request may take (a cold start included)
LATE = timedelta(minutes=2)     # how late a Scheduler job's last attempt may be beyond its interval
PRIVATE = ("escalate", "daily_summary")   # only Cloud Scheduler's OIDC token may call them
SECRET_NAMES = {"sentry": "SENTRY_CLIENT_SECRET", "ingest": "INGEST_TOKEN", "api": "API_TOKEN",
                "grafana": "GRAFANA_WEBHOOK_SECRET", "routing_keys": "PAGERDUTY_ROUTING_KEYS"}


@dataclass
class Stack:
    """What the smoke test checks: the functions' base URL, its secrets, and (for a project) gcloud and Scheduler."""

    base: str
    secrets: smoke_alerts.Secrets
    cfg: Config
    project: str | None = None                       # None: --url (no Scheduler, no index listing)
    gcloud: Gcloud | None = None
    scheduler: Callable[[], object] | None = None
    job_names: dict[str, str] | None = None           # cron table job -> Scheduler job name

    @property
    def local(self) -> bool:
        """True for a stack on this machine (./deploy.sh local: no IAM in front of the functions)."""
        return urlsplit(self.base).hostname in ("127.0.0.1", "localhost", "::1")


def check_health(http: httpx.Client) -> tuple[Line, dict]:
    try:
        r = http.get("/ingest/health")
    except httpx.HTTPError as e:
        return Line(FAIL, "Ingest health", f"cannot reach {http.base_url} ({type(e).__name__})"), {}
    report = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    if r.status_code == 200:
        return Line(OK, "Ingest health", f"ok, {report.get('outbox_backlog', 0)} notifications waiting"), report
    problems = "; ".join(report.get("problems") or [r.text[:160]])
    return Line(FAIL, "Ingest health", f"answered {r.status_code}: {problems}"), report


def check_sweep(report: dict, now: datetime) -> Line:
    """A local stack has no Scheduler: its cron runner's sweep must have run recently, as the health report says."""
    last = report.get("last_sweep_at")
    if not last:
        return Line(FAIL, "Sweep", "never ran: is the cron runner on (LOCAL_CRON)?")
    ago = now - datetime.fromisoformat(last.replace("Z", "+00:00"))
    if ago > SWEEP_STALE:
        return Line(FAIL, "Sweep", f"last ran {int(ago.total_seconds() // 60)} min ago (every minute expected)")
    return Line(OK, "Sweep", f"ran {max(int(ago.total_seconds()), 0)} s ago")


def check_api(http: httpx.Client, token: str) -> Line:
    r = http.get("/api/incidents", params={"limit": 1}, headers={"Authorization": f"Bearer {token}"})
    return Line(OK, "API", "GET /api/incidents answers with the token") if r.status_code == 200 else \
        Line(FAIL, "API", f"GET /api/incidents answered {r.status_code} with API_TOKEN: {r.text[:160]}")


def check_public(http: httpx.Client, what: str, path: str) -> Line:
    r = http.get(path)
    if r.status_code != 200:
        return Line(FAIL, what, f"GET {path} answered {r.status_code}")
    if SMOKE_MARK in r.text:
        return Line(FAIL, what, f"GET {path} shows a smoke test's incident")
    return Line(OK, what, f"GET {path} answers in public")


def check_private(http: httpx.Client, function: str, local: bool) -> Line:
    what = f"{function} refuses strangers"
    if local:
        return Line(OFF, what, "not checked: no IAM locally")
    r = http.post(f"/{function}/")
    return Line(OK, what, f"a call without Scheduler's token answered {r.status_code}") if r.status_code in (401, 403) \
        else Line(FAIL, what, f"a call without Scheduler's token answered {r.status_code}, not 401/403")


def _interval(cron: str, zone: str, now: datetime) -> tuple[datetime, timedelta]:
    """Return the schedule's last run time before now and the time between its runs."""
    it = croniter(cron, now.astimezone(zoneinfo.ZoneInfo(zone)))
    last = it.get_prev(datetime)
    return last, last - it.get_prev(datetime)


def check_jobs(stack: Stack, now: datetime) -> list[Line]:
    """Each Scheduler job exists, is enabled, and its last attempt was recent and succeeded."""
    client, lines = stack.scheduler(), []
    for job in cron_table(stack.cfg):
        what = f"Scheduler {job.name}"
        try:
            found = client.get_job(name=stack.job_names[job.name])
        except gexc.NotFound:
            lines.append(Line(FAIL, what, "does not exist: run ./deploy.sh gcp apply"))
            continue
        except gexc.GoogleAPICallError as e:
            lines.append(Line(FAIL, what, f"cannot be read: {e.message}"))
            continue
        last_due, every = _interval(job.cron, job.time_zone, now)
        attempt, created = found.last_attempt_time, found.user_update_time
        if found.state.name != "ENABLED":
            lines.append(Line(FAIL, what, f"is {found.state.name}: run gcloud scheduler jobs resume {job.name}"))
        elif not attempt and created and created + LATE > last_due:   # made since its last run time
            lines.append(Line(OFF, what, "enabled; not due since it was made"))
        elif not attempt or now - attempt > every + LATE:
            lines.append(Line(FAIL, what, f"enabled but has not run within its interval ({job.cron})"
                                          + (f": last attempt {attempt:%Y-%m-%d %H:%M} UTC" if attempt else "")))
        elif found.status.code:
            lines.append(Line(FAIL, what, f"its last attempt failed: {found.status.message or found.status.code}"))
        else:
            lines.append(Line(OK, what, f"enabled, ran {int((now - attempt).total_seconds())} s ago"))
    return lines


def _group(index: dict) -> str:
    """Return an index's collection group and fields, as a person finds it in the console."""
    parts = (index.get("name") or "").split("/")
    group = parts[parts.index("collectionGroups") + 1] if "collectionGroups" in parts else "?"
    fields = [f["fieldPath"] for f in index.get("fields") or [] if f.get("fieldPath") != "__name__"]
    return f"{group}({', '.join(fields)})"


def check_indexes(stack: Stack) -> Line:
    wanted = len(firestore.load().get("indexes") or [])
    listed = stack.gcloud.read(["gcloud", "firestore", "indexes", "composite", "list", firestore.DATABASE,
                                f"--project={stack.project}"]) or []
    waiting = [f"{_group(i)} ({i.get('state') or 'unknown'})" for i in listed if i.get("state") != "READY"]
    if waiting:
        return Line(FAIL, "Firestore indexes", f"not READY: {', '.join(waiting)}; queries that need them fail")
    if len(listed) < wanted:
        return Line(FAIL, "Firestore indexes", f"{len(listed)} of {wanted} exist: run ./deploy.sh gcp apply")
    return Line(OK, "Firestore indexes", f"{len(listed)} READY")


def run(stack: Stack, out: TextIO, ascii_only: bool = False) -> int:
    """Run every check, print a line each; return 1 when any failed."""
    lines: list[Line] = []

    def show(*new: Line) -> None:
        for line in new:
            lines.append(line)
            print(render(line, ascii_only), file=out, flush=True)

    try:
        with httpx.Client(base_url=stack.base.rstrip("/"), timeout=TIMEOUT) as http:
            _functions(http, stack, show)
    except httpx.HTTPError as e:   # a function that stopped answering half-way
        show(Line(FAIL, "Functions", f"stopped answering at {e.request.url.path} ({type(e).__name__})"))
    if stack.project is None:
        show(Line(OFF, "Scheduler jobs", "not checked with --url (the local cron runner: see Sweep)"),
             Line(OFF, "Firestore indexes", "not checked with --url"))
    else:
        show(*check_jobs(stack, clock().now()), check_indexes(stack))
    return _end(lines, out, ascii_only)


def _functions(http: httpx.Client, stack: Stack, show: Callable[..., None]) -> None:
    """Check the functions over HTTP (none past ingest's health when it cannot be reached at all)."""
    health, report = check_health(http)
    show(health)
    if stack.project is None:
        show(check_sweep(report, clock().now()))
    if health.status == FAIL and not report:
        return
    api = check_api(http, stack.secrets.api)
    show(api)
    sources, skipped = smoke_alerts.configured(stack.secrets)
    show(*skipped)
    if api.status == FAIL:   # a test incident could be neither followed nor removed: send none
        show(*[Line(FAIL, f"Test alert {s}", "not sent: the API refuses the token that follows and removes it")
               for s in sources])
        sources = []
    levels, run_id = smoke_alerts.severities(stack.cfg, clock().now()), uuid.uuid4().hex[:10]
    for n, source in enumerate(sources):
        show(*smoke_alerts.follow(http, source, levels[n % len(levels)], f"{run_id}{n}", stack.cfg,
                                  stack.secrets))
    show(check_public(http, "Console", "/console/login"),
         check_public(http, "Status page", "/status/"),
         check_public(http, "Status JSON", "/status/api/v2/summary.json"),
         *[check_private(http, f, stack.local) for f in PRIVATE])


def _end(lines: list[Line], out: TextIO, ascii_only: bool) -> int:
    failed = [line.what for line in lines if line.status == FAIL]
    print("everything deployed works" if not failed else
          f"{len(failed)} failed ({', '.join(failed)}): see the {SYMBOLS[FAIL][ascii_only]} lines above", file=out)
    return 1 if failed else 0


def from_environment(env=os.environ, local_defaults: Config | None = None) -> smoke_alerts.Secrets:
    """Return the secrets as the environment has them; with local_defaults (a stack on this machine), what
    ./deploy.sh local sets where the environment does not (shared/local/samples.py, as ./deploy.sh alert)."""
    if local_defaults is not None:
        return smoke_alerts.Secrets(**{k: env.get(name) or setting(name, local_defaults)
                                       for k, name in SECRET_NAMES.items()})
    return smoke_alerts.Secrets(**{k: env.get(name, "") for k, name in SECRET_NAMES.items()})


def from_secret_manager(gcloud: Gcloud, project: str) -> smoke_alerts.Secrets:
    def value(name: str) -> str:
        lines = gcloud.value(["gcloud", "secrets", "versions", "access", "latest", f"--secret={name}",
                              f"--project={project}"])
        return lines[0] if lines else ""
    return smoke_alerts.Secrets(**{k: value(name) for k, name in SECRET_NAMES.items()})


def main(project: str | None, region: str | None, url: str | None, out: TextIO | None = None,
         gcloud: Callable[[str], Gcloud] = Gcloud, make_scheduler: Callable | None = None) -> int:
    """Run the smoke test against --url, or against the project's functions; return the exit status."""
    out = out or sys.stdout
    team_file = Path(os.environ.get("INCIDENT_CONFIG") or DEFAULT_CONFIG)
    cfg = load_config(team_file)
    try:
        ascii_only = not "✓✗–".encode(getattr(out, "encoding", None) or "utf-8")
    except UnicodeEncodeError:
        ascii_only = True
    if url:
        local = Stack(url, from_environment(), cfg).local
        return run(Stack(url, from_environment(local_defaults=cfg if local else None), cfg), out, ascii_only)
    t = build(cfg, team_file, project, region, discover(), None)
    if not t.project:
        print("deploy.sh gcp smoke: no project: give --project PROJECT_ID, or --url BASE", file=out)
        return 1
    cloud = gcloud(t.project)
    stack = Stack(functions_url(t.project, t.region), from_secret_manager(cloud, t.pid), cfg, t.pid, cloud,
                  make_scheduler or (lambda: scheduler_client(cloud)),
                  {j.name: job_name(t, j) for j in cron_table(cfg)})
    return run(stack, out, ascii_only)
