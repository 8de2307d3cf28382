"""`plan` and `apply`: the checks before anything changes, then each step in order.

plan reads (when it can) and prints; it never changes anything and exits 0 even without credentials,
ending with what apply would still need. apply refuses early, before any change, when gcloud is missing,
nobody is logged in, no project is named, an API is disabled or a required secret does not exist; then it
makes each step right and says which were already right (a second apply changes nothing).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from deploy import firestore, scheduler, stage, steps
from deploy.gcloud import DeployError, Gcloud
from deploy.target import ACCESS, REQUIRED_SECRETS, ROOT, SCHEDULER_SA, Target, build, discover, secret_names
from shared.config import DEFAULT_CONFIG, load_config
from shared.config.schedule import jobs as cron_table

APIS = ("cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com",
        "artifactregistry.googleapis.com", "firestore.googleapis.com", "cloudscheduler.googleapis.com",
        "secretmanager.googleapis.com", "iam.googleapis.com")
PUBLIC_PATHS = {  # where each public function is pasted, for the closing lines
    "ingest": ("Sentry webhook URL: {url}/sentry   UptimeRobot webhook: {url}/uptimerobot?token=<INGEST_TOKEN>   "
               "health (UptimeRobot keyword monitor): {url}/health"),
    "interactions": "Discord developer portal, Interactions Endpoint URL: {url}/",
    "api": "API: {url}/incidents (Authorization: Bearer <API_TOKEN>)",
    "status": "Public status page: {url}/",
    "console": "Web console: {url}/",
}


@dataclass
class Context:
    """What the steps read and change through."""
    target: Target
    gcloud: Gcloud
    connected: bool
    make_scheduler: Callable[[], object]
    _functions: dict = field(default_factory=dict)
    _scheduler: object = None

    @property
    def scheduler(self):
        if self._scheduler is None:
            self._scheduler = self.make_scheduler()
        return self._scheduler

    def describe_function(self, name: str):
        if not self.connected:
            return None
        if name not in self._functions:
            self._functions[name] = self.gcloud.read(["gcloud", "functions", "describe", name, "--gen2",
                                                      f"--region={self.target.region}",
                                                      f"--project={self.target.pid}"])
        return self._functions[name]

    def forget(self) -> None:
        self._functions.clear()

    def function_uri(self, name: str) -> str | None:
        """Return the function's own URL (its Cloud Run service's), None until it is deployed."""
        described = self.describe_function(name) or {}
        return (described.get("serviceConfig") or {}).get("uri") or None

    def public_url(self, name: str) -> str | None:
        described = self.describe_function(name) or {}
        return described.get("url") or (described.get("serviceConfig") or {}).get("uri") or None


def scheduler_client(gcloud: Gcloud):
    """Return a Cloud Scheduler client that uses gcloud's login (no separate application-default login)."""
    from google.cloud import scheduler_v1
    from google.oauth2.credentials import Credentials

    token = gcloud.value(["gcloud", "auth", "print-access-token"])
    if not token:
        raise DeployError("gcloud could not give an access token: run `gcloud auth login`")
    return scheduler_v1.CloudSchedulerClient(credentials=Credentials(token[0]))


@dataclass
class Facts:
    """What the checks before any change found."""
    installed: bool
    account: str | None = None
    enabled_apis: set[str] | None = None     # None: not known (no login or no project)
    secrets: set[str] | None = None


def gather(gcloud: Gcloud, project: str) -> Facts:
    """Ask gcloud who is logged in, which APIs are on and which secrets exist (read only)."""
    facts = Facts(installed=gcloud.installed)
    if not facts.installed:
        return facts
    accounts = gcloud.value(["gcloud", "auth", "list", "--filter=status:ACTIVE", "--format=value(account)"])
    facts.account = accounts[0] if accounts else None
    if facts.account and project:
        facts.enabled_apis = set(gcloud.value(["gcloud", "services", "list", "--enabled", f"--project={project}",
                                               "--format=value(config.name)"]))
        if "secretmanager.googleapis.com" in facts.enabled_apis:
            facts.secrets = {n.rsplit("/", 1)[-1] for n in gcloud.value(
                ["gcloud", "secrets", "list", f"--project={project}", "--format=value(name)"])}
    return facts


def blockers(t: Target, facts: Facts, index_problems: list[str], jobs: list) -> list[str]:
    """Return what stops apply, each with what to do about it."""
    out = list(t.problems) + index_problems
    if not facts.installed:
        out.append("gcloud is not installed: https://cloud.google.com/sdk/docs/install")
    elif not facts.account:
        out.append("nobody is logged in to gcloud: run `gcloud auth login`")
    if not t.project:
        out.append("no project: give --project PROJECT_ID or set deploy.project in the team file")
    if facts.enabled_apis is not None:
        missing = [a for a in APIS if a not in facts.enabled_apis]
        if missing:
            out.append(f"APIs disabled in {t.project}: run `gcloud services enable {' '.join(missing)} "
                       f"--project={t.project}`")
    if facts.secrets is not None:
        for name in REQUIRED_SECRETS:
            if name not in facts.secrets:
                out.append(f"secret {name} does not exist: run `printf %s \"$VALUE\" | gcloud secrets create {name} "
                           f"--data-file=- --project={t.project}`")
    elif facts.account and t.project:
        out.append("cannot list secrets (enable secretmanager.googleapis.com first)")
    if len(jobs) > scheduler.FREE_JOBS:
        out.append(f"shared/config/schedule.py has {len(jobs)} jobs; Cloud Scheduler's free tier is "
                   f"{scheduler.FREE_JOBS}")
    return out


def build_steps(t: Target, staged: dict[str, tuple[Path, str]], jobs: list) -> list[steps.Step]:
    spec = firestore.load()
    out = [*steps.identities(t), steps.firestore_database(t), *firestore.steps(t, spec)]
    for f in t.functions:
        folder, sha = staged[f.name]
        out += [steps.function(t, f, folder, sha), steps.invoker_policy(t, f)]
    out += [scheduler.step(t, job) for job in jobs]
    return out


def main(mode: str, project: str | None, region: str | None, out: TextIO = sys.stdout,
         stage_dir: Path | None = None, names: list[str] | None = None, gcloud: Callable[[str], Gcloud] = Gcloud,
         make_scheduler: Callable[[], object] | None = None, root: Path = ROOT) -> int:
    """Run `plan` or `apply`; return the exit status."""
    team_file = Path(os.environ.get("INCIDENT_CONFIG") or DEFAULT_CONFIG)
    cfg = load_config(team_file)
    project = project or cfg.deploy.project
    gcloud = gcloud(project)
    facts = gather(gcloud, project)
    names = names if names is not None else discover(root)
    t = build(cfg, team_file, project, region, names, facts.secrets)
    present = set(names)
    jobs = [j for j in cron_table(cfg) if j.function in present]
    problems = blockers(t, facts, firestore.problems(firestore.load()), jobs)
    # read the project only where every API answers (a plan reads even when apply would refuse, say a secret)
    connected = bool(facts.account and t.project and facts.enabled_apis is not None
                     and all(a in facts.enabled_apis for a in APIS))
    print_header(t, facts, team_file, out)
    stage_dir = stage_dir or root / ".local" / "deploy"
    staged = {}
    for f in t.functions:
        folder = stage.stage(f.name, team_file, stage_dir, root)
        staged[f.name] = (folder, stage.digest(folder))
    plan = build_steps(t, staged, jobs)
    ctx = Context(t, gcloud, connected, make_scheduler or (lambda: scheduler_client(gcloud)))
    if mode == "plan":
        unchecked = [] if facts.secrets is not None else [
            f"the required secrets {', '.join(REQUIRED_SECRETS)} in Secret Manager (not checked: "
            "secrets are listed once gcloud is logged in and a project is named)"]
        return show_plan(plan, ctx, problems + unchecked, out)
    if problems:
        print("\napply refused before changing anything:", file=out)
        for p in problems:
            print(f"  - {p}", file=out)
        return 1
    return apply(plan, ctx, out)


def print_header(t: Target, facts: Facts, team_file: Path, out: TextIO) -> None:
    print(f"project  {t.project or '(not set)'}   region {t.region}   team file {_short(team_file)}", file=out)
    print(f"account  {facts.account or '(not logged in)' if facts.installed else '(gcloud is not installed)'}",
          file=out)
    print("functions (every folder in functions/):", file=out)
    for f in t.functions:
        note = "" if f.known else "   <- not in deploy/target.py ACCESS: deployed private until classified there"
        warm = f"   kept warm: {f.min_instances} (deploy.min_instances, billed while idle)" if f.min_instances else ""
        print(f"  {f.name:<14} {f.access:<10} secrets: {len(f.secrets)}{warm}{note}", file=out)
    print("secrets (Secret Manager, given with --set-secrets; none on the command line):", file=out)
    for name in secret_names():
        kind = "required" if name in REQUIRED_SECRETS else "optional"
        state = "unknown" if facts.secrets is None else ("exists" if name in facts.secrets else "missing")
        print(f"  {name:<28} {kind:<9} {state}", file=out)
    print("settings (--set-env-vars): " + ", ".join(f"{k}={v}" for k, v in t.env.items()), file=out)


def _short(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def show_plan(plan: list[steps.Step], ctx: Context, problems: list[str], out: TextIO) -> int:
    how = "compared with the project" if ctx.connected else "nothing read: every step as for an empty project"
    print(f"\nplan ({how}):", file=out)
    count = 0
    for step in plan:
        changes = step.needed(step.read(ctx) if ctx.connected else None)
        count += len(changes)
        print(f"{'+' if changes else '='} {step.title}{'' if changes else ': already right'}", file=out)
        for change in changes:
            print(f"    {change.text}", file=out)
    if problems:
        print("\napply would still need:", file=out)
        for p in problems:
            print(f"  - {p}", file=out)
    elif count:
        print(f"\napply would make {count} changes.", file=out)
    else:
        print("\nnothing to change: everything is already right.", file=out)
    return 0


def apply(plan: list[steps.Step], ctx: Context, out: TextIO) -> int:
    made = 0
    for step in plan:
        changes = step.needed(step.read(ctx))
        if not changes:
            print(f"= {step.title}: already right", file=out, flush=True)
            continue
        print(f"+ {step.title}", file=out, flush=True)
        for change in changes:
            print(f"    {change.text}", file=out, flush=True)
            if change.argv:
                ctx.gcloud.run(list(change.argv))
            else:
                change.call(ctx)
            made += 1
        ctx.forget()  # a deployed function has a URL now; read it again
    # Indexes are created --async, and build while the functions deploy; queries that need one fail until it is
    # READY, so apply waits for them (bounded). Past the bound it says which and exits 0: the rest is done, and
    # Firestore finishes them without another apply.
    firestore.wait_for_indexes(ctx, ctx.target, firestore.load(), out)
    print(f"\napply: {made} changes made." if made else "\napply: nothing to change; everything was already right.",
          file=out)
    print_urls(ctx, out)
    return 0


def print_urls(ctx: Context, out: TextIO) -> None:
    print("\npaste these:", file=out)
    for f in ctx.target.functions:
        url = ctx.public_url(f.name)
        if url and f.name in PUBLIC_PATHS and ACCESS.get(f.name):
            print("  " + PUBLIC_PATHS[f.name].format(url=url.rstrip("/")), file=out)
    print(f"  Scheduler calls escalate and daily_summary as {SCHEDULER_SA} (OIDC); nobody else can.", file=out)
