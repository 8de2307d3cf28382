"""The status page with people's status updates: public titles, statuses and component overrides, the updates in
the HTML and in Statuspage v2 JSON, hostile text in every field escaped, nothing internal; and scheduled
maintenances from the team file's windows in the v2 shape.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from shared.rules import status_page as rules
from shared.status import page as status_page
from tests.notify_fixtures import local, scheduled, sentry_alert
from tests.teams import variant
from tests.test_status_page import INCIDENT_STATES, NOW, status  # noqa: F401  (status: the page's test client)

HOSTILE = {"title": "<script>alert(1)</script> Checkout <b>slow</b>",
           "message": "<img src=x onerror=alert(2)> Payments & refunds fail",
           "impact": "\"><svg onload=alert(3)> some users", "eta": "</li><iframe src=//evil.example>"}
RAW = ("<script>alert(1)", "<b>slow", "<img src=x", "<svg onload", "<iframe")
PUBLIC_ID = re.compile(r"[0-9a-f]{12}")
V2_INCIDENT = {"id", "name", "status", "impact", "created_at", "updated_at", "monitoring_at", "resolved_at",
               "shortlink", "started_at", "page_id", "incident_updates", "components"}
V2_UPDATE = {"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at", "affected_components",
             "deliver_notifications", "custom_tweet", "tweet_id"}
V2_MAINTENANCE = V2_INCIDENT | {"scheduled_for", "scheduled_until"}


def iso_time(value: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", value), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def check_v2(item: dict, keys: set, statuses: set) -> None:
    """One incident or scheduled maintenance as Statuspage v2 gives it (INTEGRATIONS D2's captured shape)."""
    assert set(item) == keys and PUBLIC_ID.fullmatch(item["id"]) and item["status"] in statuses
    assert iso_time(item["created_at"]) <= iso_time(item["updated_at"])
    for u in item["incident_updates"]:
        assert set(u) == V2_UPDATE and PUBLIC_ID.fullmatch(u["id"]) and u["incident_id"] == item["id"]
        assert u["status"] in statuses and isinstance(u["body"], str) and u["body"]
        assert u["created_at"] == u["display_at"] == u["updated_at"] and iso_time(u["created_at"])
        assert u["custom_tweet"] is None and u["tweet_id"] is None
    times = [u["created_at"] for u in item["incident_updates"]]
    assert times == sorted(times, reverse=True)  # newest first


def write(api, monkeypatch, iid: str, when: str, **body):
    monkeypatch.setattr("shared.web.http.now", lambda: local(when))
    r = api.post(f"/incidents/{iid}/status-updates", json={"by": "dev-d", **body})
    assert r.status_code == 201, r.get_json()
    monkeypatch.setattr("shared.web.http.now", lambda: NOW)
    return r.get_json()


@pytest.fixture
def critical(ingest, api, monkeypatch) -> str:
    """A Critical on petties-backend, opened 50 minutes before NOW, with an internal title."""
    return sentry_alert(ingest, monkeypatch, NOW - timedelta(minutes=50), "9101",
                        "HikariPool-1 - Connection is not available (dev-d@petties.world)", level="fatal")["incident"]


def test_hostile_text_in_every_field_is_escaped_in_html_and_inert_in_json(status, api, critical, monkeypatch):  # noqa: F811
    write(api, monkeypatch, critical, "2026-11-27 15:15:00", status="investigating", next_update_minutes=30,
          component_status="partial_outage", **HOSTILE)
    write(api, monkeypatch, critical, "2026-11-27 15:40:00", status="identified",
          message="Found it <it> & fixing", by="dev-b")
    html = status.get("/").get_data(as_text=True)
    for raw in RAW:
        assert raw not in html, raw
    for text in (*HOSTILE.values(), "Found it <it> & fixing"):
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
        assert escaped in html, escaped
    for name in ("incidents", "summary", "incidents/unresolved"):
        r = status.get(f"/api/v2/{name}.json")
        assert r.headers["Content-Type"].startswith("application/json") and r.headers["X-Content-Type-Options"] == \
            "nosniff"
        raw_json = r.get_data(as_text=True)
        assert "<" not in raw_json and ">" not in raw_json and "&" not in raw_json  # \u003c ... : inert as HTML
    [incident] = status.get("/api/v2/incidents.json").get_json()["incidents"]
    assert incident["name"] == HOSTILE["title"]  # the same text to any JSON reader
    assert [u["body"] for u in incident["incident_updates"]] == [
        "Status: 🟡 Identified\nIssue: Found it <it> & fixing\nUpdates: We're working on this.",
        f"Status: 🔴 Investigating\nIssue: {HOSTILE['message']}\nImpact: {HOSTILE['impact']}\nETA: {HOSTILE['eta']}\n"
        "Updates: We're working on this and will update every 30 minutes."]


def test_the_latest_update_names_the_incident_and_sets_its_status_and_a_set_state_holds(status, api, critical,  # noqa: F811
                                                                                        monkeypatch, firestore):
    from shared.store import incidents as store
    write(api, monkeypatch, critical, "2026-11-27 15:15:00", status="investigating", title="Checkout is slow",
          message="Some payments take long.", component_status="degraded_performance")
    write(api, monkeypatch, critical, "2026-11-27 15:40:00", status="monitoring", message="A fix is out.")
    summary = status.get("/api/v2/summary.json").get_json()
    # the latest update sets no state: the one the person set holds (before issue 27 the Critical's severity came
    # back: major outage, though nobody said so)
    assert {c["name"]: c["status"] for c in summary["components"]}["petties-backend"] == "degraded_performance"
    [incident] = summary["incidents"]
    check_v2(incident, V2_INCIDENT, INCIDENT_STATES)
    assert (incident["name"], incident["status"], incident["impact"]) == ("Checkout is slow", "monitoring", "minor")
    assert incident["monitoring_at"] == "2026-11-27T08:40:00.000Z" and incident["resolved_at"] is None
    assert incident["started_at"] == incident["created_at"] == "2026-11-27T08:10:00.000Z"
    assert [u["status"] for u in incident["incident_updates"]] == ["monitoring", "investigating"]
    html = status.get("/").get_data(as_text=True)
    assert "Checkout is slow" in html and "A fix is out." in html and "Some payments take long." in html
    assert html.index("A fix is out.") < html.index("Some payments take long.")  # newest first
    everything = html + status.get("/api/v2/incidents.json").get_data(as_text=True)
    for internal in ("HikariPool", "petties.world", critical, "Dev D", "dev-d", store.get_incident(critical).dedup_key):
        assert internal not in everything, internal

    status_page.forget()
    write(api, monkeypatch, critical, "2026-11-27 15:50:00", status="identified", message="Worse than we thought.",
          component_status="partial_outage")
    components = status.get("/api/v2/components.json").get_json()["components"]
    assert {c["name"]: c["status"] for c in components}["petties-backend"] == "partial_outage"
    assert status.get("/api/v2/status.json").get_json()["status"] == {"indicator": "major",
                                                                     "description": "Partial System Outage"}


def test_a_public_resolved_clears_the_state_and_an_internal_one_closes_the_public_incident(status, api, critical,  # noqa: F811
                                                                                           monkeypatch):
    write(api, monkeypatch, critical, "2026-11-27 15:15:00", status="investigating", title="Checkout is slow",
          message="Some payments take long.")
    write(api, monkeypatch, critical, "2026-11-27 15:45:00", status="resolved", message="All good again.")
    summary = status.get("/api/v2/summary.json").get_json()
    assert summary["status"]["indicator"] == "none" and summary["incidents"] == []
    assert {c["name"]: c["status"] for c in summary["components"]}["petties-backend"] == "operational"
    [listed] = status.get("/api/v2/incidents.json").get_json()["incidents"]
    assert (listed["status"], listed["resolved_at"]) == ("resolved", "2026-11-27T08:45:00.000Z")

    status_page.forget()
    write(api, monkeypatch, critical, "2026-11-27 15:50:00", status="monitoring", message="Watching it once more.")
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-27 15:55:00"))
    assert api.post(f"/incidents/{critical}/resolve", json={"actor": "dev-d"}).status_code == 200
    monkeypatch.setattr("shared.web.http.now", lambda: NOW)
    [listed] = status.get("/api/v2/incidents.json").get_json()["incidents"]
    assert [u["status"] for u in listed["incident_updates"]] == ["resolved", "monitoring", "resolved", "investigating"]
    assert listed["incident_updates"][0]["body"] == rules.UPDATE_BODY["resolved"]
    assert listed["resolved_at"] == "2026-11-27T08:55:00.000Z"


def test_a_low_incident_is_listed_once_a_person_writes_for_it(status, api, ingest, monkeypatch):  # noqa: F811
    low = sentry_alert(ingest, monkeypatch, NOW - timedelta(minutes=30), "9102", "Typo in footer", level="warning",
                       project="petties-web")["incident"]
    assert status.get("/api/v2/incidents.json").get_json()["incidents"] == []
    status_page.forget()
    write(api, monkeypatch, low, "2026-11-27 15:45:00", status="identified", title="Footer text is wrong",
          message="A typo on the footer; a fix is on its way.")
    [listed] = status.get("/api/v2/incidents.json").get_json()["incidents"]
    assert (listed["name"], listed["impact"]) == ("Footer text is wrong", "none")
    assert {c["name"]: c["status"] for c in status.get("/api/v2/components.json").get_json()["components"]}[
        "petties-web"] == "operational"


# ---------------------------------------------------------------- scheduled maintenances

WINDOWS = [{"name": "db upgrade", "matchers": {"service": "ai-service"}, "comment": "Postgres 16 by Dev A",
            "weekly": {"days": ["fri"], "start": "15:00", "end": "17:00"}},
           {"name": "noisy disk alerts", "matchers": {"title": "*disk*"}, "comment": "not about a service",
            "weekly": {"days": ["fri"], "start": "15:00", "end": "17:00"}}]


def test_maintenance_windows_are_scheduled_maintenances_in_the_v2_shape(firestore):
    cfg = variant(edit=lambda data: data.update(maintenance=WINDOWS))
    view = status_page.compute(NOW, cfg)  # Friday 16:00: the weekly window is on
    url = "https://status.petties.world/status/"

    def served(name: str) -> dict:  # as the function serves it
        return json.loads(status_page.json_text(status_page.document(name, view, url)))

    listed = served("scheduled-maintenances")["scheduled_maintenances"]
    for m in listed:
        check_v2(m, V2_MAINTENANCE, {"scheduled", "in_progress", "completed"})
        assert m["impact"] == "maintenance" and m["name"] == "Scheduled maintenance of ai-service"
        assert [c["name"] for c in m["components"]] == ["ai-service"]
        assert m["shortlink"] == f"{url}#maintenance-{m['id']}"
        assert iso_time(m["scheduled_for"]) < iso_time(m["scheduled_until"]) == iso_time(m["scheduled_for"]) + \
            timedelta(hours=2)
    assert [(m["status"], m["scheduled_for"]) for m in listed] == [
        ("scheduled", "2026-12-04T08:00:00.000Z"), ("in_progress", "2026-11-27T08:00:00.000Z"),
        ("completed", "2026-11-20T08:00:00.000Z"), ("completed", "2026-11-13T08:00:00.000Z")]
    assert [u["status"] for u in listed[1]["incident_updates"]] == ["in_progress", "scheduled"]
    assert listed[2]["resolved_at"] == "2026-11-20T10:00:00.000Z" and listed[0]["resolved_at"] is None
    active = served("scheduled-maintenances/active")["scheduled_maintenances"]
    upcoming = served("scheduled-maintenances/upcoming")["scheduled_maintenances"]
    assert [m["id"] for m in active] == [listed[1]["id"]] and [m["id"] for m in upcoming] == [listed[0]["id"]]
    summary = served("summary")
    assert [m["status"] for m in summary["scheduled_maintenances"]] == ["in_progress", "scheduled"]
    text = json.dumps(summary) + status_page.html(view, url)
    assert "Postgres" not in text and "Dev A" not in text and "db upgrade" not in text and "disk" not in text
    html = status_page.html(view, url)
    assert html.count('class="incident maintenance"') == 2  # in progress and upcoming; completed ones only in JSON


def test_the_maintenance_documents_are_served(status):  # noqa: F811
    for name in ("scheduled-maintenances", "scheduled-maintenances/upcoming", "scheduled-maintenances/active"):
        r = status.get(f"/api/v2/{name}.json")
        assert r.status_code == 200 and r.get_json()["scheduled_maintenances"] == [], name
        assert set(r.get_json()["page"]) == {"id", "name", "url", "time_zone", "updated_at"}


# ---------------------------------------------------------------- recorded days

def test_recorded_days_give_the_same_bars_and_then_only_recent_incidents_are_read(ingest, daily, firestore,
                                                                                 monkeypatch):
    from shared.config import config
    from shared.store import incidents as store
    from tests.test_daily_summary import down, up
    for start, end in (("2026-11-07 10:00:00", "2026-11-07 11:00:00"), ("2026-11-26 10:00:00", "2026-11-26 12:24:00")):
        down(ingest, monkeypatch, local(start), url="https://petties.world")
        up(ingest, monkeypatch, local(end), url="https://petties.world")
    from_incidents = status_page.compute(NOW, config())
    # when the daily summary runs on the morning of Nov 27, it records the 89 closed days (once)
    r = scheduled(daily, "2026-11-27T02:00:00Z")
    assert r.status_code == 200, r.get_json()
    assert status_page.record_days(NOW, config()) == 0
    asked = []
    real = store.incidents_created_since
    monkeypatch.setattr(store, "incidents_created_since", lambda since, *a, **k: asked.append(since) or real(since,
                                                                                                           *a, **k))
    from_days = status_page.compute(NOW, config())
    assert asked == [NOW - timedelta(days=rules.RECENT_DAYS)]  # not 90 days of incidents
    assert [c["days"] for c in from_days["components"]] == [c["days"] for c in from_incidents["components"]]
    web = {d["date"]: d for d in from_days["components"][0]["days"]}
    assert web["2026-11-07"]["downtime_minutes"] == 60 and web["2026-11-26"]["downtime_minutes"] == 144
