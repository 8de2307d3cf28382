"""Postmortem follow-through: its GitHub issue and task list, its notices in the incident's thread, overdue action
items pinged once a day, and /postmortem in Discord.

Against the real entry points, the Firestore emulator and the HTTP-boundary fakes (GitHub, Discord); the sweep's
clock is the schedule time each run is given (a fake clock), so days pass in a test without waiting.
"""
from __future__ import annotations

import pytest

from shared.notify import delivery
from shared.store import outbox
from tests.notify_fixtures import ALERTS, local, sentry_alert, sweep
from tests.test_interactions import IDS, STRANGER, TEAM, command, send


@pytest.fixture
def team(monkeypatch, use_team):
    """The team file with Discord ids for Dev A, B and D (who types the commands)."""
    use_team(TEAM)
    return TEAM


def _resolved_critical(ingest, api, escalate, monkeypatch, issue: str, title: str = "Checkout down",
                       opened: str = "2026-11-24 10:00:00", resolved: str = "2026-11-24 10:40:00") -> str:
    """A production Critical, resolved by Dev D, its postmortem drafted by one sweep and sent out by the next."""
    iid = sentry_alert(ingest, monkeypatch, local(opened), issue, title, level="fatal")["incident"]
    monkeypatch.setattr("shared.web.http.now", lambda: local(resolved))
    assert api.post(f"/incidents/{iid}/resolve", json={"actor": "dev-d"}).status_code == 200
    delivery.wait_idle()
    return iid


def _runs(escalate, *times: str) -> None:
    for when in times:
        sweep(escalate, local(when))
    delivery.wait_idle()


def _postmortem_issues(github) -> list[dict]:
    return [i for i in github.issues.values() if "postmortem" in i["labels"]]


def _at(monkeypatch, when: str) -> None:
    monkeypatch.setattr("shared.web.http.now", lambda: local(when))


# ---------------------------------------------------------------- the GitHub issue and its task list

def test_the_postmortem_gets_one_github_issue_whose_task_list_follows_the_action_items(ingest, api, escalate,
                                                                                      channels, monkeypatch):
    iid = _resolved_critical(ingest, api, escalate, monkeypatch, "9801")
    _runs(escalate, "2026-11-24 10:45:00", "2026-11-24 10:46:00", "2026-11-24 10:47:00", "2026-11-24 10:46:00")
    [issue] = _postmortem_issues(channels.github)
    assert issue["title"] == f"Postmortem {iid}: Checkout down"
    assert issue["labels"] == ["postmortem", "severity:critical", f"incident:{iid}"]
    assert issue["body"].startswith("# Postmortem: Checkout down\n") and "_No action items yet._" in issue["body"]
    assert api.get(f"/postmortems/{iid}").get_json()["github_issue"] == issue["number"]

    _at(monkeypatch, "2026-11-24 14:00:00")
    for action, owner, deadline in (("Alert on pool usage > 80%", "Dev B", "2026-12-01"),
                                    ("Load test checkout", "dev-c", "2026-12-08")):
        added = api.post(f"/postmortems/{iid}/action-items", json={"action": action, "owner": owner,
                                                                    "deadline": deadline})
        assert added.status_code == 201, added.get_data(as_text=True)
    assert api.patch(f"/postmortems/{iid}/action-items/1", json={"done": True}).status_code == 200
    assert api.put(f"/postmortems/{iid}", json={"root_cause": "The pool was sized for last year's traffic."}) \
        .status_code == 200
    delivery.wait_idle()
    body = channels.github.issues[issue["number"]]["body"]
    assert "- [x] Alert on pool usage > 80% (Dev B, due 2026-12-01)\n" \
           "- [ ] Load test checkout (Dev C, due 2026-12-08)\n" in body
    assert "## Root Cause\n\nThe pool was sized for last year's traffic." in body
    assert "a box ticked here is not read back" in body
    _runs(escalate, "2026-11-24 14:05:00", "2026-11-24 14:06:00")   # nothing left to do, nothing made twice
    assert len(_postmortem_issues(channels.github)) == 1
    assert channels.github.issues[issue["number"]]["body"] == body
    assert api.get(f"/postmortems/{iid}").get_json()["version"] == 5


def test_github_429_and_5xx_are_retried_until_the_issue_and_its_body_are_right(ingest, api, escalate, channels,
                                                                              monkeypatch):
    iid = _resolved_critical(ingest, api, escalate, monkeypatch, "9802")
    channels.github.fail_next(1, 429)
    channels.github.fail_next(1, 502)
    _runs(escalate, "2026-11-24 10:45:00", "2026-11-24 10:46:00")
    assert _postmortem_issues(channels.github) == []
    record = outbox.get(outbox.record_id(iid, "postmortem_issue", "github"))
    assert record["status"] == "pending" and "429" in record["last_error"]
    _at(monkeypatch, "2026-11-24 10:42:30")   # an item added while the issue is still to be made
    channels.github.fail_next(1, 503)
    api.post(f"/postmortems/{iid}/action-items", json={"action": "Page on 5xx rate", "owner": "dev-b",
                                                        "deadline": "2026-12-01"})
    delivery.wait_idle()
    for minute in range(43, 60):   # each retry waits its backoff (longer each time), then goes
        _runs(escalate, f"2026-11-24 10:{minute}:00")
    [issue] = _postmortem_issues(channels.github)
    assert "- [ ] Page on 5xx rate (Dev B, due 2026-12-01)" in issue["body"]
    assert [r["status"] for r in channels.github.requests if r["method"] == "POST"].count(201) == 1
    assert outbox.get(outbox.record_id(iid, "postmortem_sync-item1.1", "github"))["status"] == "sent"
    statuses = channels.github.statuses()
    assert 429 in statuses and 502 in statuses and 503 in statuses


def test_an_older_update_delivered_late_does_not_overwrite_a_newer_one(ingest, api, escalate, channels, monkeypatch):
    from shared.config import config
    from shared.config.settings import settings
    iid = _resolved_critical(ingest, api, escalate, monkeypatch, "9803")
    _runs(escalate, "2026-11-24 10:45:00", "2026-11-24 10:46:00")
    [issue] = _postmortem_issues(channels.github)
    _at(monkeypatch, "2026-11-24 11:00:00")
    channels.github.fail_next(2, 503)   # both updates fail at first and wait for a retry
    api.post(f"/postmortems/{iid}/action-items", json={"action": "First", "owner": "dev-b", "deadline": "2026-12-01"})
    delivery.wait_idle()
    api.post(f"/postmortems/{iid}/action-items", json={"action": "Second", "owner": "dev-c", "deadline": "2026-12-02"})
    delivery.wait_idle()
    later = local("2026-11-24 12:00:00")
    newer, older = (outbox.record_id(iid, f"postmortem_sync-item{n}.1", "github") for n in (2, 1))
    delivery.deliver([newer], config(), settings(), later, 10)
    patched = len([r for r in channels.github.requests if r["method"] == "PATCH"])
    delivery.deliver([older], config(), settings(), later, 10)   # the older one, late
    assert outbox.get(older)["status"] == "superseded"
    assert len([r for r in channels.github.requests if r["method"] == "PATCH"]) == patched
    body = channels.github.issues[issue["number"]]["body"]
    assert "- [ ] First (Dev B, due 2026-12-01)\n- [ ] Second (Dev C, due 2026-12-02)" in body


def test_a_sync_that_finds_a_newer_version_after_its_request_sends_the_newer_one(ingest, api, escalate, channels,
                                                                                monkeypatch):
    """The race an ordering check alone misses: a newer update lands while an older request is on its way."""
    from shared.notify import postmortem_kinds as kinds
    from shared.store import postmortems as pm_store
    iid = _resolved_critical(ingest, api, escalate, monkeypatch, "9804")
    _runs(escalate, "2026-11-24 10:45:00", "2026-11-24 10:46:00")
    [issue] = _postmortem_issues(channels.github)
    real_send, changed = kinds._send, []

    def send_then_change(job, kind, extra, ref=None):
        result = real_send(job, kind, extra, ref)
        if not changed:   # someone adds an item while the first PATCH is on its way (its own record waits)
            changed.append(True)
            pm = pm_store.get(iid)
            pm_store.update(iid, {"version": pm["version"] + 1, "action_items": [
                *pm["action_items"], {"n": 2, "action": "Added meanwhile", "owner": "dev-a",
                                      "deadline": "2026-12-03", "done": False, "done_at": None}]})
        return result

    monkeypatch.setattr(kinds, "_send", send_then_change)
    _at(monkeypatch, "2026-11-24 11:00:00")
    api.post(f"/postmortems/{iid}/action-items", json={"action": "First", "owner": "dev-b", "deadline": "2026-12-01"})
    delivery.wait_idle()
    assert "- [ ] Added meanwhile (Dev A, due 2026-12-03)" in channels.github.issues[issue["number"]]["body"]


# ---------------------------------------------------------------- notices in the incident's thread

def test_in_bot_mode_the_draft_and_its_reminders_go_to_the_incidents_thread(ingest, api, escalate, bot, monkeypatch):
    iid = _resolved_critical(ingest, api, escalate, monkeypatch, "9805")
    [alert] = [m for m in bot.discord.messages_in(ALERTS) if iid in str(m.get("embeds"))]
    _runs(escalate, "2026-11-24 10:45:00", "2026-11-24 10:46:00", "2026-11-24 10:47:00")
    thread = [m["content"] for m in bot.discord.messages_in(alert["id"])]
    [draft] = [t for t in thread if t.startswith("📝 Postmortem needed")]
    assert draft.startswith(f"📝 Postmortem needed for {iid} (critical): Checkout down; review by "
                            "2026-11-26 10:40:00 +07:00 (48 h after it was resolved)")
    assert not [m for m in bot.discord.messages_in(ALERTS) if "Postmortem needed" in (m.get("content") or "")]
    _runs(escalate, "2026-11-25 10:40:00", "2026-11-25 10:45:00", "2026-11-25 10:46:00")
    reminders = [t for t in (m["content"] for m in bot.discord.messages_in(alert["id"])) if t.startswith("⏰")]
    assert reminders == [f"⏰ The postmortem of {iid} is not reviewed yet (24 h since it was resolved; review by "
                         "2026-11-26 10:40:00 +07:00). @Dev D @Dev A"]


def test_in_webhook_mode_the_draft_is_announced_in_the_channel(ingest, api, escalate, channels, monkeypatch):
    iid = _resolved_critical(ingest, api, escalate, monkeypatch, "9806")
    _runs(escalate, "2026-11-24 10:45:00", "2026-11-24 10:46:00", "2026-11-24 10:47:00")
    drafts = [m for m in channels.prod() if (m.get("content") or "").startswith("📝 Postmortem needed")]
    assert len(drafts) == 1 and drafts[0]["content"].startswith(f"📝 Postmortem needed for {iid} (critical)")
    assert "review by 2026-11-26 10:40:00 +07:00" in drafts[0]["content"]


# ---------------------------------------------------------------- overdue action items: once a day

def _pings(iid: str, n: int, day: str) -> dict | None:
    return outbox.get(outbox.record_id(iid, f"postmortem-overdue-{n}-{day}", "discord"))


def test_an_overdue_action_item_is_pinged_to_its_owner_once_a_day_until_done(ingest, api, escalate, monkeypatch):
    iid = _resolved_critical(ingest, api, escalate, monkeypatch, "9807", opened="2026-11-20 10:00:00",
                             resolved="2026-11-20 10:40:00")
    _runs(escalate, "2026-11-20 10:45:00")
    _at(monkeypatch, "2026-11-20 11:00:00")
    for action, deadline in (("Alert on pool usage", "2026-11-24"), ("Load test checkout", "2026-12-10")):
        api.post(f"/postmortems/{iid}/action-items", json={"action": action, "owner": "dev-b", "deadline": deadline})
    _runs(escalate, "2026-11-24 09:00:00", "2026-11-25 08:59:00")   # due on the 24th: not overdue that day
    assert _pings(iid, 1, "2026-11-24") is None and _pings(iid, 1, "2026-11-25") is None
    _runs(escalate, "2026-11-25 09:00:00", "2026-11-25 09:01:00", "2026-11-25 17:00:00", "2026-11-25 09:00:00")
    ping = _pings(iid, 1, "2026-11-25")
    assert ping["text"].startswith(f"⏳ Overdue postmortem action item 1 of {iid}: Alert on pool usage "
                                   "(due 2026-11-24). @Dev B")
    assert ping["pings"] == [] and ping["channel"] == "discord"   # Dev B has no Discord id in this team file
    assert _pings(iid, 2, "2026-11-25") is None
    from google.cloud.firestore import FieldFilter

    from shared.store.client import client
    overdue = [d.id for d in client().collection("outbox").where(filter=FieldFilter("incident_id", "==", iid)).stream()
               if ":postmortem-overdue-" in d.id]
    assert overdue == [outbox.record_id(iid, "postmortem-overdue-1-2026-11-25", "discord")]   # once that day
    _runs(escalate, "2026-11-26 09:30:00")
    assert _pings(iid, 1, "2026-11-26") is not None
    _at(monkeypatch, "2026-11-26 10:00:00")
    api.patch(f"/postmortems/{iid}/action-items/1", json={"done": True})
    _runs(escalate, "2026-11-27 09:30:00")
    assert _pings(iid, 1, "2026-11-27") is None


# ---------------------------------------------------------------- /postmortem in Discord

def test_postmortem_slash_commands_run_the_same_use_cases_as_the_api(ingest, api, escalate, interactions, team,
                                                                      monkeypatch):
    iid = _resolved_critical(ingest, api, escalate, monkeypatch, "9808")
    _runs(escalate, "2026-11-24 10:45:00")
    _at(monkeypatch, "2026-11-24 15:00:00")
    added = send(interactions, command("postmortem", "action", incident=iid.lower(), text="Alert on pool usage",
                                       owner=IDS["dev-b"], deadline="2026-12-01")).get_json()["data"]
    assert added["content"] == f"📝 {iid}: action item 1 for Dev B, due 2026-12-01: Alert on pool usage"
    assert "flags" not in added   # said in the channel
    shown = send(interactions, command("postmortem", "show", incident=iid)).get_json()["data"]
    assert shown["flags"] == 64 and shown["content"].startswith(f"**Postmortem of {iid}** · Critical · critical")
    assert "1. ⬜ Alert on pool usage · Dev B, due 2026-12-01" in shown["content"]
    assert shown["content"].endswith(f"The whole postmortem: /console/postmortems/{iid}")   # not the token-only API
    payload = command("postmortem", "done", incident=iid)
    payload["data"]["options"][0]["options"].append({"type": 4, "name": "item", "value": 1})
    assert send(interactions, payload).get_json()["data"]["content"] == f"✅ {iid}: action item 1 done."
    again = send(interactions, payload).get_json()["data"]   # the same interaction delivered twice
    assert "already handled" in again["content"]
    reviewed = send(interactions, command("postmortem", "reviewed", incident=iid)).get_json()["data"]
    assert reviewed["content"] == f"✅ The postmortem of {iid} is reviewed."
    got = api.get(f"/postmortems/{iid}").get_json()
    assert got["action_items"][0]["done"] is True and got["reviewed_by"] == "dev-d" and got["version"] == 3
    assert (got["action_items"][0]["created_by"], got["action_items"][0]["done_by"]) == ("dev-d", "dev-d")
    huge = command("postmortem", "done", incident=iid)
    huge["data"]["options"][0]["options"].append({"type": 3, "name": "item", "value": "9" * 5000})
    refused_item = send(interactions, huge)
    assert refused_item.status_code == 200 and "item: expected" in refused_item.get_json()["data"]["content"]
    assert outbox.get(outbox.record_id(iid, "postmortem_sync-item1.2", "github")) is not None
    refused = send(interactions, command("postmortem", "reviewed", user=STRANGER, incident=iid)).get_json()["data"]
    assert refused["flags"] == 64 and "Only people in the team file" in refused["content"]
    bad = command("postmortem", "done", incident=iid)
    bad["data"]["options"][0]["options"].append({"type": 4, "name": "item", "value": 7})
    assert "no action item 7" in send(interactions, bad).get_json()["data"]["content"]


def test_a_security_issue_flagged_from_discord_a_day_after_it_resolved_still_gets_a_postmortem(
        ingest, api, escalate, interactions, team, monkeypatch):
    iid = sentry_alert(ingest, monkeypatch, local("2026-11-24 10:00:00"), "9809", "Odd admin logins",
                       level="warning")["incident"]
    _at(monkeypatch, "2026-11-24 10:20:00")
    api.post(f"/incidents/{iid}/resolve", json={"actor": "dev-c"})
    _runs(escalate, "2026-11-24 10:25:00")
    assert api.get(f"/postmortems/{iid}").status_code == 404   # a Low: no postmortem, yet
    _at(monkeypatch, "2026-11-25 11:00:00")
    flagged = send(interactions, command("postmortem", "flag", incident=iid, kind="security")).get_json()["data"]
    assert flagged["content"].startswith(f"🚩 {iid} flagged as security")
    bad = send(interactions, command("postmortem", "flag", incident=iid, kind="gossip")).get_json()["data"]
    assert bad["flags"] == 64 and "expected one of data_loss, security" in bad["content"]
    _runs(escalate, "2026-11-25 11:05:00", "2026-11-25 11:06:00")
    got = api.get(f"/postmortems/{iid}").get_json()
    assert got["reasons"] == ["security"] and got["reminded"] == [24]   # 24 h had passed: not reminded at once
    assert outbox.get(outbox.record_id(iid, "postmortem-24h", "discord")) is None
    _runs(escalate, "2026-11-26 06:20:00")
    assert outbox.get(outbox.record_id(iid, "postmortem-44h", "discord")) is not None
