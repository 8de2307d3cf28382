"""UptimeRobot on the free plan: the sweep polls a fake of UptimeRobot's API at the HTTP boundary and turns
down/up logs into the same incidents webhooks make; one event changes the incident once, whichever way it
arrives; failures are logged and shown by the health check, never a failed sweep."""
from __future__ import annotations

import pytest

from tests.conftest import fixture_json
from tests.fakes.uptimerobot import FakeUptimeRobot
from tests.notify_fixtures import local, scheduled, sweep

BACKEND = "https://api.petties.world/health"
T0 = local("2026-11-24 10:00:00")
DOWN_AT = int(local("2026-11-24 09:58:00").timestamp())




def minute(n: int):
    from datetime import timedelta
    return T0 + timedelta(minutes=n)


def incidents(api) -> list[dict]:
    return api.get("/incidents").get_json()["incidents"]


def test_a_monitor_going_down_then_up_opens_and_resolves_one_incident(robot, escalate, api):
    robot.add_monitor("793527", BACKEND, "Backend Health")
    sweep(escalate, minute(0))                       # first sight: up, nothing to say
    assert incidents(api) == []
    robot.event("793527", 1, DOWN_AT + 180, reason="503 Service Unavailable")
    sweep(escalate, minute(1))
    [opened] = incidents(api)
    assert (opened["source"], opened["service"], opened["severity"], opened["status"]) == \
        ("uptimerobot", "petties-backend", "critical", "open")
    assert opened["title"] == "Backend Health is down: 503 Service Unavailable"
    sweep(escalate, minute(2))                       # the same log again: nothing new
    assert incidents(api)[0]["occurrences"] == 1
    robot.event("793527", 2, DOWN_AT + 900, duration=720)
    sweep(escalate, minute(3))
    [closed] = incidents(api)
    assert (closed["id"], closed["status"], closed["downtime_seconds"]) == (opened["id"], "resolved", 720)


@pytest.mark.parametrize("first", ["webhook", "poll"])
def test_one_event_by_webhook_and_by_poll_changes_the_incident_once(robot, ingest, escalate, api, monkeypatch,
                                                                     first):
    robot.add_monitor("793527", BACKEND, "Backend Health", status=2)
    sweep(escalate, minute(0))
    webhook = fixture_json("uptimerobot_down.json")   # monitorID 793527, alertDateTime 1795788950
    robot.event("793527", 1, int(webhook["alertDateTime"]), reason="Connection Timeout")
    monkeypatch.setattr("shared.web.http.now", lambda: minute(1))
    answers = []
    for way in ([first, "poll" if first == "webhook" else "webhook"]):
        if way == "webhook":
            answers.append(ingest.post("/uptimerobot?token=test-ingest-token", json=webhook).get_json()["status"])
        else:
            sweep(escalate, minute(1 if not answers else 2))
    [incident] = incidents(api)
    assert incident["occurrences"] == 1 and incident["status"] == "open"
    assert answers == (["created"] if first == "webhook" else ["replayed"])


def test_the_first_poll_takes_the_state_not_the_history(robot, escalate, api):
    robot.add_monitor("1", "https://petties.world", "Web")
    robot.event("1", 1, DOWN_AT - 86_400)           # yesterday: down and up again
    robot.event("1", 2, DOWN_AT - 86_000, duration=400)
    robot.add_monitor("2", BACKEND, "Backend Health")
    robot.event("2", 1, DOWN_AT, reason="Timeout")   # down now
    sweep(escalate, minute(0))
    [only] = incidents(api)
    assert only["service"] == "petties-backend" and only["status"] == "open"


def test_many_monitors_are_read_page_by_page(robot, escalate, api):
    for n in range(1, 61):
        robot.add_monitor(str(n), f"https://m{n}.example")
    sweep(escalate, minute(0))
    robot.event("57", 1, DOWN_AT + 200, reason="Timeout")
    sweep(escalate, minute(1))
    assert [i["title"] for i in incidents(api)] == ["https://m57.example is down: Timeout"]
    pages = [r for r in robot.requests if r["path"] == "/v2/getMonitors"]
    assert len(pages) == 4   # two pages a poll


def test_failures_are_logged_and_shown_by_health_never_a_failed_sweep(robot, escalate, ingest, api, capfd):
    robot.add_monitor("793527", BACKEND)
    robot.fail_next(1, 200)                           # UptimeRobot's "stat": "fail" with HTTP 200
    assert sweep(escalate, minute(0))["uptimerobot_poll_failed"] == 1
    assert "UptimeRobot poll failed" in "".join(capfd.readouterr())
    health = ingest.get("/health").get_json()
    assert health["uptimerobot_poll"]["last_error"] == "UptimeRobot refused: api_key is invalid."
    sweep(escalate, minute(1))                        # polls again a minute later, and works
    assert ingest.get("/health").get_json()["uptimerobot_poll"]["last_ok_at"]
    robot.fail_next(1, 429, retry_after=180)
    sweep(escalate, minute(2))
    calls = len(robot.requests)
    sweep(escalate, minute(3))                        # inside Retry-After: no request
    sweep(escalate, minute(4))
    assert len(robot.requests) == calls
    sweep(escalate, minute(5))
    assert len(robot.requests) == calls + 1


def test_a_poll_failing_for_a_quarter_hour_makes_health_unhealthy(robot, escalate, ingest):
    robot.add_monitor("793527", BACKEND)
    robot.fail_next(30, 200)
    for n in range(0, 17):
        sweep(escalate, minute(n))
    from shared.reports import health
    report, code = health.check(minute(17))
    assert code == 503 and any(p.startswith("UptimeRobot polling has failed since 2026-11-24 03:00 UTC")
                               for p in report["problems"]), report


def test_no_key_no_polling(escalate, api, firestore):
    fake = FakeUptimeRobot().serve()
    try:
        result = sweep(escalate, minute(0))
        assert "uptimerobot_monitors" not in result and fake.requests == []
    finally:
        fake.stop()


def test_every_page_asks_for_the_logs_of_50_monitors(robot, escalate):
    from urllib.parse import parse_qs
    for n in range(1, 52):
        robot.add_monitor(str(n), f"https://m{n}.example")
    sweep(escalate, minute(0))
    forms = [{k: v[0] for k, v in parse_qs(r["body"].decode()).items()} for r in robot.requests]
    assert [(f["offset"], f["limit"], f["logs"], f["format"]) for f in forms] == \
        [("0", "50", "1", "json"), ("50", "50", "1", "json")]


def test_a_hung_poll_gives_up_within_its_budget_and_escalation_still_runs(robot, escalate, ingest, monkeypatch,
                                                                         capfd, clock):
    robot.add_monitor("793527", BACKEND, "Backend Health")
    robot.event("793527", 1, DOWN_AT, reason="Timeout")
    sweep(escalate, minute(0))                        # down at first sight: a Critical opens
    for n in range(1, 15):
        assert sweep(escalate, minute(n))["escalated"] == 0
    monkeypatch.setattr("shared.reports.polling.API_BUDGET", 1.0)
    robot.clock = clock                               # it answers 10 s late on the product's clock
    robot.hang_next(1, seconds=10)
    started = clock.monotonic()
    ran = sweep(escalate, minute(15))                 # the step after 15 min unacknowledged is due now
    assert clock.monotonic() - started == 10          # the hang, and nothing of the product's own
    assert ran["escalated"] == 1 and ran["uptimerobot_poll_failed"] == 1
    monkeypatch.setattr("shared.web.http.now", lambda: minute(16))
    health = ingest.get("/health").get_json()          # one failed poll is shown, and is not a problem yet
    assert health["uptimerobot_poll"]["last_error"] == "UptimeRobot could not be reached (TimeoutException)"
    assert not [p for p in health["problems"] if "UptimeRobot" in p], health
    assert robot.api_key not in "".join(capfd.readouterr())


def test_two_sweeps_in_the_same_minute_poll_once(robot, escalate):
    robot.add_monitor("793527", BACKEND)
    for job in ("escalate", "escalate-second-scheduler"):
        scheduled(escalate, minute(0), **{"X-CloudScheduler-JobName": job})
    assert len(robot.requests) == 1


def test_a_lost_cursor_replays_nothing(robot, escalate, api, firestore):
    robot.add_monitor("793527", BACKEND, "Backend Health")
    sweep(escalate, minute(0))
    robot.event("793527", 1, DOWN_AT + 180, reason="Timeout")
    sweep(escalate, minute(1))
    firestore.collection("polling").document("uptimerobot").delete()   # as if the state were never stored
    sweep(escalate, minute(2))                        # a first sight again: the same down, under the same claim
    [incident] = incidents(api)
    assert (incident["occurrences"], incident["status"]) == (1, "open")


def test_the_newest_event_seen_never_moves_back(firestore):
    from shared.store import polling
    polling.finish_ok("uptimerobot", T0, {"1": 200})
    polling.finish_ok("uptimerobot", minute(-1), {"1": 100, "2": 5})   # a slower, older poll finishing late
    state = polling.state("uptimerobot")
    assert state["seen"] == {"1": 200, "2": 5} and state["last_ok_at"] == T0
