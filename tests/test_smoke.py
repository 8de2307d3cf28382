"""./deploy.sh gcp smoke: against the local stack over real HTTP (channels at their fakes, the product's clock a
FakeClock, so its polling deadlines cost nothing), it passes; with a channel, the token, the sweep, an index or
a Scheduler job broken, it fails naming that check. A smoke test leaves no incident behind."""
from __future__ import annotations

import io
from datetime import timedelta

import httpx
import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import scheduler_v1

from deploy import smoke
from deploy.target import build, discover
from shared.config import config
from shared.config.schedule import jobs as cron_table
from tests.conftest import dump_firestore
from tests.fakes.scheduler import FakeScheduler
from tests.test_deploy import TEAM, Cloud, ready_project

PROJECT = "petties-incidents"


def sweep_ran(escalate, clock) -> None:
    """Given the minute's sweep ran just now, as the local cron runner runs it."""
    at = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert escalate.post("/", headers={"X-CloudScheduler-ScheduleTime": at}).status_code == 200


def smoke_test(stack: smoke.Stack) -> tuple[int, str]:
    out = io.StringIO()
    return smoke.run(stack, out), out.getvalue()


def lines_of(printed: str, mark: str) -> list[str]:
    return [line for line in printed.splitlines() if line.startswith(mark)]


@pytest.fixture
def stack(live_server, channels):
    """The local stack with Discord, email and GitHub at their fakes, and the smoke test's secrets from the
    environment the functions read."""
    return smoke.Stack(live_server, smoke.from_environment(), config())


def status_pages(base: str) -> str:
    return "".join(httpx.get(f"{base}/status{path}").text for path in ("/", "/api/v2/summary.json",
                                                                       "/api/v2/incidents.json"))


def test_the_local_stack_passes_and_keeps_nothing_of_the_test(stack, channels, escalate, api, firestore, clock,
                                                               live_server):
    sweep_ran(escalate, clock)
    status, printed = smoke_test(stack)
    assert status == 0, printed
    assert not lines_of(printed, "✗"), printed
    passed = lines_of(printed, "✓")
    for check in ("Ingest health", "Sweep", "API", "Console", "Status page", "Status JSON"):
        assert any(line.startswith(f"✓ {check}:") for line in passed), (check, printed)
    for source in ("sentry", "alertmanager", "grafana", "pagerduty"):
        assert any(line.startswith(f"✓ Test alert {source}: INC-") for line in passed), printed
        assert f"✓ Removed {source}'s test incident" in printed
    # every channel the team routes production to got its marked test message (critical: Discord and email;
    # medium: Discord and GitHub)
    for channel in ("discord", "email", "github"):
        assert any(f"-> {channel}: sent" in line for line in passed), (channel, printed)
    assert channels.prod() and all("\\[smoke test\\]" in m["content"] for m in channels.prod())  # Markdown-escaped
    assert channels.smtp.messages and all("[smoke test]" in m.message["Subject"] for m in channels.smtp.messages)
    assert channels.github.issues and all("[smoke test]" in i["title"] for i in channels.github.issues.values())
    assert "– escalate refuses strangers: not checked: no IAM locally" in printed
    assert printed.rstrip().endswith("everything deployed works")
    # Then nothing of the test is left: no incident, no notification, no dedup key, in any listing or report
    assert api.get("/incidents").get_json()["incidents"] == []
    assert api.get("/metrics").get_json()["incidents"] == []   # what the reports count
    assert "smoke test" not in status_pages(live_server)
    stored = dump_firestore(firestore)
    for collection in ("incidents", "outbox", "incident_keys"):
        assert not stored.get(collection), (collection, stored.get(collection))


def test_channels_without_credentials_are_not_failures_and_their_previews_go_too(live_server, firestore, escalate,
                                                                                clock):
    # Given ./deploy.sh local with no channel set up: every message goes to the local preview page
    sweep_ran(escalate, clock)
    status, printed = smoke_test(smoke.Stack(live_server, smoke.from_environment(), config()))
    assert status == 0, printed
    assert "– Delivery sentry -> discord: not configured: shown on the preview page only" in printed
    assert "– Delivery alertmanager -> github: not configured: shown on the preview page only" in printed
    stored = dump_firestore(firestore)
    for collection in ("incidents", "outbox", "incident_keys", "previews"):
        assert not stored.get(collection), (collection, stored.get(collection))


def test_after_hours_a_held_message_is_no_failure_and_goes_with_its_incident(stack, channels, escalate, firestore,
                                                                              clock):
    # Given 22:00 in Ho Chi Minh City: the medium route holds Discord's message for the morning, files GitHub's now
    clock.advance(timedelta(hours=12).total_seconds())
    sweep_ran(escalate, clock)
    status, printed = smoke_test(stack)
    assert status == 0, printed
    assert "– Delivery alertmanager -> discord: held until business hours by its route (after_hours: hold)" in printed
    assert "✓ Delivery alertmanager -> github: sent" in printed and "✓ Delivery sentry -> discord: sent" in printed
    stored = dump_firestore(firestore)
    assert not stored.get("incidents") and not stored.get("outbox"), stored.get("outbox")  # nothing for 09:00


def test_a_broken_channel_fails_naming_it(live_server, channels, escalate, clock, monkeypatch):
    # Given Discord answers 404 for the webhook (deleted in Discord)
    monkeypatch.setenv("DISCORD_WEBHOOK_URL", channels.discord.webhook_url("999", "gone"))
    from shared.config.settings import settings
    settings.cache_clear()
    sweep_ran(escalate, clock)
    status, printed = smoke_test(smoke.Stack(live_server, smoke.from_environment(), config()))
    assert status == 1
    failed = lines_of(printed, "✗")
    assert failed and all(line.split(":")[0].endswith("-> discord") for line in failed), printed
    assert "✓ Delivery sentry -> email: sent" in printed
    assert "Delivery sentry -> discord" in printed.splitlines()[-1]


def test_a_wrong_api_token_fails_naming_the_api(live_server, channels, escalate, clock, api):
    sweep_ran(escalate, clock)
    secrets = smoke.from_environment()
    wrong = smoke.smoke_alerts.Secrets(**{**secrets.__dict__, "api": "not-the-token"})
    status, printed = smoke_test(smoke.Stack(live_server, wrong, config()))
    assert status == 1
    assert "✗ API: GET /api/incidents answered 401 with API_TOKEN" in printed
    # and no test alert is sent: its incident could be neither followed nor removed
    assert "✗ Test alert sentry: not sent: the API refuses the token that follows and removes it" in printed
    assert api.get("/incidents").get_json()["incidents"] == []


def test_a_wrong_ingest_token_fails_naming_the_source(live_server, channels, escalate, clock):
    sweep_ran(escalate, clock)
    secrets = smoke.from_environment()
    wrong = smoke.smoke_alerts.Secrets(**{**secrets.__dict__, "ingest": "not-the-token", "grafana": ""})
    status, printed = smoke_test(smoke.Stack(live_server, wrong, config()))
    assert status == 1
    assert "✗ Test alert alertmanager: POST /ingest/alertmanager answered 401" in printed
    assert "✗ Test alert grafana: POST /ingest/grafana answered 401" in printed
    assert "✓ Test alert sentry: INC-" in printed


def test_a_sweep_that_never_ran_fails_naming_the_sweep(stack):
    status, printed = smoke_test(stack)
    assert status == 1
    assert "✗ Sweep: never ran" in printed
    assert "✗ Ingest health: answered 503: the escalate sweep has never run" in printed


def test_a_stale_sweep_fails_naming_the_sweep(stack, escalate, clock):
    sweep_ran(escalate, clock)
    clock.advance(timedelta(minutes=6).total_seconds())
    status, printed = smoke_test(stack)
    assert status == 1
    assert "✗ Sweep: last ran 6 min ago" in printed


# ---------------------------------------------------------------- a project: Scheduler and indexes

@pytest.fixture
def project(tmp_path, monkeypatch, live_server, channels, escalate):
    """A deployed project as the smoke test reads it: the fake gcloud (indexes, secrets), the fake Scheduler, and
    the local stack standing in for its functions."""
    cloud = Cloud(tmp_path)
    monkeypatch.setenv("INCIDENT_CONFIG", str(TEAM))
    cfg = config()
    t = build(cfg, TEAM, PROJECT, None, discover(), None)
    indexes = [{"name": f"projects/{PROJECT}/databases/(default)/collectionGroups/incidents/indexes/I{n}",
                "queryScope": "COLLECTION", "state": "READY",
                "fields": [{"fieldPath": "status", "order": "ASCENDING"}]} for n in range(
        len(smoke.firestore.load()["indexes"]))]
    cloud.state = {**ready_project(), "indexes": indexes}
    sweep_ran(escalate, channels.clock)
    with FakeScheduler() as fake:
        names = {j.name: smoke.job_name(t, j) for j in cron_table(cfg)}
        for job in cron_table(cfg):
            fake.jobs[names[job.name]] = {"name": names[job.name], "schedule": job.cron, "timeZone": job.time_zone,
                                          "state": "ENABLED", "userUpdateTime": "2026-11-01T00:00:00Z",
                                          "lastAttemptTime": channels.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                                          "status": {}}
        make = lambda: scheduler_v1.CloudSchedulerClient(credentials=AnonymousCredentials(), transport="rest",
                                                         client_options=ClientOptions(api_endpoint=fake.base_url))
        stack = smoke.Stack(live_server, smoke.from_environment(), cfg, PROJECT, cloud.gcloud(PROJECT), make, names)
        yield cloud, fake, stack


def test_a_project_with_its_jobs_run_and_its_indexes_ready_passes(project):
    cloud, fake, stack = project
    status, printed = smoke_test(stack)
    assert status == 0, printed
    assert "✓ Scheduler escalate-every-minute: enabled, ran 0 s ago" in printed
    assert "✓ Scheduler daily-summary: enabled, ran 0 s ago" in printed
    assert f"✓ Firestore indexes: {len(cloud.state['indexes'])} READY" in printed


def test_an_index_not_ready_fails_naming_it(project):
    cloud, fake, stack = project
    state = cloud.state
    state["indexes"][0]["state"] = "CREATING"
    cloud.state = state
    status, printed = smoke_test(stack)
    assert status == 1
    assert "✗ Firestore indexes: not READY: incidents(status) (CREATING); queries that need them fail" in printed
    assert printed.splitlines()[-1].startswith("1 failed (Firestore indexes)")


def test_functions_that_cannot_be_reached_fail_and_the_project_is_still_read(project):
    cloud, fake, stack = project
    import socket
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        stack.base = f"http://127.0.0.1:{closed.getsockname()[1]}"   # nothing listens there
        status, printed = smoke_test(stack)
    assert status == 1
    assert f"✗ Ingest health: cannot reach {stack.base} (ConnectError)" in printed
    assert "✓ Scheduler escalate-every-minute: enabled" in printed and "✓ Firestore indexes: 10 READY" in printed


def test_a_paused_or_silent_scheduler_job_fails_naming_it(project, clock):
    cloud, fake, stack = project
    sweep_job = next(name for name in fake.jobs if name.endswith("/escalate-every-minute"))
    daily_job = next(name for name in fake.jobs if name.endswith("/daily-summary"))
    fake.jobs[sweep_job]["state"] = "PAUSED"
    fake.jobs[daily_job]["lastAttemptTime"] = (clock.now() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, printed = smoke_test(stack)
    assert status == 1
    assert "✗ Scheduler escalate-every-minute: is PAUSED" in printed
    assert "✗ Scheduler daily-summary: enabled but has not run within its interval" in printed


def test_a_job_never_run_fails_unless_it_was_made_after_its_last_run_time(project, clock):
    cloud, fake, stack = project
    daily_job = next(name for name in fake.jobs if name.endswith("/daily-summary"))
    del fake.jobs[daily_job]["lastAttemptTime"]
    fake.jobs[daily_job]["userUpdateTime"] = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")   # just deployed
    status, printed = smoke_test(stack)
    assert status == 0, printed
    assert "– Scheduler daily-summary: enabled; not due since it was made" in printed
    # made yesterday at 10:00: it was due today at 09:00
    fake.jobs[daily_job]["userUpdateTime"] = (clock.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, printed = smoke_test(stack)
    assert status == 1
    assert "✗ Scheduler daily-summary: enabled but has not run within its interval (0 9 * * *)" in printed


def test_secrets_of_a_project_come_from_secret_manager(tmp_path):
    cloud = Cloud(tmp_path)
    cloud.state = {**ready_project(), "secret_values": {"API_TOKEN": "from-secret-manager",
                                                        "INGEST_TOKEN": "ingest-from-sm"}}
    secrets = smoke.from_secret_manager(cloud.gcloud(PROJECT), PROJECT)
    assert (secrets.api, secrets.ingest, secrets.sentry) == ("from-secret-manager", "ingest-from-sm", "")
    assert ["secrets", "versions", "access", "latest", "--secret=API_TOKEN", f"--project={PROJECT}", "--quiet"] \
        in cloud.calls()


# ---------------------------------------------------------------- what the product lets the smoke test do

def test_only_a_closed_smoke_test_incident_can_be_deleted(api, ingest, firestore, monkeypatch, clock):
    from tests.notify_fixtures import sentry_alert
    iid = sentry_alert(ingest, monkeypatch, clock.now(), "4001", "Booking page answers 500")["incident"]
    r = api.delete(f"/incidents/{iid}")
    assert r.status_code == 403 and "only a smoke test's incident" in r.get_json()["error"]
    assert api.get(f"/incidents/{iid}").status_code == 200
    notifications = api.get(f"/incidents/{iid}/notifications").get_json()["notifications"]
    assert notifications and {n["reason"] for n in notifications} == {"opened"}


def test_deploy_sh_gcp_smoke_url_runs_it(live_server, channels, escalate, clock, capsys, monkeypatch):
    """./deploy.sh gcp smoke --url BASE (python -m deploy smoke --url BASE) against a local stack."""
    from deploy.__main__ import cli
    sweep_ran(escalate, clock)
    assert cli(["smoke", "--url", live_server]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("{")]
    assert printed[0] == "✓ Ingest health: ok, 0 notifications waiting" and printed[-1] == "everything deployed works"
    monkeypatch.setenv("API_TOKEN", "wrong")   # the environment wins over ./deploy.sh local's defaults
    assert cli(["smoke", "--url", live_server]) == 1
    assert "✗ API: GET /api/incidents answered 401" in capsys.readouterr().out


def test_a_smoke_test_incident_is_deleted_only_once_closed(api, ingest, firestore, clock):
    cfg = config()
    marked = smoke.smoke_alerts.delivery("sentry", "critical", "9990001", cfg, smoke.from_environment(), clock.now())
    r = ingest.post(marked.path.removeprefix("/ingest"), data=marked.body, headers=marked.headers)
    iid = r.get_json()["incident"]
    assert api.get(f"/incidents/{iid}").get_json()["title"].startswith("[smoke test] 9990001 ")
    r = api.delete(f"/incidents/{iid}")
    assert r.status_code == 409 and r.get_json()["error"] == f"{iid} is open: resolve it first"
    assert api.post(f"/incidents/{iid}/invalid", json={"actor": cfg.team_lead}).status_code == 200
    from shared.notify import delivery
    delivery.wait_idle()
    assert api.delete(f"/incidents/{iid}").status_code == 204
    assert api.get(f"/incidents/{iid}").status_code == 404
