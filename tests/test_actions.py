"""People drive incidents through the API: acknowledge, resolve, severity (on-call vs team lead), notes, on-call."""
from __future__ import annotations

import json

import pytest

from shared.notify import delivery
from shared.store import outbox
from tests.notify_fixtures import local, sentry_alert

TUESDAY = local("2026-11-24 10:00:00")   # Dev D is on call this week; Dev A leads


@pytest.fixture
def clock(monkeypatch):
    """Set the time every entry point sees."""
    def set_to(when):
        monkeypatch.setattr("shared.web.http.now", lambda: when)
        return when
    set_to(TUESDAY)
    return set_to


def post(api, path, **body):
    return api.post(path, data=json.dumps(body), headers={"Content-Type": "application/json"})


def open_incident(ingest, monkeypatch, issue="6001", title="Image upload slow", level="error", users=1):
    return sentry_alert(ingest, monkeypatch, TUESDAY, issue, title, level=level, users=users)["incident"]


def test_first_acknowledgement_sets_the_owner_and_time_to_acknowledge(ingest, api, monkeypatch, clock):
    incident = open_incident(ingest, monkeypatch)
    clock(local("2026-11-24 10:12:00"))
    got = post(api, f"/incidents/{incident}/ack", actor="Dev D").get_json()
    assert (got["status"], got["owner"], got["time_to_acknowledge_seconds"]) == ("acknowledged", "dev-d", 720)
    assert got["sla_response_met"] is True and got["acknowledged_at"].startswith("2026-11-24T03:12:00")
    clock(local("2026-11-24 10:20:00"))
    before = api.get(f"/incidents/{incident}").get_json()
    again = post(api, f"/incidents/{incident}/ack", actor="dev-b")
    assert again.status_code == 409
    assert again.get_json() == {"error": f"{incident} is already acknowledged by Dev D at 2026-11-24 10:12:00 "
                                         "+07:00; nothing changed", "owner": "dev-d",
                                "acknowledged_at": "2026-11-24T03:12:00.000Z"}
    assert post(api, f"/incidents/{incident}/ack", actor="dev-d").status_code == 200   # the owner again: done
    assert api.get(f"/incidents/{incident}").get_json() == before


def test_resolve_by_hand_then_no_more_changes(ingest, api, monkeypatch, clock):
    incident = open_incident(ingest, monkeypatch)
    clock(local("2026-11-24 11:00:00"))
    got = post(api, f"/incidents/{incident}/resolve", actor="dev-d", detail="rolled back").get_json()
    assert (got["status"], got["time_to_resolve_seconds"], got["sla_resolution_met"]) == ("resolved", 3600, True)
    assert got["timeline"][-1] == {"at": got["resolved_at"], "actor": "dev-d", "action": "resolved",
                                   "detail": "rolled back"}
    for action in ("resolve", "ack", "severity"):
        r = post(api, f"/incidents/{incident}/{action}", actor="dev-a", severity="high")
        assert r.status_code == 409 and "resolved" in r.get_json()["error"]


def test_on_call_changes_severity_others_may_not_and_the_lead_pins_it(ingest, api, monkeypatch, clock):
    incident = open_incident(ingest, monkeypatch)  # Medium
    raised = post(api, f"/incidents/{incident}/severity", actor="dev-d", severity="high", reason="checkout down")
    assert raised.status_code == 200
    got = raised.get_json()
    assert (got["severity"], got["severity_pinned"]) == ("high", False)
    assert got["severity_reason"] == "set by Dev D, on-call: checkout down"
    assert got["respond_by"].startswith("2026-11-24T04:00:00")  # the High SLA: one hour from 10:00
    assert outbox.get(outbox.record_id(incident, "severity-high", "discord")) is not None
    assert post(api, f"/incidents/{incident}/severity", actor="dev-b", severity="low").status_code == 403
    pinned = post(api, f"/incidents/{incident}/severity", actor="Dev A", severity="low").get_json()
    assert (pinned["severity"], pinned["severity_pinned"]) == ("low", True)
    r = post(api, f"/incidents/{incident}/severity", actor="dev-d", severity="critical")
    assert r.status_code == 409 and "pinned" in r.get_json()["error"]
    # an automatic rise (150 users) is recorded but cannot override the pin
    sentry_alert(ingest, monkeypatch, TUESDAY, "6001", "Image upload slow", users=150)
    got = api.get(f"/incidents/{incident}").get_json()
    assert (got["severity"], got["severity_pinned"]) == ("low", True)
    assert post(api, f"/incidents/{incident}/severity", actor="dev-a", severity="medium").get_json()["severity"] \
        == "medium"


@pytest.mark.parametrize("body,status,message", [
    ({}, 400, "actor is missing"),
    ({"actor": "nobody"}, 400, "unknown actor 'nobody'"),
    ({"actor": "dev-d", "severity": "urgent"}, 400, "unknown severity 'urgent'"),
])
def test_bad_requests_are_400_and_change_nothing(ingest, api, monkeypatch, clock, body, status, message):
    incident = open_incident(ingest, monkeypatch)
    before = api.get(f"/incidents/{incident}").get_json()
    r = post(api, f"/incidents/{incident}/severity", **body)
    assert r.status_code == status and message in r.get_json()["error"]
    assert api.get(f"/incidents/{incident}").get_json() == before


def test_unknown_incident_action_and_method(ingest, api, monkeypatch, clock):
    incident = open_incident(ingest, monkeypatch)
    assert post(api, "/incidents/INC-ZZZZZZ/ack", actor="dev-d").status_code == 404
    assert post(api, f"/incidents/{incident}/explode", actor="dev-d").status_code == 404
    assert api.get(f"/incidents/{incident}/ack").status_code == 405
    r = api.post(f"/incidents/{incident}/ack", data="{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.get_json()["error"]


def test_notes_go_on_the_timeline(ingest, api, monkeypatch, clock):
    incident = open_incident(ingest, monkeypatch)
    got = post(api, f"/incidents/{incident}/note", actor="dev-c", text="🔍 connection pool at 100%").get_json()
    assert got["timeline"][-1]["actor"] == "dev-c" and got["timeline"][-1]["detail"] == "🔍 connection pool at 100%"


def test_who_is_on_call_with_an_override(ingest, api, monkeypatch, clock):
    assert api.get("/oncall?at=2026-11-24T10:00:00%2B07:00").get_json() == {
        "at": "2026-11-24T03:00:00.000Z",
        "primary": {"id": "dev-d", "name": "Dev D", "email": "dev-d@petties.world", "discord_id": None},
        "rotation_primary": {"id": "dev-d", "name": "Dev D", "email": "dev-d@petties.world", "discord_id": None},
        "backup": {"id": "dev-a", "name": "Dev A", "email": "dev-a@petties.world", "discord_id": None},
        "override": None, "next_handover": "2026-11-30T02:00:00.000Z"}
    created = post(api, "/oncall/overrides", covering="Dev B", **{"for": "dev-d"}, start="2026-11-24T12:00:00",
                   end="2026-11-25T12:00:00", actor="dev-d", note="dentist")
    assert created.status_code == 201
    override = created.get_json()
    during = api.get("/oncall?at=2026-11-24T13:00:00%2B07:00").get_json()
    assert during["primary"]["id"] == "dev-b" and during["rotation_primary"]["id"] == "dev-d"
    assert during["override"]["id"] == override["id"] and during["override"]["note"] == "dentist"
    # an alert during the override pages the person covering
    clock(local("2026-11-24 13:00:00"))
    incident = sentry_alert(ingest, monkeypatch, local("2026-11-24 13:00:00"), "6002", "Data loss", level="fatal")
    delivery.wait_idle()
    record = outbox.get(outbox.record_id(incident["incident"], "opened", "discord"))
    assert record["mentions"] == ["dev-b", "dev-a"]
    assert api.delete(f"/oncall/overrides/{override['id']}").status_code == 204
    assert api.get("/oncall?at=2026-11-24T13:00:00%2B07:00").get_json()["primary"]["id"] == "dev-d"
    assert api.delete(f"/oncall/overrides/{override['id']}").status_code == 404
    bad = post(api, "/oncall/overrides", covering="dev-b", start="2026-11-25T12:00:00", end="2026-11-24T12:00:00")
    assert bad.status_code == 400 and "end must be after start" in bad.get_json()["error"]


def test_handoff_on_demand_with_notes_and_near_breach(ingest, api, monkeypatch, clock):
    incident = open_incident(ingest, monkeypatch, issue="6010", title="Payment gateway down", level="fatal")
    assert post(api, "/handoff/notes", actor="dev-d", text="New deployment Tuesday 10:00").status_code == 201
    got = api.get("/handoff").get_json()
    assert (got["from"], got["to"], got["date"]) == ("dev-c", "dev-d", "2026-11-23")
    assert got["active"] == [{"id": incident, "title": "Payment gateway down", "severity": "Critical",
                              "status": "open"}]
    assert f"{incident}: response due 2026-11-24 10:15:00 +07:00 (near an SLA breach)" in got["watch"]
    assert "New deployment Tuesday 10:00 (@Dev D)" in got["notes"]
    assert got["text"].startswith("## On-Call Handoff - 2026-11-23\n\n### From: @Dev C\n### To: @Dev D")
    assert got["overrides"] == []


def test_handoff_names_the_rotation_and_shows_an_override_as_such(api, firestore, clock):
    # Dev D's week (from Mon 2026-11-23 09:00); Dev B covers one day
    made = post(api, "/oncall/overrides", covering="dev-b", start="2026-11-24T09:00:00", end="2026-11-25T09:00:00",
                actor="dev-d")
    assert made.status_code == 201, made.get_data(as_text=True)
    got = api.get("/handoff").get_json()   # the clock says Tue 2026-11-24 10:00 local
    assert (got["from"], got["to"]) == ("dev-c", "dev-d")
    assert got["overrides"] == [{"covering": "dev-b", "for": "dev-d", "until": "2026-11-25 09:00:00 +07:00"}]
    assert "### To: @Dev D\nOverride: @Dev B covers for Dev D until 2026-11-25 09:00:00 +07:00\n" in got["text"]


def test_metrics_per_severity(ingest, api, monkeypatch, clock):
    fast = open_incident(ingest, monkeypatch, issue="6020", title="Database unavailable", level="fatal")
    slow = open_incident(ingest, monkeypatch, issue="6021", title="Data loss", level="fatal")
    clock(local("2026-11-24 10:05:00"))
    post(api, f"/incidents/{fast}/ack", actor="dev-d")
    clock(local("2026-11-24 10:30:00"))
    post(api, f"/incidents/{slow}/ack", actor="dev-d")
    clock(local("2026-11-24 13:00:00"))
    post(api, f"/incidents/{fast}/resolve", actor="dev-d")
    got = api.get("/metrics?from=2026-11-24T00:00:00&to=2026-11-25T00:00:00").get_json()
    critical = got["by_severity"]["critical"]
    assert (critical["incidents"], critical["acknowledged"], critical["resolved"]) == \
        (2, 2, 1)
    assert (critical["median_time_to_acknowledge_seconds"], critical["max_time_to_acknowledge_seconds"]) == (1050, 1800)
    assert (critical["response_sla_met"], critical["response_sla_breached"]) == (1, 1)
    assert (critical["resolution_sla_met"], critical["resolution_sla_breached"]) == (0, 1)  # 3 h > 2 h
