"""Escalation end to end with a fake clock: ingest, the every-minute sweep, acknowledgements, real fakes."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from shared.notify import delivery
from tests.notify_fixtures import local, sentry_alert, sweep
from tests.teams import variant

SATURDAY_0200 = local("2026-11-28 02:00:00")   # Dev D on call, Dev A leads; DevOps is a stakeholder here


@pytest.fixture
def team(monkeypatch):
    cfg = variant({"stakeholders": ["devops"], "people.devops.email": "ops@petties.world"})
    for where in ("shared.incidents.webhook.config", "shared.sweep.config", "shared.web.api.config"):
        monkeypatch.setattr(where, lambda: cfg)
    return cfg


def firsts(channels):
    return [m["content"].splitlines()[0] for m in channels.prod()]


def test_critical_at_0200_saturday_pages_on_call_then_lead_then_stakeholders(ingest, escalate, channels, team,
                                                                           monkeypatch):
    incident = sentry_alert(ingest, monkeypatch, SATURDAY_0200, "5001", "Database unavailable", level="fatal")
    delivery.wait_idle()
    assert firsts(channels) == ["🔴🔴🔴 CRITICAL ALERT 🔴🔴🔴"]
    assert sorted(channels.smtp.messages[0].rcpt_tos) == ["dev-a@petties.world", "dev-d@petties.world"]
    for minute in range(1, 15):
        assert sweep(escalate, local(f"2026-11-28 02:{minute:02d}:00"))["escalated"] == 0
    assert sweep(escalate, local("2026-11-28 02:15:00"))["escalated"] == 1
    assert firsts(channels)[1] == f"⏰ SLA breach: {incident['incident']} response due 02:15 passed"
    assert channels.prod()[1]["content"].endswith("🔺 Escalated to level 2: @Dev A")
    assert channels.smtp.messages[1].rcpt_tos == ["dev-a@petties.world"]
    assert channels.smtp.messages[1].message["Subject"].startswith("[ESCALATION L2]")
    for minute in range(16, 45):
        assert sweep(escalate, local(f"2026-11-28 02:{minute:02d}:00"))["escalated"] == 0
    assert sweep(escalate, local("2026-11-28 02:45:00"))["escalated"] == 1
    assert firsts(channels)[2] == f"🔺 {incident['incident']} is still unacknowledged 45m after the alert"
    assert channels.prod()[2]["content"].endswith("🔺 Escalated to level 3: @DevOps @Dev A")
    assert sorted(channels.smtp.messages[2].rcpt_tos) == ["dev-a@petties.world", "ops@petties.world"]
    assert len(channels.prod()) == 3 and len(channels.smtp.messages) == 3


@pytest.mark.parametrize("ack_at,expected", [
    ("2026-11-28 02:10:00", []),
    ("2026-11-28 02:20:00", ["⏰ SLA breach"]),
])
def test_acknowledgement_stops_the_rest(ingest, escalate, api, channels, team, monkeypatch, ack_at, expected):
    incident = sentry_alert(ingest, monkeypatch, SATURDAY_0200, "5002", "Payment gateway down", level="fatal")
    delivery.wait_idle()
    minute = local("2026-11-28 02:05:00")
    while minute <= local("2026-11-28 03:30:00"):
        if minute == local(ack_at):
            monkeypatch.setattr("shared.web.http.now", lambda m=minute: m)
            r = api.post(f"/incidents/{incident['incident']}/ack", data=json.dumps({"actor": "dev-d"}))
            assert r.status_code == 200
        sweep(escalate, minute)
        minute += timedelta(minutes=5)   # every fifth minute's run: each step falls on one
    pages = [line[:12] for line in firsts(channels)[1:]]
    assert pages == expected


def test_a_page_decided_just_before_an_acknowledgement_is_not_sent(ingest, escalate, api, channels, team,
                                                                    monkeypatch):
    incident = sentry_alert(ingest, monkeypatch, SATURDAY_0200, "5003", "Security breach", level="fatal")
    delivery.wait_idle()
    opened_messages = len(channels.prod())
    channels.discord.fail_next(1, status=503)  # the level-2 page fails once and waits for its retry
    channels.smtp.fail_next(1)
    sweep(escalate, local("2026-11-28 02:15:00"))
    assert len(channels.prod()) == opened_messages and len(channels.smtp.messages) == 1
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-28 02:16:00"))
    api.post(f"/incidents/{incident['incident']}/ack", data=json.dumps({"actor": "dev-a"}))
    sweep(escalate, local("2026-11-28 02:30:00"))
    contents = [m["content"] for m in channels.prod()]
    assert not any(c.startswith("⏰") for c in contents), contents
    assert len(contents) == opened_messages and len(channels.smtp.messages) == 1


def test_a_high_at_2000_friday_waits_for_monday(ingest, escalate, channels, team, monkeypatch):
    friday = local("2026-11-27 20:00:00")
    incident = sentry_alert(ingest, monkeypatch, friday, "5004", "BookingCreationException", level="error")
    delivery.wait_idle()
    assert channels.prod() == []  # held for 09:00 Monday
    for when in ("2026-11-27 21:00:00", "2026-11-28 10:00:00", "2026-11-29 23:00:00", "2026-11-30 08:59:00"):
        sweep(escalate, local(when))
    assert channels.prod() == []
    sweep(escalate, local("2026-11-30 09:00:00"))
    assert sorted(firsts(channels)) == ["## On-Call Handoff - 2026-11-30", "🟠 HIGH ALERT - petties-backend"]
    alert = next(m["content"] for m in channels.prod() if m["content"].startswith("🟠"))
    assert "@Dev A - Please investigate" in alert  # Monday's on-call is Dev A
    handoff = next(m["content"] for m in channels.prod() if m["content"].startswith("## On-Call Handoff"))
    assert "### From: @Dev D\n### To: @Dev A" in handoff
    assert f"- [ ] {incident['incident']}: BookingCreationException (High, open)" in handoff
    sweep(escalate, local("2026-11-30 10:00:00"))
    assert firsts(channels)[2] == f"⏰ SLA breach: {incident['incident']} response due 10:00 passed"


def test_duplicate_and_concurrent_sweeps_page_each_person_once(ingest, escalate_app, channels, team, monkeypatch,
                                                                firestore):
    sentry_alert(ingest, monkeypatch, SATURDAY_0200, "5005", "Database unavailable", level="fatal")
    delivery.wait_idle()
    # Saturday 02:15 local is Friday 19:15 UTC: the level-2 moment, swept by overlapping and repeated runs
    times = ["2026-11-27T19:15:00Z", "2026-11-27T19:15:00Z", "2026-11-27T19:15:30Z", "2026-11-27T19:16:00Z"] * 2
    monkeypatch.setattr("shared.web.http.now", lambda: datetime(2026, 11, 27, 19, 16, tzinfo=timezone.utc))

    def run(stamp):
        client = escalate_app.test_client()
        return client.post("/", headers={"X-CloudScheduler-ScheduleTime": stamp}).get_json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, times))
    assert sorted(r["status"] for r in results).count("done") == 3  # one run per schedule time
    delivery.wait_idle()
    pages = [m for m in channels.prod() if m["content"].startswith("⏰")]
    assert len(pages) == 1 and "response due 02:15 passed" in pages[0]["content"]
    assert len(channels.prod()) == 2
    assert [m.rcpt_tos for m in channels.smtp.messages][1:] == [["dev-a@petties.world"]]  # the lead, once


def test_an_incident_muted_in_sentry_does_not_escalate_until_unmuted(ingest, escalate, channels, team, monkeypatch):
    from tests.conftest import fixture_json, sentry_headers
    opened = sentry_alert(ingest, monkeypatch, SATURDAY_0200, "5006", "Database unavailable", level="fatal")
    delivery.wait_idle()

    def workflow(action):
        payload = fixture_json("sentry_issue_ignored.json")
        payload["action"] = action
        payload["data"]["issue"]["id"] = "5006"
        body = json.dumps(payload).encode()
        assert ingest.post("/sentry", data=body, headers=sentry_headers(body, "issue")).get_json()["status"] == \
            "updated"

    workflow("ignored")
    assert sweep(escalate, local("2026-11-28 02:30:00"))["escalated"] == 0
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-28 02:40:00"))
    workflow("unresolved")
    assert sweep(escalate, local("2026-11-28 02:41:00"))["escalated"] == 1
    assert [m["content"].splitlines()[0] for m in channels.prod() if m["content"].startswith("⏰")] == [
        f"⏰ SLA breach: {opened['incident']} response due 02:15 passed"]


def test_in_the_leads_own_week_level_2_pages_the_backup_not_the_lead_again(ingest, escalate, api, channels, team,
                                                                          monkeypatch):
    """The GUIDE: Dev A, the lead, is on call in week 1 and is always the backup; that week the backup is the next
    of the rotation, Dev B, so an unanswered Critical reaches someone new."""
    saturday = local("2026-12-05 02:00:00")   # the week from Mon 30 Nov 09:00 is Dev A's
    assert api.get("/oncall?at=2026-12-05T02:00:00%2B07:00").get_json()["backup"]["id"] == "dev-b"
    incident = sentry_alert(ingest, monkeypatch, saturday, "5009", "Database unavailable", level="fatal")
    delivery.wait_idle()
    assert channels.smtp.messages[0].rcpt_tos == ["dev-a@petties.world"]   # on call and lead: one person
    assert sweep(escalate, local("2026-12-05 02:15:00"))["escalated"] == 1
    assert firsts(channels)[1] == f"⏰ SLA breach: {incident['incident']} response due 02:15 passed"
    assert channels.prod()[1]["content"].endswith("🔺 Escalated to level 2: @Dev B")
    assert channels.smtp.messages[1].rcpt_tos == ["dev-b@petties.world"]
    timeline = api.get(f"/incidents/{incident['incident']}").get_json()["timeline"]
    assert any(e["detail"] == "level 2: response SLA breached: the on-call's backup is paged" for e in timeline)
