"""The daily summary through its real entry point: uptime from outages clipped to the local day (one outage
reported twice counted once), Sentry's figures or "n/a", incidents, top errors, action items, notes; stored
once, posted once, missed days caught up. Sentry's stats API is a fake at the HTTP boundary."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from shared.config.settings import settings
from shared.notify import delivery
from tests.conftest import fixture_json
from tests.fakes.sentry_stats import FakeSentryStats
from tests.golden_files import golden
from tests.notify_fixtures import local, scheduled, sentry_alert
from tests.teams import variant

TOKEN = "?token=test-ingest-token"


def at(monkeypatch, when):
    monkeypatch.setattr("shared.web.http.now", lambda: when)


def down(ingest, monkeypatch, when, monitor="793527", url="https://api.petties.world/health"):
    at(monkeypatch, when)
    payload = dict(fixture_json("uptimerobot_down.json"), monitorID=monitor, monitorURL=url)
    r = ingest.post("/uptimerobot" + TOKEN, json=payload)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["incident"]


def up(ingest, monkeypatch, when, monitor="793527", url="https://api.petties.world/health"):
    at(monkeypatch, when)
    payload = dict(fixture_json("uptimerobot_up.json"), monitorID=monitor, monitorURL=url)
    assert ingest.post("/uptimerobot" + TOKEN, json=payload).get_json()["status"] == "resolved"


def run(client, when, day: str | None = None):
    r = scheduled(client, when, "/" + (f"?date={day}" if day else ""))
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


@pytest.fixture
def sentry_stats(monkeypatch):
    fake = FakeSentryStats().serve()
    monkeypatch.setenv("SENTRY_API_TOKEN", fake.token)
    monkeypatch.setenv("SENTRY_API_URL", fake.base_url)
    settings.cache_clear()
    yield fake
    monkeypatch.delenv("SENTRY_API_TOKEN")
    monkeypatch.delenv("SENTRY_API_URL")
    settings.cache_clear()
    fake.stop()


DAY = date(2026, 11, 24)
WITH_ORG = variant(edit=lambda data: data.update(sentry={"organization": "petties"}))


def test_a_day_with_an_outage_across_midnight_and_the_same_outage_twice(ingest, daily, api, monkeypatch):
    # Backend down 23:30 Mon -> 00:20 Tue; a second monitor of the same service saw 23:50 -> 00:10: counted once
    down(ingest, monkeypatch, local("2026-11-23 23:30:00"))
    down(ingest, monkeypatch, local("2026-11-23 23:50:00"), monitor="800001")
    up(ingest, monkeypatch, local("2026-11-24 00:10:00"), monitor="800001")
    up(ingest, monkeypatch, local("2026-11-24 00:20:00"))
    # the web app down 14:00 -> 14:15 Tue
    down(ingest, monkeypatch, local("2026-11-24 14:00:00"), monitor="800002", url="https://petties.world")
    up(ingest, monkeypatch, local("2026-11-24 14:15:00"), monitor="800002", url="https://petties.world")
    report = run(daily, local("2026-11-25 09:00:00"))["report"]
    assert report["date"] == "2026-11-24"
    assert report["uptime"]["services"]["petties-backend"] == {"percent": round(100 * (1 - 20 / 1440), 2),
                                                               "downtime_minutes": 20}
    assert report["uptime"]["services"]["petties-web"]["downtime_minutes"] == 15
    assert report["uptime"]["services"]["ai-service"] == {"percent": 100.0, "downtime_minutes": 0}
    assert (report["uptime"]["percent"], report["uptime"]["downtime_minutes"]) == (round(100 * (1 - 35 / 1440), 2), 35)
    assert "Uptime: 97.57% (35 min downtime)" in report["text"]
    monday = run(daily, local("2026-11-25 09:05:00"), "2026-11-23")["report"]
    assert monday["uptime"]["services"]["petties-backend"]["downtime_minutes"] == 30   # 23:30 -> midnight
    assert api.get("/reports/2026-11-24").get_json()["uptime"] == report["uptime"]


def test_an_outage_still_open_at_midnight_counts_to_midnight(ingest, daily, monkeypatch):
    down(ingest, monkeypatch, local("2026-11-24 23:00:00"))
    report = run(daily, local("2026-11-25 09:00:00"))["report"]
    assert report["uptime"]["services"]["petties-backend"]["downtime_minutes"] == 60
    assert report["action_items"][0]["why"] == "unacknowledged"


def test_a_quiet_day_and_no_sources(daily, monkeypatch):
    report = run(daily, local("2026-11-25 09:00:00"))["report"]
    assert report["uptime"]["percent"] == 100.0 and report["uptime"]["downtime_minutes"] == 0
    assert report["traffic"]["note"] == "n/a (no source configured)" and report["traffic"]["requests"] is None
    assert report["by_severity"]["critical"] == {"opened": 0, "resolved": 0}
    assert report["top_errors"] == [] and report["action_items"] == []
    for line in ("Total Requests: n/a (no source configured)", "Avg Response Time: n/a (no source configured)",
                 "- nothing owed", "- nothing to note"):
        assert line in report["text"]


def test_uptime_with_nothing_watched_says_so(daily, monkeypatch):
    bare = variant(edit=lambda data: [s.update(monitors=[]) for s in data["services"]])
    from shared.config.settings import settings as current
    from shared.reports import daily as summary
    report = summary.compose(DAY, bare, current(), local("2026-11-25 09:00:00"))
    assert report["uptime"] == {"percent": None, "downtime_minutes": None, "services": {},
                                "note": "n/a (no source configured)"}
    assert "Uptime: n/a (no source configured)" in report["text"]


def test_the_report_renders_as_the_teams_template(ingest, daily, channels, monkeypatch):
    down(ingest, monkeypatch, local("2026-11-24 10:00:00"))
    opened = sentry_alert(ingest, monkeypatch, local("2026-11-24 10:05:00"), "9301", "Payment gateway down",
                          level="fatal")["incident"]
    for minute in range(6, 9):
        sentry_alert(ingest, monkeypatch, local(f"2026-11-24 10:{minute:02d}:00"), "9302", "Image upload slow")
    up(ingest, monkeypatch, local("2026-11-24 10:12:00"))
    at(monkeypatch, local("2026-11-24 10:20:00"))
    delivery.wait_idle()
    done = run(daily, local("2026-11-25 09:00:00"))
    delivery.wait_idle()
    text, ids = done["report"]["text"], {}
    text = re.sub(r"INC-[0-9A-Z]{6,10}", lambda m: ids.setdefault(m.group(0), f"INC-{len(ids) + 1:06d}"), text)
    assert opened in ids   # the Critical is owed: unacknowledged
    assert text == golden(Path(__file__).parent / "golden" / "daily_report.md", text)
    posted = [m["content"] for m in channels.prod() if m["content"].startswith("📊 PETTIES DAILY REPORT")]
    assert posted == [done["report"]["text"]]


def test_running_a_day_twice_posts_once_and_a_missed_run_is_caught_up(ingest, daily, channels, monkeypatch):
    first = run(daily, local("2026-11-22 09:00:00"))
    assert first["made"] == ["2026-11-21"]
    again = run(daily, local("2026-11-22 09:00:00"))    # Cloud Scheduler delivered twice
    assert again["made"] == [] and again["report"] == first["report"]
    # no run on the 23rd (an outage of this system); the 25th's run makes the 22nd, 23rd and 24th
    caught = run(daily, local("2026-11-25 09:00:00"))
    assert caught["made"] == ["2026-11-22", "2026-11-23", "2026-11-24"]
    delivery.wait_idle()
    titles = [m["content"].splitlines()[0] for m in channels.prod() if "DAILY REPORT" in m["content"]]
    assert titles == [f"📊 PETTIES DAILY REPORT - 2026-11-{d}" for d in (21, 22, 23, 24)]


def test_sentry_figures_error_rate_and_a_rate_limit(ingest, daily, sentry_stats, monkeypatch):
    from shared.reports import daily as summary
    day_start = local("2026-11-24 00:00:00")
    sentry_stats.add(day_start + timedelta(hours=3), "transaction", 120_000)
    sentry_stats.add(day_start + timedelta(hours=5), "error", 300)
    sentry_stats.add(day_start + timedelta(hours=5), "error", 50, outcome="filtered")
    sentry_stats.add(day_start - timedelta(hours=1), "error", 999)       # the day before
    now = local("2026-11-25 09:00:00")
    sentry_stats.fail_next(1, 429, retry_after=0.2)
    report = summary.compose(DAY, WITH_ORG, settings(), now)
    assert report["traffic"] == {"requests": 120_000, "errors": 300, "error_rate": 0.25, "note": None}
    assert "Total Requests: 120,000" in report["text"] and "Error Rate: 0.25% (300 errors)" in report["text"]
    assert [r["status"] for r in sentry_stats.requests] == [429, 200]
    sentry_stats.fail_next(1, 429, retry_after=60)   # longer than a daily job should wait: reported, not waited
    later = summary.compose(DAY, WITH_ORG, settings(), now)
    assert later["traffic"]["note"] == "n/a (Sentry: Sentry answered 429)"
    sentry_stats.token = "another"
    refused = summary.compose(DAY, WITH_ORG, settings(), now)
    assert refused["traffic"]["note"] == "n/a (Sentry: Sentry answered 401)"


def test_bad_dates_and_methods(daily, api):
    assert daily.get("/").status_code == 405
    r = daily.post("/?date=2026-13-01")
    assert r.status_code == 400 and "YYYY-MM-DD" in r.get_json()["error"]
    assert daily.post("/?date=2999-01-01").status_code == 400
    assert api.get("/reports/2026-11-24").status_code == 404
    assert api.get("/reports/yesterday").status_code == 400


def test_json_of_a_stored_report_is_plain(daily, api, monkeypatch):
    run(daily, local("2026-11-25 09:00:00"))
    stored = api.get("/reports/2026-11-24").get_json()
    assert stored["from"] == "2026-11-23T17:00:00.000Z" and stored["to"] == "2026-11-24T17:00:00.000Z"
    assert json.loads(json.dumps(stored)) == stored


def test_the_same_outage_from_uptimerobot_and_a_probe_is_counted_once(ingest, daily, monkeypatch):
    from shared.config import config
    from shared.incidents import ingest as incidents
    from shared.model import Action, Alert

    def probe(action, when, **extra):
        alert = Alert(source="probe", action=action, dedup_key=f"probe:petties-backend:{BACKEND_HEALTH}",
                      title="petties-backend is down: 503", level="down", level_table="uptimerobot",
                      project="petties-backend", location=BACKEND_HEALTH, actor="Health probe",
                      occurred_at=when, extra=extra)
        incidents.ingest(alert, config(), when, f"probe-test-{action.value}-{when.timestamp()}")

    down(ingest, monkeypatch, local("2026-11-24 10:00:00"))              # UptimeRobot: 10:00 -> 10:30
    probe(Action.TRIGGER, local("2026-11-24 10:10:00"))                   # the probe: 10:10 -> 10:40
    up(ingest, monkeypatch, local("2026-11-24 10:30:00"))
    probe(Action.RESOLVE, local("2026-11-24 10:40:00"), downtime_seconds=1800)
    report = run(daily, local("2026-11-25 09:00:00"))["report"]
    assert report["uptime"]["services"]["petties-backend"]["downtime_minutes"] == 40   # 10:00 -> 10:40, once
    assert report["uptime"]["downtime_minutes"] == 40


BACKEND_HEALTH = "https://api.petties.world/health"


def test_a_maintenance_window_is_left_out_of_uptime_and_said_so(ingest, daily, monkeypatch):
    from shared.config.settings import settings as current
    from shared.reports import daily as summary
    windowed = variant(edit=lambda data: data.update(maintenance=[
        {"name": "db upgrade", "matchers": {"service": "petties-backend"}, "comment": "Postgres 16",
         "weekly": {"days": ["tue"], "start": "22:00", "end": "23:00"}}]))
    down(ingest, monkeypatch, local("2026-11-24 22:00:00"))      # down through the window and 30 min past it
    up(ingest, monkeypatch, local("2026-11-24 23:30:00"))
    report = summary.compose(DAY, windowed, current(), local("2026-11-25 09:00:00"))
    backend = report["uptime"]["services"]["petties-backend"]
    assert backend == {"percent": round(100 * (1 - 30 / (1440 - 60)), 2), "downtime_minutes": 30,
                       "maintenance_minutes": 60}
    assert report["uptime"]["note"] == "maintenance left out (60 min)"
    assert "(30 min downtime; maintenance left out (60 min))" in report["text"]
