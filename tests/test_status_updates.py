"""Public status updates: written through the API in the team's external template, refused field by field,
idempotent on a client's id, recorded on the timeline; and the reminder when a promised update is late
(escalate sweeps at fake schedule times against the real emulator).
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.rules import status_updates as rules
from shared.store import outbox
from tests.conftest import dump_firestore, fixture_json, sentry_headers
from tests.notify_fixtures import local, sentry_alert, sweep

OPENED = local("2026-11-24 10:00:00")   # a Tuesday in business hours; Dev D is on call that week
FIRST = {"status": "investigating", "title": "Payments failing at checkout",
         "message": "Some payments fail at checkout.", "impact": "About 1 in 10 payments fails; retrying works.",
         "eta": "within the hour", "next_update_minutes": 30, "by": "dev-d"}


def at(monkeypatch, when):
    monkeypatch.setattr("shared.web.http.now", lambda: when)


@pytest.fixture
def incident(ingest, monkeypatch) -> str:
    from shared.notify import delivery
    iid = sentry_alert(ingest, monkeypatch, OPENED, "8101", "HikariPool-1 - Connection is not available",
                       level="fatal")["incident"]
    delivery.wait_idle()  # its opening notifications are out: what follows compares Firestore before and after
    return iid


def post(api, iid: str, body: dict, **headers):
    return api.post(f"/incidents/{iid}/status-updates", json=body, headers=headers)


def test_the_first_update_reads_as_the_teams_external_template(api, incident, monkeypatch):
    at(monkeypatch, local("2026-11-24 10:05:00"))
    r = post(api, incident, FIRST)
    assert r.status_code == 201, r.get_json()
    got = r.get_json()
    assert got["text"] == (
        "## Status Update - petties-backend\n\n"
        "**Status:** 🔴 Investigating\n\n"
        "**Issue:** Some payments fail at checkout.\n\n"
        "**Impact:** About 1 in 10 payments fails; retrying works.\n\n"
        "**ETA:** within the hour\n\n"
        "**Updates:** We're working on this and will update every 30 minutes.")
    assert (got["n"], got["by"], got["title"], got["incident"]) == (1, "dev-d", FIRST["title"], incident)
    assert got["created_at"] == "2026-11-24T03:05:00.000Z" and got["next_update_due"] == "2026-11-24T03:35:00.000Z"
    timeline = api.get(f"/incidents/{incident}").get_json()["timeline"]
    assert timeline[-1]["action"] == "status update" and timeline[-1]["actor"] == "dev-d"
    assert timeline[-1]["detail"] == "investigating: Some payments fail at checkout."


def test_later_updates_keep_the_title_and_are_listed_in_order(api, incident, monkeypatch):
    at(monkeypatch, local("2026-11-24 10:05:00"))
    post(api, incident, FIRST)
    at(monkeypatch, local("2026-11-24 10:30:00"))
    second = post(api, incident, {"status": "monitoring", "message": "A fix is out; we are watching it.",
                                  "by": "Dev D"}).get_json()
    assert second["title"] is None and second["n"] == 2 and second["next_update_due"] is None
    assert "🔵 Monitoring" in second["text"] and "**Updates:** We're working on this." in second["text"]
    at(monkeypatch, local("2026-11-24 10:50:00"))
    third = post(api, incident, {"status": "resolved", "message": "Payments work again.", "by": "dev-a"}).get_json()
    assert "🟢 Resolved" in third["text"] and "Updates" not in third["text"]
    listed = api.get(f"/incidents/{incident}/status-updates").get_json()
    assert listed["count"] == 3 and [u["status"] for u in listed["status_updates"]] == [
        "investigating", "monitoring", "resolved"]
    # a public "resolved" is communication only: the team's own incident stays open until someone resolves it
    assert api.get(f"/incidents/{incident}").get_json()["status"] == "open"


def test_the_same_id_twice_stores_one_update(api, incident, monkeypatch, firestore):
    at(monkeypatch, local("2026-11-24 10:05:00"))
    first = post(api, incident, {**FIRST, "id": "draft-1"})
    assert first.status_code == 201
    before = dump_firestore(firestore)
    again = post(api, incident, {**FIRST, "id": "draft-1"})
    assert again.status_code == 200 and again.get_json() == first.get_json()
    by_header = post(api, incident, FIRST, **{"Idempotency-Key": "draft-1"})
    assert by_header.status_code == 200 and by_header.get_json()["id"] == first.get_json()["id"]
    assert dump_firestore(firestore) == before
    other = post(api, incident, {**FIRST, "message": "Something else", "id": "draft-1"})
    assert other.status_code == 409 and "different status update" in other.get_json()["error"]
    assert dump_firestore(firestore) == before


BAD = [
    ({"status": None}, "status is missing"),
    ({"status": "fixing"}, "status: expected one of investigating, identified, monitoring, resolved"),
    ({"title": None}, "title is missing"),
    ({"title": "x" * 201}, "title: at most 200 characters"),
    ({"title": 7}, "title: expected text"),
    ({"message": None}, "message is missing"),
    ({"message": "   "}, "message is empty"),
    ({"message": "x" * 2001}, "message: at most 2000 characters"),
    ({"impact": ["a"]}, "impact: expected text"),
    ({"eta": "x" * 101}, "eta: at most 100 characters"),
    ({"next_update_minutes": "30"}, "next_update_minutes: expected a whole number"),
    ({"next_update_minutes": True}, "next_update_minutes: expected a whole number"),
    ({"next_update_minutes": 4}, "next_update_minutes: expected 5 to 1440"),
    ({"next_update_minutes": 1441}, "next_update_minutes: expected 5 to 1440"),
    ({"status": "resolved"}, "next_update_minutes: a resolved update promises no further update"),
    ({"component_status": "under_maintenance"}, "component_status: expected one of operational, degraded_perf"),
    ({"by": None}, "by is missing"),
    ({"by": "Mallory"}, "by: unknown person 'Mallory'"),
    ({"severity": "high"}, "unknown field 'severity'"),
    ({"id": "has spaces"}, "id: expected 1-100 letters"),
]


@pytest.mark.parametrize(("change", "said"), BAD, ids=[s.split(":")[0].split(" ")[0] for _, s in BAD])
def test_a_wrong_field_is_400_naming_it_and_changes_nothing(api, incident, firestore, change, said):
    before = dump_firestore(firestore)
    r = post(api, incident, {k: v for k, v in {**FIRST, **change}.items() if v is not None})
    assert r.status_code == 400 and r.get_json()["error"].startswith(said), r.get_json()
    assert dump_firestore(firestore) == before


def test_unknown_incident_wrong_method_no_token_staging_and_bad_json(api, api_app, incident, ingest, monkeypatch,
                                                                      firestore):
    before = dump_firestore(firestore)
    assert post(api, "INC-ZZZZZZ", FIRST).status_code == 404
    assert post(api, "not-an-id!", FIRST).status_code == 404
    assert api.get("/incidents/INC-ZZZZZZ/status-updates").status_code == 404
    assert api.delete(f"/incidents/{incident}/status-updates").status_code == 405
    assert api_app.test_client().post(f"/incidents/{incident}/status-updates", json=FIRST).status_code == 401
    r = api.post(f"/incidents/{incident}/status-updates", data=b"{nope", content_type="application/json")
    assert r.status_code == 400 and "JSON" in r.get_json()["error"]
    assert post(api, incident, {**FIRST, "id": "x", }, **{"Idempotency-Key": "y"}).status_code == 400
    assert dump_firestore(firestore) == before
    event = fixture_json("sentry_error_created.json")
    event["data"]["error"].update(environment="staging", level="fatal")
    body = json.dumps(event).encode()
    staging = ingest.post("/sentry", data=body, headers=sentry_headers(body, "error")).get_json()["incident"]
    assert api.get(f"/incidents/{staging}").get_json()["environment"] == "staging"
    r = post(api, staging, FIRST)
    assert r.status_code == 409 and "never shows on the public status page" in r.get_json()["error"]


def test_updates_on_a_resolved_incident_are_allowed(api, incident, monkeypatch):
    at(monkeypatch, local("2026-11-24 10:40:00"))
    assert api.post(f"/incidents/{incident}/resolve", json={"actor": "dev-d"}).status_code == 200
    r = post(api, incident, {**FIRST, "status": "resolved", "next_update_minutes": None})
    assert r.status_code == 201 and r.get_json()["status"] == "resolved"


def test_body_text_and_emoji_per_status():
    update = {"status": "identified", "message": "m", "impact": None, "eta": "soon", "next_update_minutes": None}
    assert rules.body(update) == "Status: 🟡 Identified\nIssue: m\nETA: soon\nUpdates: We're working on this."
    assert rules.EMOJI == {"investigating": "🔴", "identified": "🟡", "monitoring": "🔵", "resolved": "🟢"}


# ---------------------------------------------------------------- the reminder

def reminders(iid: str) -> list[dict]:
    from google.cloud.firestore import FieldFilter

    from shared.store.client import client
    query = client().collection("outbox").where(filter=FieldFilter("incident_id", "==", iid))
    return sorted((d.to_dict() for d in query.stream() if "status-update" in d.id), key=lambda r: r["id"])


def test_a_late_promised_update_reminds_the_owner_once_per_update(api, escalate, incident, monkeypatch):
    at(monkeypatch, local("2026-11-24 10:02:00"))
    api.post(f"/incidents/{incident}/ack", json={"actor": "dev-b"})
    at(monkeypatch, local("2026-11-24 10:05:00"))
    post(api, incident, FIRST)                                           # "we will update every 30 minutes"
    sweep(escalate, local("2026-11-24 10:34:00"))
    assert reminders(incident) == []                                      # not late yet
    for minute in (35, 36, 37):                                           # late; the sweep runs every minute
        sweep(escalate, local(f"2026-11-24 10:{minute}:00"))
    sweep(escalate, local("2026-11-24 10:36:00"))                         # a schedule time delivered twice
    [late] = reminders(incident)
    assert late["reason"] == "status-update-1-late" and late["channel"] == "discord"
    assert late["text"].startswith(f"⏰ {incident}: the public status update promised every 30 min is due "
                                   "(last one 2026-11-24 10:05:00 +07:00)")
    assert late["text"].endswith("@Dev B")                                # the owner (no Discord id in the file)
    at(monkeypatch, local("2026-11-24 10:40:00"))
    post(api, incident, {"status": "identified", "message": "Found it.", "next_update_minutes": 15, "by": "dev-b"})
    sweep(escalate, local("2026-11-24 10:54:00"))
    assert len(reminders(incident)) == 1
    sweep(escalate, local("2026-11-24 10:55:00"))
    sweep(escalate, local("2026-11-24 10:58:00"))
    assert [r["reason"] for r in reminders(incident)] == ["status-update-1-late", "status-update-2-late"]


def test_no_reminder_when_updated_in_time_resolved_or_nothing_promised(api, escalate, incident, ingest,
                                                                        monkeypatch):
    at(monkeypatch, local("2026-11-24 10:05:00"))
    post(api, incident, FIRST)
    at(monkeypatch, local("2026-11-24 10:30:00"))
    post(api, incident, {"status": "identified", "message": "Found it.", "by": "dev-d"})   # no promise this time
    sweep(escalate, local("2026-11-24 10:40:00"))
    assert reminders(incident) == []
    other = sentry_alert(ingest, monkeypatch, OPENED, "8103", "Checkout slow", level="fatal")["incident"]
    at(monkeypatch, local("2026-11-24 10:05:00"))
    post(api, other, {**FIRST, "next_update_minutes": 10})
    at(monkeypatch, local("2026-11-24 10:12:00"))
    api.post(f"/incidents/{other}/resolve", json={"actor": "dev-d"})
    sweep(escalate, local("2026-11-24 10:20:00"))
    assert reminders(other) == []
    from shared.store.client import client
    assert "status_update_due_at" not in client().collection("incidents").document(other).get().to_dict()


def test_an_unowned_incident_reminds_the_on_call(api, escalate, incident, monkeypatch):
    at(monkeypatch, local("2026-11-24 10:05:00"))
    post(api, incident, {**FIRST, "next_update_minutes": 5})
    sweep(escalate, local("2026-11-24 10:11:00"))
    [late] = reminders(incident)
    assert late["text"].endswith("@Dev D") and outbox.get(late["id"])["incident_id"] == incident


# ---------------------------------------------------------------- /status-update in Discord

def status_command(user: str, **options) -> dict:
    from tests.test_interactions import interaction
    kinds = {"every": 4}
    opts = [{"type": kinds.get(k, 3), "name": k, "value": v} for k, v in options.items()]
    return interaction(2, {"type": 1, "id": "771825006014889985", "name": "status-update", "options": opts}, user)


def test_the_slash_command_posts_the_same_update_as_the_api(api, interactions, incident, monkeypatch, use_team):
    from tests.test_interactions import IDS, STRANGER, TEAM, send
    use_team(TEAM)
    at(monkeypatch, local("2026-11-24 10:05:00"))
    payload = status_command(IDS["dev-d"], incident=incident.lower(), status="identified", message="Found it.",
                             title="Checkout <b>errors</b>", eta="11:00", every=20, component="partial_outage")
    r = send(interactions, payload).get_json()
    assert r["type"] == 4 and "flags" not in r["data"] and r["data"]["allowed_mentions"] == {"parse": []}
    assert r["data"]["content"].startswith(f"📣 Posted on the status page ({incident}, update 1):\n"
                                           "## Status Update - petties-backend\n\n**Status:** 🟡 Identified")
    assert send(interactions, payload).get_json()["data"]["content"] == \
        "This interaction was already handled; nothing changed."
    [stored] = api.get(f"/incidents/{incident}/status-updates").get_json()["status_updates"]
    assert (stored["by"], stored["title"], stored["next_update_minutes"], stored["component_status"], stored["eta"]) \
        == ("dev-d", "Checkout <b>errors</b>", 20, "partial_outage", "11:00")
    refused = send(interactions, status_command(IDS["dev-b"], incident=incident, status="fixing", message="x"))
    assert refused.get_json()["data"]["flags"] == 64
    assert refused.get_json()["data"]["content"].startswith("Nothing changed: status: expected one of")
    stranger = send(interactions, status_command(STRANGER, incident=incident, status="monitoring", message="x"))
    assert stranger.get_json()["data"]["content"].startswith("Only people in the team file")
    assert api.get(f"/incidents/{incident}/status-updates").get_json()["count"] == 1


# ---------------------------------------------------------------- the pure rules

@pytest.mark.parametrize(("every", "status", "due"), [(30, "investigating", "10:35"), (None, "identified", None),
                                                      (5, "monitoring", "10:10")])
def test_the_next_update_is_owed_the_promised_minutes_after(every, status, due):
    update = {"status": status, "next_update_minutes": every, "created_at": local("2026-11-24 10:05:00")}
    assert rules.due_at(update) == (local(f"2026-11-24 {due}:00") if due else None)


@pytest.mark.parametrize(("minute", "open_", "latest", "late"), [
    (34, True, "investigating", False),    # not yet
    (35, True, "investigating", True),     # exactly when promised
    (50, True, "monitoring", True),
    (50, False, "investigating", False),   # the incident is resolved
    (50, True, "resolved", False),         # the public was told it is resolved
])
def test_a_promised_update_is_late_only_while_the_incident_is_open(minute, open_, latest, late):
    due = local("2026-11-24 10:35:00")
    assert rules.overdue(due, open_, latest, local(f"2026-11-24 10:{minute}:00")) is late
    assert rules.overdue(None, True, "investigating", local("2026-11-25 10:00:00")) is False


def test_a_one_off_window_and_windows_that_are_not_public_maintenance():
    from shared.rules import status_page as page_rules
    now = local("2026-11-27 16:00:00")
    one_off = {"id": "window-db", "matchers": {"service": "petties-*"}, "start": local("2026-11-28 01:00:00"),
               "end": local("2026-11-28 03:00:00")}
    staging = {**one_off, "id": "window-staging", "matchers": {"service": "petties-web", "environment": "staging"}}
    alerts = {**one_off, "id": "window-alerts", "matchers": {"service": "ai-service", "source": "sentry"}}
    [m] = page_rules.maintenances([one_off, staging, alerts], ["petties-web", "petties-backend", "ai-service"], now)
    assert (m["name"], m["status"], m["services"]) == ("Scheduled maintenance of petties-web, petties-backend",
                                                       "scheduled", ["petties-web", "petties-backend"])
    assert [u["status"] for u in m["updates"]] == ["scheduled"] and m["created_at"] == one_off["start"] - \
        timedelta(days=page_rules.UPCOMING_DAYS)
