"""Routing, business hours and the weekly rotation with a fake clock across a week (pure)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from shared.config import load_config
from shared.model import Severity
from shared.rules import calendar, oncall, routing
from tests.teams import variant

CFG = load_config()
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def at(text: str, zone=HCM) -> datetime:
    """A local wall-clock time in the team's zone, as the UTC instant the code receives."""
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(timezone.utc)


# 2026-11-23 is a Monday.
@pytest.mark.parametrize("local,business", [
    ("2026-11-23 08:59:59", False), ("2026-11-23 09:00:00", True), ("2026-11-23 17:59:59", True),
    ("2026-11-23 18:00:00", False), ("2026-11-27 12:00:00", True), ("2026-11-28 12:00:00", False),
    ("2026-11-29 12:00:00", False), ("2026-11-24 03:00:00", False),
])
def test_business_hours(local, business):
    assert calendar.is_business_time(at(local), CFG) is business


@pytest.mark.parametrize("local,release", [
    ("2026-11-27 20:00:00", "2026-11-30 09:00:00"),   # Friday night -> Monday 09:00
    ("2026-11-28 02:00:00", "2026-11-30 09:00:00"),   # Saturday 02:00 -> Monday
    ("2026-11-24 07:30:00", "2026-11-24 09:00:00"),   # Tuesday early -> same day
    ("2026-11-24 18:00:00", "2026-11-25 09:00:00"),   # Tuesday at close -> Wednesday
])
def test_next_business_start(local, release):
    assert calendar.next_business_start(at(local), CFG) == at(release)


def test_holidays_are_skipped():
    cfg = variant({"team.holidays": ["2026-11-30", "2026-12-01"]})
    assert calendar.next_business_start(at("2026-11-27 20:00:00"), cfg) == at("2026-12-02 09:00:00")


def test_rotation_turns_over_monday_0900_local():
    # the rotation started 2025-12-29 09:00 with Dev A; 2026-11-23 is 47 weeks later -> index 47 % 4 = 3 (Dev D)
    assert oncall.primary(at("2026-11-23 09:00:00"), CFG) == "dev-d"
    assert oncall.primary(at("2026-11-23 08:59:00"), CFG) == "dev-c"
    assert oncall.primary(at("2026-11-30 09:00:00"), CFG) == "dev-a"
    assert oncall.primary(at("2025-12-29 09:00:00"), CFG) == "dev-a"
    assert oncall.next_handover(at("2026-11-27 20:00:00"), CFG) == at("2026-11-30 09:00:00")


def test_rotation_across_daylight_saving_in_berlin():
    cfg = variant({"team.time_zone": "Europe/Berlin", "rotation.start": "2026-03-23", "sprint.start": "2026-03-23"})
    berlin = ZoneInfo("Europe/Berlin")
    # clocks go forward on Sunday 2026-03-29; the handover stays at 09:00 local on Monday 2026-03-30
    assert oncall.primary(at("2026-03-30 08:59:00", berlin), cfg) == "dev-a"
    assert oncall.primary(at("2026-03-30 09:00:00", berlin), cfg) == "dev-b"
    assert oncall.next_handover(at("2026-03-27 12:00:00", berlin), cfg) == at("2026-03-30 09:00:00", berlin)
    assert at("2026-03-30 09:00:00", berlin).hour == 7  # UTC+2 after the change (it was UTC+1 the week before)


def names(deliveries):
    return [(d.channel, d.template, d.mentions, d.recipients, d.not_before) for d in deliveries]


def test_critical_pages_at_once_day_and_night():
    for local in ("2026-11-24 11:00:00", "2026-11-28 02:00:00"):
        now = at(local)
        assert names(routing.opening(Severity.CRITICAL, "production", now, CFG)) == [
            ("discord", "critical", ("dev-d", "dev-a"), (), None),
            ("email", "critical", (), ("dev-d@petties.world", "dev-a@petties.world"), None)]


def test_high_and_medium_wait_for_the_next_business_morning():
    friday_night = at("2026-11-27 20:00:00")
    monday = at("2026-11-30 09:00:00")
    assert names(routing.opening(Severity.HIGH, "production", friday_night, CFG)) == [
        ("discord", "high", ("dev-d",), (), monday)]
    assert names(routing.opening(Severity.MEDIUM, "production", friday_night, CFG)) == [
        ("discord", "warning", (), (), monday), ("github", "warning", (), (), None)]
    assert names(routing.opening(Severity.HIGH, "production", at("2026-11-24 10:00:00"), CFG)) == [
        ("discord", "high", ("dev-d",), (), None)]


def test_low_is_a_github_issue_only():
    assert names(routing.opening(Severity.LOW, "production", at("2026-11-28 03:00:00"), CFG)) == [
        ("github", "warning", (), (), None)]


def test_staging_never_emails_or_mentions():
    for severity in Severity:
        for local in ("2026-11-24 11:00:00", "2026-11-28 02:00:00"):
            deliveries = routing.opening(severity, "staging", at(local), CFG)
            assert all(d.channel != "email" and d.mentions == () for d in deliveries)
            assert all(d.channel in ("discord_staging", "github") for d in deliveries)


def test_a_week_of_hourly_critical_and_high_alerts():
    """Walk a whole week hour by hour: Critical always now, High only in business hours."""
    start = at("2026-11-23 00:00:00")
    for hour in range(7 * 24):
        now = start + timedelta(hours=hour)
        business = calendar.is_business_time(now, CFG)
        assert all(d.not_before is None for d in routing.opening(Severity.CRITICAL, "production", now, CFG))
        high = routing.opening(Severity.HIGH, "production", now, CFG)[0]
        assert (high.not_before is None) is business
        if not business:
            assert high.not_before.astimezone(HCM).hour == 9 and high.not_before > now


def test_a_rise_to_critical_goes_to_every_critical_channel():
    got = names(routing.raised(Severity.CRITICAL, "production", at("2026-11-28 02:00:00"), CFG))
    assert got == [("discord", "raised", ("dev-d", "dev-a"), (), None),
                   ("email", "raised", (), ("dev-d@petties.world", "dev-a@petties.world"), None)]
    assert {d.reason for d in routing.raised(Severity.CRITICAL, "production", at("2026-11-28 02:00:00"), CFG)} \
        == {"severity-critical"}


def test_critical_emails_list_is_copied_and_routes_validate():
    cfg = variant({"notifications.critical_emails": ["cto@petties.world"]})
    email = routing.opening(Severity.CRITICAL, "production", at("2026-11-24 11:00:00"), cfg)[1]
    assert email.recipients[-1] == "cto@petties.world"
    with pytest.raises(Exception, match="neither on-call, team-lead"):
        variant({"notifications.routes.1.channels.0.mention": ["nobody"]})
