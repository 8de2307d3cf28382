"""Figures that are right (issue 27): a polled UptimeRobot recovery records how long the monitor was down; the
daily report covers a finished local day, lists the action items open at that day's end, and is recomputed only
when asked (recompute=1), with one correction saying what changed; postmortems leave out incidents a silence or a
maintenance window held, always have an owner, say "unknown" for what the source cannot know, and announce the
console's page. Vendors are fakes at the HTTP boundary; time is a parameter."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config.settings import settings
from tests.fakes.uptimerobot import FakeUptimeRobot
from tests.notify_fixtures import local, sweep

BACKEND = "https://api.petties.world/health"
T0 = local("2026-11-24 10:00:00")


def minute(n: int):
    return T0 + timedelta(minutes=n)


def unix(n: int) -> int:
    return int(minute(n).timestamp())


@pytest.fixture
def robot(monkeypatch, firestore):
    fake = FakeUptimeRobot().serve()
    monkeypatch.setenv("UPTIMEROBOT_API_KEY", fake.api_key)
    monkeypatch.setenv("UPTIMEROBOT_API_URL", f"{fake.base_url}/v2")
    settings.cache_clear()
    yield fake
    monkeypatch.delenv("UPTIMEROBOT_API_KEY", raising=False)
    monkeypatch.delenv("UPTIMEROBOT_API_URL", raising=False)
    settings.cache_clear()
    fake.stop()


# ---------------------------------------------------------------- a polled recovery's downtime

@pytest.mark.parametrize("up_for", [0, 60])
def test_a_polled_recovery_records_how_long_the_down_lasted(robot, escalate, api, up_for):
    """Before: the up log's own duration (how long the monitor had been up: 0 or 60 s) was taken as the downtime."""
    robot.add_monitor("793527", BACKEND, "Backend Health")
    sweep(escalate, minute(0))
    robot.event("793527", 1, unix(1), reason="503 Service Unavailable")   # down 10:01
    sweep(escalate, minute(2))
    robot.event("793527", 2, unix(13), duration=up_for)                   # up 10:13; the down log now lasted 12 min
    sweep(escalate, minute(14))
    [incident] = api.get("/incidents").get_json()["incidents"]
    assert (incident["status"], incident["downtime_seconds"]) == ("resolved", 720)


def test_a_down_and_its_recovery_in_one_poll_record_the_down_s_duration(robot, escalate, api):
    robot.add_monitor("793527", BACKEND, "Backend Health")
    sweep(escalate, minute(0))
    robot.event("793527", 1, unix(1), reason="Timeout")
    robot.event("793527", 2, unix(6), duration=30)
    sweep(escalate, minute(7))
    [incident] = api.get("/incidents").get_json()["incidents"]
    assert (incident["status"], incident["downtime_seconds"]) == ("resolved", 300)


def test_the_downtime_of_an_up_log_is_the_down_log_s_duration_else_the_time_between():
    from shared.vendors.uptimerobot import DOWN, UP, Log, downtime
    up = Log(UP, 1000, duration=5)
    assert downtime((up, Log(DOWN, 400, duration=600)), up) == 600
    assert downtime((up, Log(DOWN, 400, duration=0)), up) == 600            # no duration given: the time between
    assert downtime((up, Log(99, 700), Log(DOWN, 400, duration=300)), up) == 300   # paused at 700: down 300 s
    assert downtime((up, Log(DOWN, 400, duration=9000)), up) == 600         # never longer than the time between
    assert downtime((up, Log(DOWN, 100, 50), Log(UP, 150), Log(DOWN, 400, 600)), up) == 600   # the latest down
    assert downtime((up, Log(DOWN, 2000, 10)), up) is None                  # no down before it
