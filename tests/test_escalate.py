"""The escalate function: one sweep per schedule time; held notifications released at 09:00."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from shared.store import outbox
from tests.conftest import fixture_json, sentry_headers
from tests.notify_fixtures import scheduled

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=HCM).astimezone(timezone.utc)


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def post_issue(ingest, monkeypatch, when: datetime, issue_id: str, title: str, level: str = "error") -> str:
    monkeypatch.setattr("shared.web.http.now", lambda: when)
    payload = fixture_json("sentry_issue_created.json")
    payload["data"]["issue"].update(id=issue_id, title=title, level=level, project={"slug": "petties-backend"})
    import json
    body = json.dumps(payload).encode()
    r = ingest.post("/sentry", data=body, headers=sentry_headers(body, "issue"))
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["incident"]


def test_same_schedule_time_runs_once(escalate):
    job = {"X-CloudScheduler-JobName": "escalate"}
    first = scheduled(escalate, "2026-11-30T02:00:00Z", **job).get_json()
    again = scheduled(escalate, "2026-11-30T02:00:00Z", **job).get_json()
    assert first["status"] == "done" and again["status"] == "duplicate"
    assert scheduled(escalate, "2026-11-30T02:01:00Z", **job).get_json()["status"] == "done"


def test_escalate_refuses_get_and_bad_times(escalate):
    assert escalate.get("/").status_code == 405
    r = escalate.post("/", headers={"X-CloudScheduler-ScheduleTime": "yesterday"})
    assert r.status_code == 400 and "RFC 3339" in r.get_json()["error"]


def test_friday_night_high_waits_for_monday_0900_and_goes_out_as_one_digest(ingest, escalate, monkeypatch):
    friday = local("2026-11-27 20:00:00")
    first = post_issue(ingest, monkeypatch, friday, "9001", "BookingCreationException: slot taken")
    second = post_issue(ingest, monkeypatch, friday, "9002", "LoginFailedException: token expired")
    held = [outbox.get(outbox.record_id(i, "opened", "discord")) for i in (first, second)]
    assert [r["status"] for r in held] == ["held", "held"]
    assert all(r["due_at"] == local("2026-11-30 09:00:00") for r in held)

    for when in ("2026-11-28 10:00:00", "2026-11-30 08:59:00"):
        ran = scheduled(escalate, local(when)).get_json()
        assert ran["sent"] == 0, when
    monday = scheduled(escalate, local("2026-11-30 09:00:00"))
    # the two held messages as one digest, and the on-call handoff (Dev D to Dev A) posted at the handover
    assert monday.get_json()["digests"] == 1 and monday.get_json()["sent"] == 3
    records = [outbox.get(outbox.record_id(i, "opened", "discord")) for i in (first, second)]
    assert [(r["status"], r.get("digest")) for r in records] == [("sent", True), ("sent", True)]
    page = outbox.list_previews()
    digest = [p for p in page if p["reason"] == "digest"]
    assert len(digest) == 1 and first in digest[0]["text"] and second in digest[0]["text"]
    # Friday's on-call was Dev D; the rotation handed over to Dev A at Monday 09:00, who is named now
    assert "@Dev A - Please review" in digest[0]["text"] and "Dev D" not in digest[0]["text"]
    # the GitHub issue of a Medium would not wait; these are High, so GitHub gets nothing
    assert outbox.get(outbox.record_id(first, "opened", "github")) is None


def test_a_quiet_sweep_logs_nothing_and_a_busy_one_says_what_it_did(escalate, ingest, monkeypatch, capfd):
    job = {"X-CloudScheduler-JobName": "escalate"}
    assert scheduled(escalate, "2026-11-24T03:00:00Z", **job).get_json()["status"] == "done"
    assert "sweep done" not in "".join(capfd.readouterr())
    post_issue(ingest, monkeypatch, local("2026-11-24 22:00:00"), "9101", "Search slow")  # held until 09:00
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-25 09:00:00"))
    busy = scheduled(escalate, local("2026-11-25 09:00:00"), **job)
    counts = {k: v for k, v in busy.get_json().items() if k not in ("status", "run")}
    # it checked the open incident and sent the message held overnight, and did nothing else
    assert {k: v for k, v in counts.items() if v} == {"checked": 1, "sent": 1}, counts
    [line] = [json.loads(x) for x in "".join(capfd.readouterr()).splitlines() if '"sweep done"' in x]
    assert (line["checked"], line["sent"], line["escalated"]) == (1, 1, 0)
