"""Each thing apply makes right: read what is there (read only), say what would change, change it.

A step is (title, read, needed): `read` asks Google Cloud for the current state (None when it does not
exist), `needed(current)` returns the changes still needed ([] when it is already right). A plan without
credentials shows needed(None): everything, as for an empty project.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy import target as tg
from deploy.gcloud import shown
from deploy.target import Function, Target

SOURCE_LABEL = "source-sha"   # the staged folder's hash, so a second apply knows the code is already deployed
# Set by Cloud Functions itself on every 2nd gen function: not ours to compare.
PLATFORM_ENV = frozenset({"LOG_EXECUTION_ID"})


@dataclass(frozen=True)
class Change:
    text: str                                  # as shown in the plan and the apply's log
    argv: tuple[str, ...] | None = None        # a gcloud command ...
    call: Callable[[Any], Any] | None = None   # ... or a client call, given the context


def command(*argv: str) -> Change:
    return Change(shown(list(argv)), argv=tuple(argv))


@dataclass
class Step:
    title: str
    read: Callable[[Any], Any]                 # (context) -> current state, None when absent
    needed: Callable[[Any], list[Change]]      # (current) -> changes still needed


def _bound(policy: dict | None, role: str) -> set[str]:
    """Return the members that hold `role` without a condition in an IAM policy."""
    members: set[str] = set()
    for binding in (policy or {}).get("bindings") or []:
        if binding.get("role") == role and not binding.get("condition"):
            members.update(binding.get("members") or [])
    return members


def service_account(t: Target, account_id: str, purpose: str) -> Step:
    email = f"{account_id}@{t.pid}.iam.gserviceaccount.com"
    return Step(f"service account {account_id} ({purpose})",
                lambda ctx: ctx.gcloud.read(["gcloud", "iam", "service-accounts", "describe", email,
                                             f"--project={t.pid}"]),
                lambda current: [] if current else [command(
                    "gcloud", "iam", "service-accounts", "create", account_id, f"--display-name={purpose}",
                    f"--project={t.pid}")])


def project_role(t: Target, member: str, role: str) -> Step:
    return Step(f"{role} for {member.split(':', 1)[1]} (project)",
                lambda ctx: ctx.gcloud.read(["gcloud", "projects", "get-iam-policy", t.pid]),
                lambda current: [] if member in _bound(current, role) else [command(
                    "gcloud", "projects", "add-iam-policy-binding", t.pid, f"--member={member}",
                    f"--role={role}", "--condition=None")])


def secret_access(t: Target, secret: str, member: str) -> Step:
    role = "roles/secretmanager.secretAccessor"
    return Step(f"secret {secret}: readable by {tg.RUNTIME_SA}",
                lambda ctx: ctx.gcloud.read(["gcloud", "secrets", "get-iam-policy", secret, f"--project={t.pid}"]),
                lambda current: [] if member in _bound(current, role) else [command(
                    "gcloud", "secrets", "add-iam-policy-binding", secret, f"--member={member}", f"--role={role}",
                    f"--project={t.pid}")])


def firestore_database(t: Target) -> Step:
    return Step(f"Firestore database (default) in {t.region}",
                lambda ctx: ctx.gcloud.read(["gcloud", "firestore", "databases", "describe", "--database=(default)",
                                             f"--project={t.pid}"]),
                lambda current: [] if current else [command(
                    "gcloud", "firestore", "databases", "create", "--database=(default)", f"--location={t.region}",
                    "--type=firestore-native", f"--project={t.pid}")])


def _pairs(env: dict[str, str]) -> str:
    """Return KEY=VALUE pairs for gcloud; a value with a comma switches the separator (gcloud topic escaping)."""
    if any("," in v for v in env.values()):
        return "^|^" + "|".join(f"{k}={v}" for k, v in env.items())
    return ",".join(f"{k}={v}" for k, v in env.items())


def deploy_command(t: Target, f: Function, folder: Path, sha: str) -> list[str]:
    argv = ["gcloud", "functions", "deploy", f.name, "--gen2", f"--region={t.region}", f"--runtime={tg.RUNTIME}",
            f"--source={folder}", f"--entry-point={f.name}", "--trigger-http",
            "--allow-unauthenticated" if f.access == tg.PUBLIC else "--no-allow-unauthenticated",
            f"--service-account={t.runtime_sa}", f"--memory={tg.MEMORY}", f"--timeout={tg.TIMEOUT_SECONDS}s",
            f"--min-instances={f.min_instances}", f"--max-instances={tg.MAX_INSTANCES}",
            f"--update-labels={SOURCE_LABEL}={sha}",
            "--set-env-vars=" + _pairs(t.env)]
    if f.secrets:
        argv.append("--set-secrets=" + ",".join(f"{s}={s}:latest" for s in f.secrets))
    else:
        argv.append("--clear-secrets")
    argv.append(f"--project={t.pid}")
    return argv


def function_is_right(t: Target, f: Function, sha: str, current: dict | None) -> bool:
    """Tell whether the deployed function is this source with these settings."""
    if not current or current.get("state") != "ACTIVE":
        return False
    build, service = current.get("buildConfig") or {}, current.get("serviceConfig") or {}
    env = {k: v for k, v in (service.get("environmentVariables") or {}).items() if k not in PLATFORM_ENV}
    secrets = {s.get("key"): (s.get("secret"), s.get("version")) for s in service.get("secretEnvironmentVariables")
               or []}
    return ((current.get("labels") or {}).get(SOURCE_LABEL) == sha and build.get("runtime") == tg.RUNTIME
            and build.get("entryPoint") == f.name and env == t.env
            and secrets == {s: (s, "latest") for s in f.secrets}
            and service.get("serviceAccountEmail") == t.runtime_sa and service.get("availableMemory") == tg.MEMORY
            and int(service.get("timeoutSeconds") or 0) == tg.TIMEOUT_SECONDS
            and int(service.get("maxInstanceCount") or 0) == tg.MAX_INSTANCES
            and int(service.get("minInstanceCount") or 0) == f.min_instances)  # absent when 0


def function(t: Target, f: Function, folder: Path, sha: str) -> Step:
    return Step(f"function {f.name} ({f.access}{'' if f.known else ', not classified in deploy/target.py'})",
                lambda ctx: ctx.describe_function(f.name),
                lambda current: [] if function_is_right(t, f, sha, current) else [
                    command(*deploy_command(t, f, folder, sha))])


def invokers(t: Target, f: Function) -> set[str]:
    return {tg.PUBLIC: {"allUsers"}, tg.SCHEDULER: {f"serviceAccount:{t.scheduler_sa}"}, tg.PRIVATE: set()}[f.access]


def invoker_policy(t: Target, f: Function) -> Step:
    """Exactly the callers the access table names hold roles/run.invoker on the function's service."""
    wanted = invokers(t, f)
    where = [f"--region={t.region}", f"--project={t.pid}"]

    def needed(current) -> list[Change]:
        have = _bound(current, "roles/run.invoker")
        return ([command("gcloud", "functions", "add-invoker-policy-binding", f.name, f"--member={m}", *where)
                 for m in sorted(wanted - have)] +
                [command("gcloud", "functions", "remove-invoker-policy-binding", f.name, f"--member={m}", *where)
                 for m in sorted(have - wanted)])

    return Step(f"who may call {f.name}: {', '.join(sorted(wanted)) or 'nobody (IAM only)'}",
                lambda ctx: ctx.gcloud.read(["gcloud", "run", "services", "get-iam-policy", tg.service_name(f.name),
                                             *where]),
                needed)


def identities(t: Target) -> list[Step]:
    """The two service accounts and what they may do (least privilege: the scheduler's is per function)."""
    runtime = f"serviceAccount:{t.runtime_sa}"
    steps = [service_account(t, tg.RUNTIME_SA, "incident response functions"),
             service_account(t, tg.SCHEDULER_SA, "Cloud Scheduler calls the sweep and the daily report"),
             project_role(t, runtime, "roles/datastore.user")]
    secrets = sorted({s for f in t.functions for s in f.secrets})
    steps += [secret_access(t, s, runtime) for s in secrets]
    return steps
