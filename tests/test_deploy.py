"""./deploy.sh gcp plan|apply against a fake gcloud (answers from recorded state) and a fake Cloud Scheduler.

No network and no credentials: the plan for a sample team file is a golden file; apply against an empty
project makes everything, and a second apply against the state the first left changes nothing and says so.
The fake answers in this process through Gcloud's runner; one test runs it as the `gcloud` executable on PATH,
as deploy.sh does.
"""
from __future__ import annotations

import io
import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import scheduler_v1

from deploy import firestore, run, target
from deploy.gcloud import Gcloud
from tests.fakes import gcloud as gcloud_fake
from tests.fakes.scheduler import FakeScheduler
from tests.golden_files import golden

ROOT = Path(__file__).resolve().parents[1]
TEAM = ROOT / "tests" / "fixtures" / "deploy" / "team.yaml"
GOLDEN = ROOT / "tests" / "golden" / "deploy"
FUNCTIONS = target.discover()   # the repository's own functions: the plan's golden file lists each
PROJECT = "petties-incidents"
READS = ("describe", "list", "get-iam-policy", "print-access-token")


class Cloud:
    """The fake gcloud (on PATH, and in process), its state file and its call log."""

    def __init__(self, tmp: Path):
        self.bin, self.state_file, self.log_file = tmp / "bin", tmp / "state.json", tmp / "gcloud.log"
        self.bin.mkdir()
        exe = self.bin / "gcloud"
        exe.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m tests.fakes.gcloud \"$@\"\n")
        exe.chmod(0o755)
        self.state = {}
        self.log_file.write_text("")

    @property
    def state(self) -> dict:
        return json.loads(self.state_file.read_text())

    @state.setter
    def state(self, value: dict) -> None:
        self.state_file.write_text(json.dumps(value))

    def gcloud(self, project: str) -> Gcloud:
        """The deploy's gcloud for `project`, answered by the fake in this process."""
        return Gcloud(project, runner=gcloud_fake.in_process(str(self.state_file), str(self.log_file)))

    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log_file.read_text().splitlines()]

    def changes(self) -> list[list[str]]:
        """Return the calls that change something (anything that is not a read)."""
        return [c for c in self.calls() if not any(word in c for word in READS)]


@pytest.fixture
def cloud(tmp_path, monkeypatch):
    c = Cloud(tmp_path)
    monkeypatch.setenv("PATH", f"{c.bin}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_GCLOUD_STATE", str(c.state_file))
    monkeypatch.setenv("FAKE_GCLOUD_LOG", str(c.log_file))
    monkeypatch.setenv("INCIDENT_CONFIG", str(TEAM))
    monkeypatch.setattr(Cloud, "current", c, raising=False)
    return c


@pytest.fixture
def fake_scheduler():
    with FakeScheduler() as fake:
        yield fake


def ready_project(secrets=("SENTRY_CLIENT_SECRET", "INGEST_TOKEN", "API_TOKEN", "DISCORD_WEBHOOK_URL")) -> dict:
    """A logged-in account, every API on, and these secrets created (nothing else yet)."""
    return {"account": "dev-a@petties.world", "apis": list(run.APIS), "secrets": {s: {"bindings": []}
                                                                                   for s in secrets}}


def deploy(mode: str, tmp_path: Path, scheduler=None, cli: bool = False, **kwargs) -> tuple[int, str]:
    """Run plan or apply as ./deploy.sh gcp does; return (exit status, what it printed). With the `cloud`
    fixture the fake answers in process, or as the gcloud executable on PATH with cli=True."""
    cloud = getattr(Cloud, "current", None)
    if cloud is not None and not cli:
        kwargs["gcloud"] = cloud.gcloud
    out = io.StringIO()
    make = None
    if scheduler is not None:
        make = lambda: scheduler_v1.CloudSchedulerClient(credentials=AnonymousCredentials(), transport="rest",
                                                         client_options={"api_endpoint": scheduler.base_url})
    status = run.main(mode, kwargs.pop("project", None), kwargs.pop("region", None), out=out,
                      stage_dir=tmp_path / "stage", names=kwargs.pop("names", FUNCTIONS), make_scheduler=make,
                      **kwargs)
    return status, out.getvalue()


def normalised(text: str, tmp_path: Path) -> str:
    """Return the plan with what changes between runs (the stage folder, the source hashes) made stable."""
    text = text.replace(str(tmp_path / "stage"), "<stage>")
    return re.sub(r"source-sha=[0-9a-f]{16}", "source-sha=<hash>", text)


def test_plan_without_credentials_matches_the_golden_file_and_exits_0(cloud, tmp_path):
    # Given a machine where gcloud is installed but nobody is logged in
    # When the plan runs for the sample team file, calling gcloud as deploy.sh does
    status, text = deploy("plan", tmp_path, cli=True)
    # Then it exits 0, lists every action, and ends with what apply still needs
    assert status == 0
    assert normalised(text, tmp_path) == golden(GOLDEN / "plan_no_credentials.txt", normalised(text, tmp_path))
    assert cloud.changes() == []


def test_plan_without_gcloud_says_so_and_exits_0(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))   # no gcloud anywhere
    monkeypatch.setenv("INCIDENT_CONFIG", str(TEAM))
    status, text = deploy("plan", tmp_path)
    assert status == 0
    closing = text.split("apply would still need:\n")[1].splitlines()
    assert closing[0] == "  - gcloud is not installed: https://cloud.google.com/sdk/docs/install"
    assert closing[1].startswith("  - the required secrets SENTRY_CLIENT_SECRET, INGEST_TOKEN, API_TOKEN")


def test_apply_without_login_refuses_before_reading_or_changing_anything(cloud, tmp_path):
    status, text = deploy("apply", tmp_path)
    assert status == 1
    assert "nobody is logged in to gcloud: run `gcloud auth login`" in text
    assert cloud.changes() == []


def test_apply_refuses_early_when_an_api_is_off_or_a_required_secret_is_missing(cloud, tmp_path):
    state = ready_project(secrets=("SENTRY_CLIENT_SECRET",))
    state["apis"].remove("cloudscheduler.googleapis.com")
    cloud.state = state
    status, text = deploy("apply", tmp_path)
    assert status == 1
    assert "gcloud services enable cloudscheduler.googleapis.com --project=petties-incidents" in text
    assert "secret INGEST_TOKEN does not exist" in text and "secret API_TOKEN does not exist" in text
    assert "secret SENTRY_CLIENT_SECRET does not exist" not in text
    assert cloud.changes() == []


def test_flags_win_over_the_team_file(cloud, tmp_path):
    status, text = deploy("plan", tmp_path, project="other-project", region="europe-west1")
    assert status == 0
    assert "project  other-project   region europe-west1" in text
    assert "--region=europe-west1" in text and "petties-incidents" not in text


@pytest.mark.slow  # a fake gcloud process per call
def test_apply_makes_everything_then_a_second_apply_changes_nothing(cloud, tmp_path, fake_scheduler):
    cloud.state = ready_project()
    # When apply runs against an empty project
    status, first = deploy("apply", tmp_path, scheduler=fake_scheduler)
    assert status == 0, first
    state = cloud.state
    # Then every function is deployed with its entry point, only the secrets that exist, and the team file
    assert sorted(state["functions"]) == FUNCTIONS
    ingest = state["functions"]["ingest"]
    assert ingest["buildConfig"] == {"runtime": target.RUNTIME, "entryPoint": "ingest"}
    assert {s["key"] for s in ingest["serviceConfig"]["secretEnvironmentVariables"]} == {
        "SENTRY_CLIENT_SECRET", "INGEST_TOKEN", "API_TOKEN", "DISCORD_WEBHOOK_URL"}
    assert state["functions"]["status"]["serviceConfig"]["secretEnvironmentVariables"] == []
    # and none is kept warm (the team file does not ask): an idle month costs nothing
    assert not any(f["serviceConfig"].get("minInstanceCount") for f in state["functions"].values())
    assert ingest["serviceConfig"]["environmentVariables"] == {
        "GOOGLE_CLOUD_PROJECT": PROJECT, "INCIDENT_CONFIG": "team.yaml",
        "PUBLIC_URL": f"https://asia-southeast1-{PROJECT}.cloudfunctions.net", "DISCORD_ALERTS_CHANNEL_ID":
        "111111111111111111", "EMAIL_FROM": "incidents@petties.world", "GITHUB_REPO": "petties/backend",
        "LOG_EXECUTION_ID": "true"}
    # and the public ones are open to all, the scheduled ones only to the scheduler's service account
    invokers = {s: set(p["bindings"][0]["members"]) if p["bindings"] else set()
                for s, p in state["run_policies"].items()}
    scheduler_sa = f"serviceAccount:incidents-scheduler@{PROJECT}.iam.gserviceaccount.com"
    assert invokers == {"api": {"allUsers"}, "ingest": {"allUsers"}, "interactions": {"allUsers"},
                        "console": {"allUsers"}, "status": {"allUsers"}, "escalate": {scheduler_sa},
                        "daily-summary": {scheduler_sa}}
    # and the runtime account reads Firestore and the secrets that exist, nothing more
    runtime_sa = f"serviceAccount:incidents-runtime@{PROJECT}.iam.gserviceaccount.com"
    assert state["project_policy"]["bindings"] == [{"role": "roles/datastore.user", "members": [runtime_sa]}]
    assert all(p["bindings"][0]["members"] == [runtime_sa] for p in state["secrets"].values())
    # and the index file's composite index and TTL policies exist
    wanted = json.loads((ROOT / "shared" / "firestore.indexes.json").read_text())["indexes"]
    assert sorted([f["fieldPath"] for f in i["fields"]] for i in state["indexes"]) == sorted(
        [f["fieldPath"] for f in i["fields"]] + ["__name__"] for i in wanted)
    assert state["fields"]["claims/expire_at"] == {"indexConfig": {}, "ttlConfig": {"state": "CREATING"}}
    # and the two Scheduler jobs call their functions' URLs
    assert sorted(fake_scheduler.jobs) == [f"projects/{PROJECT}/locations/asia-southeast1/jobs/daily-summary",
                                           f"projects/{PROJECT}/locations/asia-southeast1/jobs/escalate-every-minute"]
    assert "apply: " in first and "changes made" in first
    assert "Sentry webhook URL: https://asia-southeast1-petties-incidents.cloudfunctions.net/ingest/sentry" in first

    # When apply runs again against the state the first left
    calls_before, requests_before = len(cloud.calls()), len(fake_scheduler.requests)
    status, second = deploy("apply", tmp_path, scheduler=fake_scheduler)
    # Then nothing changes, and it says so
    assert status == 0, second
    assert cloud.calls()[calls_before:] and all(any(w in c for w in READS) for c in cloud.calls()[calls_before:])
    assert {r["method"] for r in fake_scheduler.requests[requests_before:]} == {"GET"}
    assert "apply: nothing to change; everything was already right." in second
    assert "+ " not in second.split("\n\napply:")[0]
    # and a plan now compares with the project and agrees
    status, plan = deploy("plan", tmp_path, scheduler=fake_scheduler)
    assert status == 0 and "nothing to change: everything is already right." in plan


@pytest.mark.slow  # a fake gcloud process per call
def test_apply_puts_right_only_what_drifted(cloud, tmp_path, fake_scheduler):
    cloud.state = ready_project()
    assert deploy("apply", tmp_path, scheduler=fake_scheduler)[0] == 0
    # Given someone made the sweep public, edited the daily job's time, turned an index exemption off and kept
    # ingest warm by hand (billed while idle; the team file does not ask for it)
    state = cloud.state
    state["run_policies"]["escalate"]["bindings"][0]["members"].append("allUsers")
    state["functions"]["ingest"]["serviceConfig"]["minInstanceCount"] = 1
    state["fields"]["incidents/timeline"] = {"indexConfig": {"usesAncestorConfig": True, "indexes": []}}
    cloud.state = state
    name = f"projects/{PROJECT}/locations/asia-southeast1/jobs/daily-summary"
    fake_scheduler.jobs[name]["schedule"] = "0 10 * * *"
    before = len(cloud.calls())
    # When apply runs again
    status, text = deploy("apply", tmp_path, scheduler=fake_scheduler)
    # Then exactly those four are put right
    assert status == 0, text
    changed = [c[:3] for c in cloud.calls()[before:] if not any(w in c for w in READS)]
    assert changed == [["firestore", "indexes", "fields"], ["functions", "remove-invoker-policy-binding", "escalate"],
                       ["functions", "deploy", "ingest"]]
    assert fake_scheduler.updates == 1 and fake_scheduler.jobs[name]["schedule"] == "0 9 * * *"
    assert "minInstanceCount" not in cloud.state["functions"]["ingest"]["serviceConfig"]
    assert "apply: 4 changes made." in text


@pytest.mark.slow  # a fake gcloud process per call
def test_a_changed_source_is_deployed_again(cloud, tmp_path, fake_scheduler, monkeypatch):
    cloud.state = ready_project()
    assert deploy("apply", tmp_path, scheduler=fake_scheduler)[0] == 0
    before = len(cloud.calls())
    monkeypatch.setattr("deploy.stage.GCLOUDIGNORE", "__pycache__/\n*.pyc\n# changed\n")  # every folder changes
    status, text = deploy("apply", tmp_path, scheduler=fake_scheduler)
    assert status == 0
    deployed = [c[2] for c in cloud.calls()[before:] if c[:2] == ["functions", "deploy"]]
    assert deployed == FUNCTIONS


def test_every_function_folder_is_found_and_an_unknown_one_is_private(tmp_path):
    # Given the repository's functions and a new folder nobody classified
    assert {"api", "console", "daily_summary", "escalate", "ingest", "interactions", "status"} <= set(FUNCTIONS)
    (tmp_path / "functions" / "reports").mkdir(parents=True)
    (tmp_path / "functions" / "reports" / "main.py").write_text("")
    (tmp_path / "functions" / "notes").mkdir()   # no main.py: not a function
    assert target.discover(tmp_path) == ["reports"]
    # When the target is built
    from shared.config import load_config
    t = target.build(load_config(TEAM), TEAM, None, None, ["console", "reports"], None)
    # Then console is public, and the unknown function is private with nobody allowed to call it
    from deploy import steps
    console, reports = t.functions
    assert (console.access, console.known) == ("public", True)
    assert (reports.access, reports.known) == ("private", False)
    assert steps.invokers(t, reports) == set()


def test_the_team_files_deploy_env_refuses_secrets_and_unknown_settings():
    from shared.config import load_config
    cfg = load_config(TEAM)
    cfg = replace(cfg, deploy=replace(cfg.deploy, env={
        "API_TOKEN": "x", "GITHUB_REPOS": "a/b", "GOOGLE_CLOUD_PROJECT": "p", "LOG_LEVEL": "WARNING"}))
    t = target.build(cfg, TEAM, None, None, ["ingest"], None)
    assert t.env == {"GOOGLE_CLOUD_PROJECT": PROJECT, "INCIDENT_CONFIG": "team.yaml",
                     "PUBLIC_URL": f"https://asia-southeast1-{PROJECT}.cloudfunctions.net", "LOG_LEVEL": "WARNING"}
    assert t.problems == (
        "deploy.env.API_TOKEN: a secret: create it in Secret Manager instead of the team file",
        "deploy.env.GITHUB_REPOS: not a setting the functions read",
        "deploy.env.GOOGLE_CLOUD_PROJECT: set by the deploy itself; remove it")


def test_public_url_is_where_the_functions_are_served_unless_the_team_file_names_its_own():
    from shared.config import load_config
    cfg = load_config(TEAM)
    t = target.build(cfg, TEAM, "other-project", "europe-west1", ["status"], None)
    assert t.env["PUBLIC_URL"] == "https://europe-west1-other-project.cloudfunctions.net"
    own = replace(cfg, deploy=replace(cfg.deploy, env={"PUBLIC_URL": "https://incidents.petties.world"}))
    t = target.build(own, TEAM, None, None, ["status"], None)
    assert t.env["PUBLIC_URL"] == "https://incidents.petties.world" and not t.problems


def test_every_secret_setting_is_deployed_from_secret_manager():
    from shared.config.settings import variables
    names = set(target.secret_names())
    secret_fields = {name for name, f in variables().items() if "Secret" in str(f.type)}
    assert secret_fields <= names and "PAGERDUTY_ROUTING_KEYS" in names
    assert not names & set(target.plain_settings())


def test_a_setting_with_a_comma_reaches_the_function_whole(cloud, tmp_path, fake_scheduler, monkeypatch):
    team = tmp_path / "team.yaml"
    team.write_text(TEAM.read_text().replace("EMAIL_FROM: incidents@petties.world",
                                             'EMAIL_FROM: "Petties incidents <incidents@petties.world>, ops"'))
    monkeypatch.setenv("INCIDENT_CONFIG", str(team))
    cloud.state = ready_project()
    status, text = deploy("apply", tmp_path, scheduler=fake_scheduler, names=["status"])
    assert status == 0, text
    env = cloud.state["functions"]["status"]["serviceConfig"]["environmentVariables"]
    assert env["EMAIL_FROM"] == "Petties incidents <incidents@petties.world>, ops"
    assert env["GITHUB_REPO"] == "petties/backend"


def _deploy_lines(text: str) -> dict[str, str]:
    """Return each function's `gcloud functions deploy` line in a plan."""
    return {line.split()[3]: line for line in text.splitlines() if line.strip().startswith("gcloud functions deploy")}


def test_no_function_is_kept_warm_unless_the_team_file_asks(cloud, tmp_path, monkeypatch, fake_scheduler):
    # Given the sample team file, which does not ask: every function may scale to zero
    status, text = deploy("plan", tmp_path)
    assert status == 0
    assert {name: "--min-instances=0" in line for name, line in _deploy_lines(text).items()} == {
        name: True for name in FUNCTIONS}
    assert "kept warm" not in text
    # When the team file asks to keep ingest and interactions warm
    team = tmp_path / "team.yaml"
    team.write_text(TEAM.read_text().replace("  env:\n", "  min_instances: {ingest: 1, interactions: 1}\n  env:\n", 1))
    monkeypatch.setenv("INCIDENT_CONFIG", str(team))
    status, text = deploy("plan", tmp_path)
    # Then exactly those two get one instance, and the plan says what that costs
    assert status == 0
    warm = {name for name, line in _deploy_lines(text).items() if "--min-instances=1" in line}
    assert warm == {"ingest", "interactions"}
    assert all("--min-instances=0" in line for name, line in _deploy_lines(text).items() if name not in warm)
    assert re.search(r"\n  ingest +public +secrets: \d+ +kept warm: 1 \(deploy.min_instances, billed while idle\)\n",
                     text)
    # and apply deploys them so
    cloud.state = ready_project()
    status, text = deploy("apply", tmp_path, scheduler=fake_scheduler, names=["ingest", "status"])
    assert status == 0, text
    assert {n: f["serviceConfig"].get("minInstanceCount") for n, f in cloud.state["functions"].items()} == {
        "ingest": 1, "status": None}


@pytest.mark.parametrize("asked,why", [
    ("{ingestion: 1}", "no function 'ingestion' to keep warm"),
    ("{ingest: 6}", "ingest: 6 instances; keep 0 to 5 warm"),
    ("{ingest: -1}", "ingest: -1 instances; keep 0 to 5 warm"),
])
def test_the_team_file_may_keep_only_known_functions_warm_and_at_most_five(tmp_path, asked, why):
    from shared.config import ConfigError, load_config
    team = tmp_path / "team.yaml"
    team.write_text(TEAM.read_text().replace("  env:\n", f"  min_instances: {asked}\n  env:\n", 1))
    with pytest.raises(ConfigError, match=why):
        load_config(team)


def test_the_functions_the_team_file_may_keep_warm_are_the_deployed_ones():
    from shared.config.schema import FUNCTIONS as KNOWN
    from shared.config.schema import MAX_WARM
    assert list(KNOWN) == FUNCTIONS and MAX_WARM == target.MAX_INSTANCES


def _index_lists(cloud) -> int:
    return sum(1 for c in cloud.calls() if c[:4] == ["firestore", "indexes", "composite", "list"])


def test_apply_waits_for_the_indexes_to_be_ready_with_a_progress_line(cloud, tmp_path, fake_scheduler, clock):
    wanted = json.loads((ROOT / "shared" / "firestore.indexes.json").read_text())["indexes"]
    # Given a project where Firestore takes three looks to build a new index
    cloud.state = {**ready_project(), "index_build_polls": 3}
    started = clock.monotonic()
    # When apply creates the indexes
    status, text = deploy("apply", tmp_path, scheduler=fake_scheduler, names=["status"])
    # Then it waits, by the product's clock, until every one is READY, saying so once, and exits 0 without a warning
    assert status == 0, text
    assert text.count(f"waiting for {len(wanted)} Firestore indexes to be ready ({len(wanted)} building)…\n") == 1
    assert f"= Firestore indexes: all {len(wanted)} ready\n" in text and "still building" not in text
    assert text.index("ready\n") < text.index("\napply: ")
    assert {i["state"] for i in cloud.state["indexes"]} == {"READY"}
    assert _index_lists(cloud) == 1 + 4                      # the step's read, then three looks CREATING and one READY
    assert clock.monotonic() - started == 3 * firestore.INDEX_POLL
    # When two of them are lost and apply runs again
    state = cloud.state
    state["indexes"] = state["indexes"][2:]
    state["index_build_polls"] = 1
    cloud.state = state
    status, text = deploy("apply", tmp_path, scheduler=fake_scheduler, names=["status"])
    # Then it waits for those two only
    assert status == 0, text
    assert f"waiting for {len(wanted)} Firestore indexes to be ready (2 building)…\n" in text
    # and an apply with every index ready does not wait at all
    before, started = _index_lists(cloud), clock.monotonic()
    status, text = deploy("apply", tmp_path, scheduler=fake_scheduler, names=["status"])
    assert status == 0 and "waiting for" not in text and "Firestore indexes: all" not in text
    assert _index_lists(cloud) - before == 2 and clock.monotonic() == started


def test_apply_past_the_bound_says_which_indexes_still_build_and_what_fails_until_then(cloud, tmp_path,
                                                                                        fake_scheduler, clock):
    wanted = json.loads((ROOT / "shared" / "firestore.indexes.json").read_text())["indexes"]
    # Given a project where the indexes take longer than apply waits
    cloud.state = {**ready_project(), "index_build_polls": 10 ** 6}
    started = clock.monotonic()
    status, text = deploy("apply", tmp_path, scheduler=fake_scheduler, names=["status"])
    # Then apply waited exactly its bound, looking every INDEX_POLL seconds
    assert clock.monotonic() - started == firestore.INDEX_WAIT
    assert _index_lists(cloud) == 1 + firestore.INDEX_WAIT / firestore.INDEX_POLL + 1
    # and says plainly which are still building and what fails until each is ready, then finishes (exit 0: the rest
    # is done, and Firestore finishes the indexes without another apply)
    assert status == 0, text
    warning = text.split("\n! ", 1)[1].split("\n\napply: ")[0].splitlines()
    assert warning[0] == (f"{len(wanted)} of {len(wanted)} Firestore indexes still building after 10 minutes; "
                          "Firestore finishes them on its own. Until each is ready, what needs it fails:")
    assert "    - action_items (done, deadline): the overdue action items (the daily report and the reminders)" in \
        warning
    assert "    - incidents (source, resolved_at): the status page's uptime bars (the outages that ended in their " \
           "days)" in warning
    assert len([line for line in warning if line.startswith("    - ")]) == len(wanted)
    assert warning[-1].startswith("  Follow them: gcloud firestore indexes composite list --project=petties-incidents")
    assert "\napply: " in text and "paste these:" in text


def test_every_index_in_the_file_says_what_fails_while_it_builds():
    for index in firestore.load()["indexes"]:
        assert "the queries that need it" not in firestore.described(index), index
