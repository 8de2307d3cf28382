"""Hardening, second round, finding 7: Cloud Scheduler's X-CloudScheduler-ScheduleTime is not taken on trust.
A stamp more than 10 minutes from the function's clock is a 400 that changes nothing (and is logged), and no
report is made for a local day that is not over, whatever the stamp or ?date= says."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.notify import delivery
from tests.conftest import dump_firestore
from tests.notify_fixtures import local, scheduled, sentry_alert

SATURDAY_0200 = local("2026-11-28 02:00:00")   # outside business hours: a Critical pages, then escalates


def _at(monkeypatch, when):
    monkeypatch.setattr("shared.web.http.now", lambda: when)


def _stamped(client, when, path="/"):
    return client.post(path, headers={"X-CloudScheduler-ScheduleTime": when.strftime("%Y-%m-%dT%H:%M:%SZ")})


@pytest.mark.parametrize("skew", [timedelta(days=3), timedelta(minutes=11), -timedelta(minutes=11),
                                  -timedelta(days=400)])
def test_an_escalate_stamp_far_from_the_clock_is_a_400_and_escalates_nothing(ingest, escalate, channels, firestore,
                                                                          monkeypatch, capfd, skew):
    """Before: a stamp three days ahead escalated every open incident to its last level at once."""
    sentry_alert(ingest, monkeypatch, SATURDAY_0200, "8701", "Database unavailable", level="fatal")
    delivery.wait_idle()
    sent = len(channels.prod())
    _at(monkeypatch, SATURDAY_0200 + timedelta(minutes=1))
    before = dump_firestore(firestore)
    capfd.readouterr()
    r = _stamped(escalate, SATURDAY_0200 + timedelta(minutes=1) + skew)
    assert r.status_code == 400, r.get_data(as_text=True)
    assert "more than 10 minutes from this function's clock" in r.get_json()["error"]
    delivery.wait_idle()
    assert dump_firestore(firestore) == before and len(channels.prod()) == sent
    logged = [json.loads(line) for line in capfd.readouterr().out.splitlines() if "scheduler time refused" in line]
    assert [entry["severity"] for entry in logged] == ["WARNING"]


@pytest.mark.parametrize("skew", [timedelta(minutes=9), -timedelta(minutes=9), timedelta(0)])
def test_a_stamp_within_ten_minutes_runs(escalate, firestore, monkeypatch, skew):
    now = SATURDAY_0200 + timedelta(minutes=20)
    _at(monkeypatch, now)
    r = _stamped(escalate, now + skew)
    assert (r.status_code, r.get_json()["status"]) == (200, "done"), r.get_data(as_text=True)


def test_a_daily_summary_stamped_days_ahead_is_a_400_and_stores_no_report(daily, api, firestore, monkeypatch):
    """Before: a stamp in the future stored and posted the report of a day that had not happened, so the real
    run for that day posted nothing."""
    _at(monkeypatch, local("2026-11-25 09:00:00"))
    r = _stamped(daily, local("2026-11-28 09:00:00"))
    assert r.status_code == 400 and "10 minutes" in r.get_json()["error"]
    assert dump_firestore(firestore) == {}
    assert api.get("/reports/2026-11-27").status_code == 404


def test_a_stamp_just_past_local_midnight_reports_only_days_that_are_over(daily, api, channels, monkeypatch):
    # the clock says 23:56 on the 24th (local); Scheduler's stamp, 5 minutes ahead, says 00:01 on the 25th
    _at(monkeypatch, local("2026-11-24 23:56:00"))
    r = _stamped(daily, local("2026-11-25 00:01:00"))
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["date"] == "2026-11-23"   # the 24th is not over
    assert api.get("/reports/2026-11-24").status_code == 404
    # the real run after midnight makes the 24th's report
    assert scheduled(daily, local("2026-11-25 00:02:00")).get_json()["made"] == ["2026-11-24"]


@pytest.mark.parametrize("day", ["2026-11-25", "2026-11-26"])
def test_a_report_asked_for_today_or_later_is_a_400(daily, firestore, monkeypatch, day):
    _at(monkeypatch, local("2026-11-25 09:00:00"))
    r = daily.post(f"/?date={day}")
    assert r.status_code == 400 and "a day that is over" in r.get_json()["error"], r.get_data(as_text=True)
    assert dump_firestore(firestore) == {}
    assert daily.post("/?date=2026-11-24").status_code == 200
