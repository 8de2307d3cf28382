"""Postmortem rules (pure): which incidents need one, and the draft rendered as the team's template."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.channels.render import postmortem_markdown
from shared.config import load_config
from shared.model import Incident
from shared.rules import postmortem
from tests.golden_files import golden
from tests.notify_fixtures import scheduled

CFG = load_config()
OPENED = datetime(2026, 11, 24, 8, 45, tzinfo=timezone.utc)   # 15:45 in Ho Chi Minh City


def incident(**changes) -> Incident:
    def at(minutes):
        return OPENED + timedelta(minutes=minutes)
    base = {"id": "INC-7K3QXD", "title": "HikariPool-1 - Connection pool exhausted", "status": "resolved",
            "severity_rank": 4, "service": "petties-backend", "environment": "production", "source": "sentry",
            "dedup_key": "sentry:4242", "key_doc": "k", "created_at": at(0), "resolved_at": at(40),
            "last_seen": at(30), "users_affected": 37, "occurrences": 120, "owner": "dev-a",
            "sla_resolution_met": True,
            "timeline": [{"at": at(0), "actor": "Sentry", "action": "opened", "detail": "sentry: pool exhausted"},
                         {"at": at(3), "actor": "dev-a", "action": "acknowledged", "detail": "👀 investigating"},
                         {"at": at(20), "actor": "dev-a", "action": "fixing", "detail": "pool size 10 -> 30"},
                         {"at": at(35), "actor": "dev-a", "action": "deploying", "detail": ""},
                         {"at": at(40), "actor": "dev-a", "action": "resolved", "detail": "connections restored"}]}
    return Incident.from_doc({**base, **changes})


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, ["critical"]),
    ({"severity_rank": 3, "resolved_at": OPENED + timedelta(hours=2, minutes=1)}, ["high for more than 2 hours"]),
    ({"severity_rank": 3, "resolved_at": OPENED + timedelta(hours=2)}, []),
    ({"severity_rank": 2, "users_affected": 101}, ["more than 100 users affected"]),
    ({"severity_rank": 2, "users_affected": 100}, []),
    ({"severity_rank": 1, "flags": {"data_loss": True}}, ["data loss"]),
    ({"severity_rank": 2, "flags": {"security": True}}, ["security"]),
    ({"invalid": True}, []),
])
def test_which_incidents_need_a_postmortem(changes, expected):
    assert postmortem.reasons(incident(**changes)) == expected


def test_the_draft_fills_what_is_known_and_asks_for_the_rest():
    draft = postmortem.draft(incident(), CFG)
    assert (draft["author"], draft["duration"], draft["review_by"]) == ("Dev A", "40 minutes", "2026-11-26 16:25")
    assert [(e["time"], e["event"]) for e in draft["timeline"]] == [
        ("15:45", "Alert triggered"), ("15:48", "On-call acknowledged"), ("16:05", "Working on a fix"),
        ("16:20", "Fix being deployed"), ("16:25", "Verified resolved")]
    assert draft["root_cause"].startswith("_To be written:")   # never invented
    text = postmortem_markdown(draft)
    assert text == golden(Path(__file__).parent / "golden" / "postmortem.md", text)


def test_the_author_is_the_owner_else_whoever_resolved_it_else_asked_for():
    assert postmortem.draft(incident(owner=None), CFG)["author"] == "Dev A"   # dev-a resolved it
    resolved_by_sentry = [{"at": OPENED, "actor": "Sentry", "action": "opened", "detail": ""},
                          {"at": OPENED, "actor": "Sentry", "action": "resolved", "detail": ""}]
    assert postmortem.draft(incident(owner=None, timeline=resolved_by_sentry), CFG)["author"] == \
        "_To be written: who writes this postmortem_"


def test_the_sweep_drafts_a_postmortem_once_for_a_resolved_critical(ingest, api, escalate, monkeypatch):
    from tests.notify_fixtures import local, sentry_alert, sweep
    critical = sentry_alert(ingest, monkeypatch, local("2026-11-24 10:00:00"), "9901", "Payment gateway down",
                            level="fatal")["incident"]
    minor = sentry_alert(ingest, monkeypatch, local("2026-11-24 10:00:00"), "9902", "Typo on the about page",
                         level="warning")["incident"]
    for iid in (critical, minor):
        monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 10:30:00"))
        assert api.post(f"/incidents/{iid}/resolve", json={"actor": "dev-d"}).status_code == 200
    assert api.get(f"/postmortems/{critical}").status_code == 404          # not before the sweep
    sweep(escalate, local("2026-11-24 10:35:00"))
    sweep(escalate, local("2026-11-24 10:36:00"))
    got = api.get(f"/postmortems/{critical.lower()}").get_json()
    assert (got["incident"], got["reasons"], got["duration"]) == (critical, ["critical"], "30 minutes")
    missing = api.get(f"/postmortems/{minor}")
    assert missing.status_code == 404 and "meets none of the criteria" in missing.get_json()["error"]
    edited = api.put(f"/postmortems/{critical}", json={"root_cause": "The gateway's TLS certificate expired."})
    assert edited.status_code == 200, edited.get_data(as_text=True)
    md = api.get(f"/postmortems/{critical}.md")
    assert md.headers["Content-Type"].startswith("text/markdown")
    assert "## Root Cause\n\nThe gateway's TLS certificate expired." in md.get_data(as_text=True)
    assert api.put(f"/postmortems/{critical}", json={"blame": "x"}).status_code == 400


def test_action_items_with_owner_and_deadline_and_the_review(ingest, api, escalate, monkeypatch):
    from tests.notify_fixtures import local, sentry_alert, sweep
    iid = sentry_alert(ingest, monkeypatch, local("2026-11-24 10:00:00"), "9903", "Data loss in bookings",
                       level="fatal")["incident"]
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 11:00:00"))
    api.post(f"/incidents/{iid}/resolve", json={"actor": "dev-d"})
    sweep(escalate, local("2026-11-24 11:05:00"))
    added = api.post(f"/postmortems/{iid}/action-items", json={"action": "Alert on pool usage > 80%",
                                                                "owner": "Dev B", "deadline": "2026-12-01"})
    assert added.status_code == 201, added.get_data(as_text=True)
    assert added.get_json()["action_items"] == [{"n": 1, "action": "Alert on pool usage > 80%", "owner": "dev-b",
                                                 "deadline": "2026-12-01", "done": False, "done_at": None,
                                                 "created_at": "2026-11-24T04:00:00.000Z"}]
    for bad in ({"action": "x", "owner": "dev-b"}, {"action": "", "owner": "dev-b", "deadline": "2026-12-01"},
                {"action": "x", "owner": "nobody", "deadline": "2026-12-01"}):
        assert api.post(f"/postmortems/{iid}/action-items", json=bad).status_code == 400
    done = api.patch(f"/postmortems/{iid}/action-items/1", json={"done": True})
    assert done.get_json()["action_items"][0]["done"] is True
    assert api.patch(f"/postmortems/{iid}/action-items/2", json={"done": True}).status_code == 404
    md = api.get(f"/postmortems/{iid}.md").get_data(as_text=True)
    assert "| Alert on pool usage > 80% | @Dev B | 2026-12-01 | ✅ DONE |" in md
    assert api.post(f"/postmortems/{iid}/reviewed", json={"actor": "dev-a"}).get_json()["reviewed_by"] == "dev-a"


def test_the_draft_is_announced_once_and_unreviewed_ones_are_reminded_at_24_and_44_hours(ingest, api, escalate,
                                                                                         monkeypatch):
    from shared.store import outbox
    from tests.notify_fixtures import local, sentry_alert, sweep
    iid = sentry_alert(ingest, monkeypatch, local("2026-11-24 10:00:00"), "9904", "Checkout down",
                       level="fatal")["incident"]
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 10:40:00"))
    api.post(f"/incidents/{iid}/resolve", json={"actor": "dev-d"})
    for when in ("2026-11-24 10:45:00", "2026-11-24 10:46:00", "2026-11-25 10:40:00", "2026-11-25 10:41:00",
                 "2026-11-26 06:40:00"):
        sweep(escalate, local(when))
    announced = outbox.get(outbox.record_id(iid, "postmortem-draft", "discord"))
    assert announced["text"].startswith(f"📝 Postmortem needed for {iid} (critical)")
    assert "review by 2026-11-26 10:40" in announced["text"] and "@Dev D" in announced["text"]
    assert outbox.get(outbox.record_id(iid, "postmortem-24h", "discord"))["text"].startswith("⏰ The postmortem")
    assert outbox.get(outbox.record_id(iid, "postmortem-44h", "discord")) is not None
    api.post(f"/postmortems/{iid}/reviewed", json={"actor": "dev-a"})


def test_a_reviewed_postmortem_is_not_reminded(ingest, api, escalate, monkeypatch):
    from shared.store import outbox
    from tests.notify_fixtures import local, sentry_alert, sweep
    iid = sentry_alert(ingest, monkeypatch, local("2026-11-24 10:00:00"), "9905", "Checkout down again",
                       level="fatal")["incident"]
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 10:40:00"))
    api.post(f"/incidents/{iid}/resolve", json={"actor": "dev-d"})
    sweep(escalate, local("2026-11-24 10:45:00"))
    assert api.post(f"/postmortems/{iid}/reviewed", json={"actor": "dev-a"}).status_code == 200
    sweep(escalate, local("2026-11-25 10:45:00"))
    assert outbox.get(outbox.record_id(iid, "postmortem-24h", "discord")) is None


def test_overdue_action_items_are_in_the_daily_report(ingest, api, escalate, monkeypatch):
    from tests.conftest import function_app
    from tests.notify_fixtures import local, sentry_alert, sweep
    iid = sentry_alert(ingest, monkeypatch, local("2026-11-20 10:00:00"), "9906", "Checkout down",
                       level="fatal")["incident"]
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-20 10:40:00"))
    api.post(f"/incidents/{iid}/resolve", json={"actor": "dev-d"})
    sweep(escalate, local("2026-11-20 10:45:00"))
    for action, deadline in (("Alert on pool usage", "2026-11-22"), ("Load test checkout", "2026-12-10")):
        api.post(f"/postmortems/{iid}/action-items", json={"action": action, "owner": "dev-b", "deadline": deadline})
    daily = function_app("daily_summary").test_client()
    r = scheduled(daily, "2026-11-25T02:00:00Z")
    report = r.get_json()["report"]
    overdue = [a for a in report["action_items"] if a["why"].startswith("postmortem action item")]
    assert overdue == [{"done": False, "id": iid, "title": "Alert on pool usage", "owner": "Dev B",
                        "why": "postmortem action item, due 2026-11-22"}]
    assert f"- [ ] {iid}: Alert on pool usage (postmortem action item, due 2026-11-22) - @Dev B" in report["text"]


def test_a_person_flags_data_loss_and_a_low_incident_then_needs_a_postmortem(ingest, api, escalate, monkeypatch):
    from tests.notify_fixtures import local, sentry_alert, sweep
    iid = sentry_alert(ingest, monkeypatch, local("2026-11-24 10:00:00"), "9907", "Export lost rows",
                       level="warning")["incident"]
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 10:10:00"))
    assert api.post(f"/incidents/{iid}/flag", json={"actor": "dev-a", "flag": "nonsense"}).status_code == 400
    assert api.post(f"/incidents/{iid}/flag", json={"actor": "dev-a", "flag": "data_loss"}).status_code == 200
    api.post(f"/incidents/{iid}/resolve", json={"actor": "dev-c"})
    sweep(escalate, local("2026-11-24 10:15:00"))
    got = api.get(f"/postmortems/{iid}").get_json()
    assert got["reasons"] == ["data loss"] and got["author"] == "Dev C"


def test_the_github_issue_is_the_markdown_with_the_action_items_as_a_task_list():
    from shared.channels.github import BODY_MAX, postmortem_issue
    items = [{"n": 1, "action": "Alert on pool usage > 80%", "owner": "dev-b", "deadline": "2026-12-01",
              "done": True, "done_at": OPENED},
             {"n": 2, "action": "Load test | checkout", "owner": "dev-c", "deadline": "2026-12-08", "done": False,
              "done_at": None}]
    draft = {**postmortem.draft(incident(), CFG), "action_items": items}
    made = postmortem_issue(draft, CFG)
    assert made["title"] == "Postmortem INC-7K3QXD: HikariPool-1 - Connection pool exhausted"
    assert made["labels"] == ["postmortem", "severity:critical", "incident:INC-7K3QXD"]
    assert made["body"] == golden(Path(__file__).parent / "golden" / "postmortem_issue.md", made["body"])
    table = postmortem_markdown(draft, CFG)   # the team's own Markdown keeps its table, a | kept inside its cell
    assert "| Load test \\| checkout | @Dev C | 2026-12-08 | ⬜ TODO |" in table
    assert "- [ ]" not in table
    long = {**draft, "timeline": [{"time": "10:00", "event": "Note", "by": "", "detail": "x" * 200}] * 2000}
    body = postmortem_issue(long, CFG)["body"]
    assert len(body) == BODY_MAX and body.endswith(" characters)") and "… (truncated " in body[-40:]


def test_the_earliest_open_deadline_and_the_overdue_items():
    from datetime import date
    items = [{"n": 1, "deadline": "2026-11-20", "done": True}, {"n": 2, "deadline": "2026-11-24", "done": False},
             {"n": 3, "deadline": "2026-11-30", "done": False}]
    assert postmortem.next_deadline(items) == "2026-11-24"
    assert postmortem.next_deadline([{**i, "done": True} for i in items]) is None
    assert [i["n"] for i in postmortem.overdue(items, date(2026, 11, 24))] == []      # due that day: not yet
    assert [i["n"] for i in postmortem.overdue(items, date(2026, 11, 25))] == [2]
