"""Health probes run by the escalate sweep, against real local HTTP servers, with a fake clock for schedule times."""
from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.config import HealthCheck
from shared.config.settings import settings
from shared.errors import Unavailable
from shared.model import Action, Alert, Severity
from shared.reports import probes
from shared.store import incidents as incident_store
from shared.store import probes as store
from tests.conftest import install_team
from tests.fakes.clock import REAL_CLOCK, FakeClock
from tests.notify_fixtures import scheduled, sweep
from tests.teams import variant

ANSWERS = {"ok": (200, b'{"status": "ok"}'), "error": (500, b"Internal Server Error"),
           "maintenance": (200, b"down for maintenance")}


class HealthServer:
    """A real HTTP server on a free port whose answer the test sets: ok, error, maintenance, slow or trickle.

    Its pauses go by `clock`: the real one, or the product's FakeClock, which a pause moves on (the probe's
    deadline, on the same clock, sees the time pass at once)."""

    def __init__(self) -> None:
        self.mode, self.delay, self.hits, self.clock = "ok", 0.0, 0, REAL_CLOCK
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                mode = owner.mode
                try:
                    if mode == "slow":
                        owner.clock.sleep(owner.delay)
                    status, body = ANSWERS.get(mode, ANSWERS["ok"])
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body) if mode != "trickle" else 100))
                    self.end_headers()
                    if mode == "trickle":  # a byte at a time: each read is quick, the whole answer is not
                        for _ in range(100):
                            self.wfile.write(b".")
                            self.wfile.flush()
                            owner.clock.sleep(owner.delay)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the probe gave up first, as it should

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads, self.server.block_on_close = True, False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    s = HealthServer()
    yield s
    s.stop()


def refused_url() -> str:
    """A URL on a port nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/health"


def team(monkeypatch, url: str, service: str = "petties-backend", **check):
    """The Petties team with one health URL on `service`, used by the sweep."""
    def edit(data: dict) -> None:
        next(s for s in data["services"] if s["name"] == service)["health"] = [{"url": url, **check}]
        data["probes"] = {"interval": "5m", "failures_to_alert": 2, "flap_window": "30m", "flap_changes": 4}
    cfg = variant(edit=edit)
    install_team(monkeypatch, cfg)
    return cfg


class Schedule:
    """Sweep schedule times from a FakeClock (its epoch is on a 5-minute boundary: a fresh probe slot)."""

    def __init__(self) -> None:
        self.clock = FakeClock()

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), timezone.utc)

    def after(self, minutes: float) -> datetime:
        self.clock.advance(minutes * 60)
        return self.now


def probe_incidents() -> list:
    return sorted((i for i in incident_store.list_incidents(None, 100) if i.source == "probe"),
                  key=lambda i: i.created_at)


# ---------------------------------------------------------------- what counts as a failure

@pytest.mark.parametrize("mode,check,reason", [
    ("ok", {}, ""),
    ("error", {}, "HTTP 500 (expected 200)"),
    ("ok", {"expect_status": 204}, "HTTP 200 (expected 204)"),
    ("maintenance", {"expect_text": "ok"}, "the answer lacks 'ok'"),
    ("slow", {"timeout_seconds": 0.5}, "no answer within 0.5 s"),
])
def test_a_probe_judges_status_text_and_time(server, request, mode, check, reason):
    """A slow answer takes 2 s of the product's (fake) clock; the others are timed by the real one."""
    server.mode, server.delay = mode, 2.0
    if mode == "slow":
        server.clock = request.getfixturevalue("clock")
    result = probes.probe(HealthCheck(url=server.url, **check), Schedule().now, check.get("timeout_seconds", 5))
    assert (result["ok"], result["reason"]) == (reason == "", reason)
    if mode != "slow":
        assert result["status"] == ANSWERS[mode][0] and 0 < result["ms"] < 2000


def test_connection_refused_is_a_failure():
    result = probes.probe(HealthCheck(url=refused_url()), Schedule().now, 2)
    assert (result["ok"], result["status"], result["reason"]) == (False, None, "connection refused")


def test_a_trickling_answer_is_cut_off_at_its_timeout(server):
    """A real socket in real time: each read is quick (httpx's per-read timeout never fires), the whole answer is
    not, and the probe closes the connection at its own deadline instead of reading on."""
    server.mode, server.delay = "trickle", 0.05   # 100 bytes over 5 s, each read well inside httpx's timeout
    target = probes.Target("petties-backend", HealthCheck(url=server.url, timeout_seconds=0.3))
    started = time.monotonic()
    result = probes.probe_all([target], Schedule().now, budget=10)[target.key]
    assert time.monotonic() - started < 2.0
    assert (result["ok"], result["reason"]) == (False, "no answer within 0.3 s")


# ---------------------------------------------------------------- down, duplicate, recovery

def test_two_failures_open_one_critical_incident_and_recovery_resolves_it(escalate, server, monkeypatch):
    team(monkeypatch, server.url)
    at = Schedule()
    server.mode = "error"
    first = sweep(escalate, at.now)
    assert (first["probed"], first["probe_failures"], first["probe_alerts"]) == (1, 1, 0)
    assert probe_incidents() == []  # one failure: nothing yet

    assert sweep(escalate, at.after(1))["probed"] == 0  # not due again until the next 5-minute slot
    assert sweep(escalate, at.after(4))["probe_alerts"] == 1
    [incident] = probe_incidents()
    assert (incident.severity, incident.source, incident.service, incident.environment, incident.status) == \
        (Severity.CRITICAL, "probe", "petties-backend", "production", "open")
    assert incident.title == "petties-backend is down: HTTP 500 (expected 200)"
    assert incident.dedup_key == f"probe:petties-backend:{server.url}"
    assert (incident.location, incident.links, incident.doc["level"]) == (server.url, {"health": server.url}, "down")
    assert incident.first_seen == at.now - timedelta(minutes=5)  # the first failure

    # the same schedule time again (Cloud Scheduler's at-least-once), and a direct re-run: still one incident
    assert scheduled(escalate, at.now).get_json()["status"] == "duplicate"
    assert probes.run(team(monkeypatch, server.url), settings(), at.now)["probed"] == 0
    assert len(probe_incidents()) == 1

    sweep(escalate, at.after(5))  # still down: the open incident is left alone
    assert len(probe_incidents()) == 1 and probe_incidents()[0].occurrences == 1
    server.mode = "ok"
    assert sweep(escalate, at.after(5))["probe_alerts"] == 1
    [resolved] = probe_incidents()
    assert (resolved.status, resolved.downtime_seconds) == ("resolved", 900)  # first failure to first success
    assert resolved.timeline[-1]["actor"] == "Health probe"

    # what the daily summary reads: every result with its response time, and the down interval
    start, end = at.now - timedelta(hours=1), at.now + timedelta(minutes=1)
    results = store.results_between(start, end)
    assert [r["ok"] for r in results] == [False, False, False, True]
    assert all(r["status"] in (200, 500) and r["ms"] > 0 for r in results)
    assert probes.down_intervals(start, end) == {"petties-backend": [(at.now - timedelta(minutes=15), at.now)]}
    times = probes.response_times(start, end)["petties-backend"]
    assert (times["samples"], times["failed"], times["percent_ok"]) == (4, 3, 25.0) and times["avg_ms"] > 0


def test_connection_refused_twice_opens_an_incident(escalate, monkeypatch):
    url = refused_url()
    team(monkeypatch, url, service="ai-service")
    at = Schedule()
    sweep(escalate, at.now)
    sweep(escalate, at.after(5))
    [incident] = probe_incidents()
    assert (incident.title, incident.service) == ("ai-service is down: connection refused", "ai-service")


def test_overlapping_sweeps_record_a_slot_once_and_open_once(server, firestore, monkeypatch):
    cfg = team(monkeypatch, server.url)
    at = Schedule()
    server.mode = "error"
    probes.run(cfg, settings(), at.now)
    at.after(5)
    runs = [threading.Thread(target=probes.run, args=(cfg, settings(), at.now)) for _ in range(3)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert len(probe_incidents()) == 1
    assert len(store.results_between(at.now - timedelta(hours=1), at.now + timedelta(minutes=1))) == 2


def test_a_transition_lost_to_a_crash_is_reported_by_the_next_sweep_once(escalate, server, monkeypatch):
    team(monkeypatch, server.url)
    at = Schedule()
    server.mode = "error"
    sweep(escalate, at.now)
    real_ingest = probes.incidents.ingest

    def unavailable(*args, **kwargs):
        raise Unavailable("Firestore is unavailable")

    monkeypatch.setattr(probes.incidents, "ingest", unavailable)
    sweep(escalate, at.after(5))  # the second failure is stored with its transition; reporting it fails
    assert probe_incidents() == []
    monkeypatch.setattr(probes.incidents, "ingest", real_ingest)
    assert sweep(escalate, at.after(1))["probe_alerts"] == 1  # not due for a probe, but the transition is
    sweep(escalate, at.after(1))
    [incident] = probe_incidents()
    assert incident.created_at == at.now - timedelta(minutes=1)


# ---------------------------------------------------------------- time budget

def test_a_timeout_is_a_failure_and_a_slow_url_does_not_hold_up_escalation(escalate, server, clock, monkeypatch):
    cfg = team(monkeypatch, server.url, timeout_seconds=1)
    at = Schedule()
    # a Critical opened 15 minutes before: its response SLA is due at this sweep (level 2, the team lead)
    opened = at.now - timedelta(minutes=15)
    probes.incidents.ingest(Alert(source="uptimerobot", action=Action.TRIGGER, dedup_key="uptimerobot:777",
                                  title="petties.world is down", level="down", level_table="uptimerobot",
                                  project="https://petties.world"), cfg, opened)
    server.mode, server.delay, server.clock = "slow", 5.0, clock
    ran = sweep(escalate, at.now)
    assert (ran["escalated"], ran["probe_failures"]) == (1, 1)
    sent = sorted(s.id.split(":", 1)[1] for s in incident_store.client().collection("outbox").stream()
                  if s.to_dict()["status"] == "sent")
    # the Critical's opening and its escalation page to the team lead went out in this same sweep
    assert sent == ["escalation-sla-response:discord", "escalation-sla-response:email", "opened:discord",
                    "opened:email"]
    assert ran["sent"] == 4
    sweep(escalate, at.after(5))
    [incident] = probe_incidents()
    assert incident.title == "petties-backend is down: no answer within 1 s"


def test_all_probes_together_stay_within_the_budget(escalate, server, clock, monkeypatch):
    team(monkeypatch, server.url, timeout_seconds=10)
    monkeypatch.setattr(probes, "PROBE_BUDGET", 1.0)
    server.mode, server.delay, server.clock = "slow", 5.0, clock
    ran = sweep(escalate, Schedule().now)
    assert ran["probe_failures"] == 1
    [result] = store.results_between(Schedule().now, Schedule().now + timedelta(minutes=1))
    assert result["reason"] == "no answer within 1 s"


# ---------------------------------------------------------------- flapping

def test_a_flapping_url_is_reported_once_until_it_is_stable_again(escalate, server, monkeypatch):
    team(monkeypatch, server.url)
    at = Schedule()
    alerts = []
    for step in range(10):  # ok, error, ok, error, ... every 5 minutes: never two failures in a row
        server.mode = "ok" if step % 2 == 0 else "error"
        alerts.append(sweep(escalate, at.now if step == 0 else at.after(5))["probe_alerts"])
    assert alerts == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]  # the 4th change within 30m: reported, then quiet
    [incident] = probe_incidents()
    assert incident.title == "petties-backend is flapping: 4 up/down changes in 30m"
    assert (incident.severity, incident.status, incident.occurrences) == (Severity.CRITICAL, "open", 1)

    server.mode = "ok"
    quiet = [sweep(escalate, at.after(5))["probe_alerts"] for _ in range(7)]
    assert quiet == [0, 0, 0, 0, 0, 0, 1]  # resolved once a whole flap window passed without a change
    assert [i.status for i in probe_incidents()] == ["resolved"]

    server.mode = "error"  # stable again, so a real outage is reported as usual
    sweep(escalate, at.after(5))
    sweep(escalate, at.after(5))
    flapped, down = probe_incidents()
    assert down.title == "petties-backend is down: HTTP 500 (expected 200)"
    assert down.previous_incident == flapped.id


def test_advance_keeps_an_outage_that_turns_into_flapping_on_one_incident():
    rules = variant().probes
    at = Schedule()
    state: dict = {}
    kinds = []
    for ok in (True, False, True, False, False, True):  # down after two failures, then the 4th change
        state, out = probes.advance(state, {"at": at.after(5), "ok": ok, "reason": "" if ok else "HTTP 500"}, rules)
        kinds += [t["kind"] for t in out]
    assert kinds == ["down", "flapping"]  # the flap lands on the open incident (same dedup key: an occurrence)
    assert state["open"] and state["flapping"]
