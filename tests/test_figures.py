"""Figures that are right (issue 27): a polled UptimeRobot recovery records how long the monitor was down; the
daily report covers a finished local day, lists the action items open at that day's end, and is recomputed only
when asked (recompute=1), with one correction saying what changed; postmortems leave out incidents a silence or a
maintenance window held, always have an owner, say "unknown" for what the source cannot know, and announce the
console's page. Vendors are fakes at the HTTP boundary; time is a parameter."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config.settings import settings
from shared.notify import delivery
from tests.notify_fixtures import local, scheduled, sentry_alert, sweep
from tests.test_daily_summary import down, up

BACKEND = "https://api.petties.world/health"
T0 = local("2026-11-24 10:00:00")


def minute(n: int):
    return T0 + timedelta(minutes=n)


def unix(n: int) -> int:
    return int(minute(n).timestamp())




# ---------------------------------------------------------------- a polled recovery's downtime

@pytest.mark.parametrize("up_for", [0, 60])
def test_a_polled_recovery_records_how_long_the_down_lasted(robot, escalate, api, up_for):
    """Before: the up log's own duration (how long the monitor had been up: 0 or 60 s) was taken as the downtime."""
    robot.add_monitor("793527", BACKEND, "Backend Health")
    sweep(escalate, minute(0))
    robot.event("793527", 1, unix(1), reason="503 Service Unavailable")   # down 10:01
    sweep(escalate, minute(2))
    robot.event("793527", 2, unix(13), duration=up_for)                   # up 10:13; the down log now lasted 12 min
    sweep(escalate, minute(14))
    [incident] = api.get("/incidents").get_json()["incidents"]
    assert (incident["status"], incident["downtime_seconds"]) == ("resolved", 720)


def test_a_down_and_its_recovery_in_one_poll_record_the_down_s_duration(robot, escalate, api):
    robot.add_monitor("793527", BACKEND, "Backend Health")
    sweep(escalate, minute(0))
    robot.event("793527", 1, unix(1), reason="Timeout")
    robot.event("793527", 2, unix(6), duration=30)
    sweep(escalate, minute(7))
    [incident] = api.get("/incidents").get_json()["incidents"]
    assert (incident["status"], incident["downtime_seconds"]) == ("resolved", 300)


def test_the_downtime_of_an_up_log_is_the_down_log_s_duration_else_the_time_between():
    from shared.vendors.uptimerobot import DOWN, UP, Log, downtime
    up = Log(UP, 1000, duration=5)
    assert downtime((up, Log(DOWN, 400, duration=600)), up) == 600
    assert downtime((up, Log(DOWN, 400, duration=0)), up) == 600            # no duration given: the time between
    assert downtime((up, Log(99, 700), Log(DOWN, 400, duration=300)), up) == 300   # paused at 700: down 300 s
    assert downtime((up, Log(DOWN, 400, duration=9000)), up) == 600         # never longer than the time between
    assert downtime((up, Log(DOWN, 100, 50), Log(UP, 150), Log(DOWN, 400, 600)), up) == 600   # the latest down
    assert downtime((up, Log(DOWN, 2000, 10)), up) is None                  # no down before it


# ---------------------------------------------------------------- the daily report: a finished day, as it ended

def _at(monkeypatch, when: str) -> None:
    monkeypatch.setattr("shared.web.http.now", lambda: local(when))


def _report(daily, when: str, query: str = "") -> dict:
    r = scheduled(daily, local(when), "/" + query)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


@pytest.mark.parametrize(("day", "opens"), [("2026-11-25", "2026-11-26 00:00"), ("2026-11-27", "2026-11-28 00:00")])
def test_a_day_not_over_is_a_400_that_says_when_its_report_can_run(daily, firestore, monkeypatch, day, opens):
    _at(monkeypatch, "2026-11-25 09:00:00")
    r = daily.post(f"/?date={day}&recompute=1")
    assert r.status_code == 400
    assert r.get_json()["error"].startswith(f"{day} is not over yet: its report can run from {opens} "
                                            "(Asia/Ho_Chi_Minh)"), r.get_json()
    assert firestore.collection("reports").document(day).get().exists is False


def test_the_action_items_are_those_open_when_the_day_ended(ingest, api, escalate, daily, monkeypatch):
    # incidents: A opened on the 24th and acknowledged the next morning; B opened the next morning; C opened on the
    # 24th and resolved the next morning, never acknowledged; D opened and resolved on the 24th
    a = sentry_alert(ingest, monkeypatch, local("2026-11-24 10:00:00"), "9501", "Checkout slow", level="fatal")
    c = sentry_alert(ingest, monkeypatch, local("2026-11-24 15:00:00"), "9503", "Search down", level="fatal")
    d = sentry_alert(ingest, monkeypatch, local("2026-11-24 16:00:00"), "9504", "Login flaky", level="fatal")
    _at(monkeypatch, "2026-11-24 16:30:00")
    assert api.post(f"/incidents/{d['incident']}/resolve", json={"actor": "dev-a"}).status_code == 200
    b = sentry_alert(ingest, monkeypatch, local("2026-11-25 08:00:00"), "9502", "Images broken", level="fatal")
    _at(monkeypatch, "2026-11-25 08:10:00")
    assert api.post(f"/incidents/{a['incident']}/ack", json={"actor": "dev-b"}).status_code == 200
    assert api.post(f"/incidents/{c['incident']}/resolve", json={"actor": "dev-b"}).status_code == 200
    items = _report(daily, "2026-11-25 09:00:00")["report"]["action_items"]
    listed = {(i["id"], i["why"], i["owner"]) for i in items}
    # who was on call when the day ended (the rotation hands over on Mondays at 09:00): Dev A, week 48
    from shared import oncall
    from shared.config import config
    on_call = config().person(oncall.at(local("2026-11-25 00:00:00"), config()).primary).name
    assert listed == {(a["incident"], "unacknowledged", on_call), (c["incident"], "unacknowledged", on_call),
                      (d["incident"], "resolved", on_call)}
    assert b["incident"] not in {i["id"] for i in items}


def test_postmortem_action_items_listed_are_those_open_and_overdue_when_the_day_ended(ingest, api, escalate, daily,
                                                                                      monkeypatch):
    iid = sentry_alert(ingest, monkeypatch, local("2026-11-20 10:00:00"), "9510", "Checkout down",
                       level="fatal")["incident"]
    _at(monkeypatch, "2026-11-20 10:40:00")
    assert api.post(f"/incidents/{iid}/resolve", json={"actor": "dev-d"}).status_code == 200
    sweep(escalate, local("2026-11-20 10:45:00"))

    def add(when: str, action: str, deadline: str = "2026-11-22") -> int:
        _at(monkeypatch, when)
        r = api.post(f"/postmortems/{iid}/action-items", json={"action": action, "owner": "dev-b",
                                                               "deadline": deadline})
        assert r.status_code == 201, r.get_data(as_text=True)
        return len(r.get_json()["action_items"])   # numbered 1, 2, ... in the order added

    def done(when: str, n: int) -> None:
        _at(monkeypatch, when)
        assert api.patch(f"/postmortems/{iid}/action-items/{n}", json={"done": True}).status_code == 200

    add("2026-11-21 09:00:00", "Still open")
    done_late = add("2026-11-21 09:01:00", "Done the next morning")
    done_early = add("2026-11-21 09:02:00", "Done on the day")
    add("2026-11-21 09:03:00", "Not due yet", deadline="2026-12-10")
    done("2026-11-24 10:00:00", done_early)
    add("2026-11-25 08:00:00", "Added the next morning")
    done("2026-11-25 08:30:00", done_late)
    items = _report(daily, "2026-11-25 09:00:00")["report"]["action_items"]
    assert [i["title"] for i in items if i["why"].startswith("postmortem")] == ["Still open", "Done the next morning"]


# ---------------------------------------------------------------- the daily report: recompute=1 and its correction

DAY = "2026-11-24"


def _as_stored_by_an_earlier_version(firestore, percent: float, minutes: int) -> None:
    """The stored report with the figure an earlier version got wrong (an open outage counted to midnight)."""
    ref = firestore.collection("reports").document(DAY)
    ref.update({"uptime.services.petties-backend": {"percent": percent, "downtime_minutes": minutes}})


def _corrections(channels) -> list[str]:
    delivery.wait_idle()
    return [m["content"] for m in channels.prod() if m["content"].startswith("Correction to")]


def test_a_rerun_answers_from_the_store_and_recompute_posts_one_correction_saying_what_changed(
        ingest, daily, api, channels, firestore, monkeypatch):
    down(ingest, monkeypatch, local("2026-11-24 14:00:00"))
    up(ingest, monkeypatch, local("2026-11-24 14:05:00"))
    first = _report(daily, "2026-11-25 09:00:00")
    assert first["made"] == [DAY]
    assert first["report"]["uptime"]["services"]["petties-backend"] == {"percent": 99.65, "downtime_minutes": 5}
    _as_stored_by_an_earlier_version(firestore, 23.81, 1097)
    again = _report(daily, "2026-11-25 10:00:00", f"?date={DAY}")           # no recompute: the store's answer
    assert again["made"] == [] and again["report"]["uptime"]["services"]["petties-backend"]["percent"] == 23.81
    fixed = _report(daily, "2026-11-25 10:05:00", f"?date={DAY}&recompute=1")
    assert fixed["corrected"] == 1 and fixed["made"] == []
    assert fixed["changes"] == ["uptime of petties-backend 99.65% (was 23.81%)"]
    assert _corrections(channels) == [f"Correction to the {DAY} report: uptime of petties-backend 99.65% "
                                      "(was 23.81%)"]
    stored = api.get(f"/reports/{DAY}").get_json()
    assert stored["uptime"]["services"]["petties-backend"] == {"percent": 99.65, "downtime_minutes": 5}
    assert "petties-backend: 99.65% (5 min down)" in stored["text"]
    assert stored["corrections"] == [{"n": 1, "at": "2026-11-25T03:05:00.000Z",
                                      "changes": ["uptime of petties-backend 99.65% (was 23.81%)"]}]
    # a recompute that changes nothing posts nothing
    same = _report(daily, "2026-11-25 10:10:00", f"?date={DAY}&recompute=1")
    assert (same["corrected"], same["changes"]) == (None, [])
    assert len(_corrections(channels)) == 1
    # a later wrong figure, recomputed: correction 2, under its own record
    _as_stored_by_an_earlier_version(firestore, 50.0, 720)
    second = _report(daily, "2026-11-25 11:00:00", f"?date={DAY}&recompute=1")
    assert second["corrected"] == 2
    assert _corrections(channels)[1] == f"Correction to the {DAY} report: uptime of petties-backend 99.65% (was 50.00%)"
    from shared.store import outbox
    ids = [outbox.record_id(f"report-{DAY}", f"daily-correction-{n}", "discord") for n in (1, 2)]
    assert [outbox.get(i)["status"] for i in ids] == ["sent", "sent"]
    titles = [m["content"].splitlines()[0] for m in channels.prod() if "DAILY REPORT" in m["content"]]
    assert titles == [f"📊 PETTIES DAILY REPORT - {DAY}"]   # the report itself was posted once


def test_recomputes_at_the_same_moment_post_one_correction(ingest, daily, channels, firestore, monkeypatch):
    from tests.test_hardening import _parallel
    down(ingest, monkeypatch, local("2026-11-24 14:00:00"))
    up(ingest, monkeypatch, local("2026-11-24 14:05:00"))
    _report(daily, "2026-11-25 09:00:00")
    _as_stored_by_an_earlier_version(firestore, 23.81, 1097)
    when = local("2026-11-25 10:00:00")
    monkeypatch.setattr("shared.web.http.now", lambda: when)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    answers = _parallel(4, lambda i: daily.post(f"/?date={DAY}&recompute=1",
                                                headers={"X-CloudScheduler-ScheduleTime": stamp}))
    assert [a.status_code for a in answers] == [200] * 4
    assert sorted((a.get_json()["corrected"] for a in answers), key=str) == [1, None, None, None]
    assert len(_corrections(channels)) == 1
    stored = firestore.collection("reports").document(DAY).get().to_dict()
    assert [c["n"] for c in stored["corrections"]] == [1]


def test_a_recompute_keeps_a_figure_its_source_cannot_give_now():
    from shared.reports import corrections
    stored = {"traffic": {"requests": 120_000, "errors": 300, "error_rate": 0.25, "note": None},
              "response_time": {"avg_ms": 210.0, "note": None, "services": {"petties-backend": 210.0}}}
    fresh = {"traffic": {"requests": None, "errors": None, "error_rate": None,
                         "note": "n/a (Sentry: Sentry answered 429)"},
             "response_time": {"avg_ms": None, "note": "n/a (no source configured)", "services": {}}}
    assert corrections.changes(stored, corrections.kept(stored, fresh)) == []
    more = {**stored, "traffic": {"requests": 150_000, "errors": 300, "error_rate": 0.2, "note": None}}
    assert corrections.changes(stored, corrections.kept(stored, more)) == ["requests 150,000 (was 120,000)",
                                                                           "error rate 0.20% (was 0.25%)"]


def test_a_correction_names_action_items_and_counts_that_changed():
    from shared.reports import corrections
    item = {"done": False, "id": "INC-AAAAAA", "title": "Checkout *down*", "owner": "Dev A", "why": "unacknowledged"}
    stored = {"by_severity": {"critical": {"opened": 1, "resolved": 0}}, "action_items": [item], "notes": []}
    fresh = {"by_severity": {"critical": {"opened": 2, "resolved": 1}},
             "action_items": [{**item, "id": "INC-BBBBBB"}], "notes": []}
    changed = corrections.changes(stored, fresh)
    assert changed == ["critical incidents opened 2 (was 1)", "critical incidents resolved 1 (was 0)",
                       "action item added: INC-BBBBBB: Checkout *down* (unacknowledged)",
                       "action item no longer listed: INC-AAAAAA: Checkout *down* (unacknowledged)"]
    assert r"Checkout \*down\*" in corrections.message(DAY, changed)   # alert text made inert in Discord


# ---------------------------------------------------------------- postmortems: who needs one, who owns it

PUBLIC = "https://asia-southeast1-petties-incidents.cloudfunctions.net"


@pytest.fixture
def public_url(monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", PUBLIC)
    settings.cache_clear()
    yield PUBLIC
    monkeypatch.delenv("PUBLIC_URL")
    settings.cache_clear()


def _window_team(include_critical: bool):
    from tests.teams import variant
    return variant(edit=lambda d: d.update(maintenance=[{
        "name": "db upgrade", "matchers": {"service": "petties-backend"}, "comment": "Postgres 16",
        "start": "2026-11-24T10:00:00", "end": "2026-11-24T11:00:00", "include_critical": include_critical}]))


def _outage(ingest, escalate, monkeypatch, opened: str, closed: str) -> str:
    """A 5-minute UptimeRobot outage of the backend, closed by UptimeRobot itself, and the sweep five minutes after
    it (postmortem work runs at :00, :05, ...)."""
    iid = down(ingest, monkeypatch, local(opened))
    up(ingest, monkeypatch, local(closed))
    sweep(escalate, local(closed) + timedelta(minutes=5))
    return iid


def test_an_outage_a_maintenance_window_held_needs_no_postmortem(ingest, escalate, api, monkeypatch, use_team):
    use_team(_window_team(include_critical=True))
    iid = _outage(ingest, escalate, monkeypatch, "2026-11-24 10:20:00", "2026-11-24 10:25:00")
    assert api.get(f"/incidents/{iid}").get_json()["silenced_by"]["by"] == "maintenance window db upgrade"
    missing = api.get(f"/postmortems/{iid}")
    assert missing.status_code == 404 and "meets none of the criteria" in missing.get_json()["error"]


def test_an_outage_a_window_did_not_hold_is_owned_by_the_on_call_says_unknown_users_and_links_the_console(
        ingest, escalate, api, monkeypatch, use_team, public_url):
    use_team(_window_team(include_critical=False))   # a window that lets a Critical through holds nothing
    iid = _outage(ingest, escalate, monkeypatch, "2026-11-24 10:20:00", "2026-11-24 10:25:00")
    pm = api.get(f"/postmortems/{iid}").get_json()
    assert pm["reasons"] == ["critical"]
    # nobody acknowledged it and UptimeRobot resolved it: whoever was on call then (Tuesday 24 November: Dev D)
    assert (pm["owner"], pm["author"]) == ("dev-d", "Dev D")
    assert pm["impact"]["users"] == "unknown"
    assert "- Users affected: unknown" in api.get(f"/postmortems/{iid}.md").get_data(as_text=True)
    from shared.store import outbox
    notice = outbox.get(outbox.record_id(iid, "postmortem-draft", "discord"))["text"]
    assert f"The draft is at {PUBLIC}/console/postmortems/{iid}" in notice and "/api/" not in notice


def test_without_public_url_the_announcement_gives_the_console_path_and_the_console_serves_it(ingest, escalate,
                                                                                              monkeypatch):
    import re

    from shared.store import outbox
    from shared.web.console import session
    from tests.conftest import function_app
    iid = _outage(ingest, escalate, monkeypatch, "2026-11-24 10:20:00", "2026-11-24 10:25:00")
    notice = outbox.get(outbox.record_id(iid, "postmortem-draft", "discord"))["text"]
    [path] = re.findall(r"The draft is at (\S+?)[,.] ", notice)
    assert path == f"/console/postmortems/{iid}"
    console = function_app("console").test_client()    # the console function, served under /console/
    console.set_cookie(session.COOKIE, session.start("dev-a"))
    page = console.get(path.removeprefix("/console"))
    assert page.status_code == 200 and iid in page.get_data(as_text=True)


def _incident(**changes):
    from datetime import datetime, timezone

    from shared.model import Incident
    opened = datetime(2026, 11, 24, 3, 20, tzinfo=timezone.utc)
    base = {"id": "INC-7K3QXD", "title": "Backend Health is down", "status": "resolved", "severity_rank": 4,
            "service": "petties-backend", "environment": "production", "source": "uptimerobot",
            "dedup_key": "uptimerobot:793527", "key_doc": "k", "created_at": opened,
            "resolved_at": opened + timedelta(minutes=5), "owner": None,
            "timeline": [{"at": opened, "actor": "UptimeRobot", "action": "opened", "detail": ""},
                         {"at": opened + timedelta(minutes=5), "actor": "UptimeRobot", "action": "resolved",
                          "detail": ""}]}
    return Incident.from_doc({**base, **changes})


HELD = {"id": "SIL-1", "until": T0, "from": T0, "by": "dev-a", "comment": "deploying"}


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, ["critical"]),
    ({"silenced_by": HELD}, []),                                              # held by a silence until resolved
    ({"silenced_by": {**HELD, "id": "window-db-upgrade-20261124T0300", "by": "maintenance window db upgrade"}}, []),
    ({"silenced_by": {**HELD, "released_at": T0, "line": "silenced from 10:00 to 10:30"}}, ["critical"]),
    ({"silenced_by": HELD, "flags": {"data_loss": True}}, ["data loss"]),     # a person's flag still counts
    ({"silenced_by": None}, ["critical"]),
])
def test_postmortem_criteria_leave_out_incidents_held_by_a_silence_or_a_window(changes, expected):
    from shared.rules import postmortem
    assert postmortem.reasons(_incident(**changes)) == expected


def test_the_owner_is_never_null_and_users_are_unknown_where_the_source_cannot_count_them():
    from shared.config import load_config
    from shared.rules import postmortem
    cfg = load_config()
    assert postmortem.owner(_incident(), cfg, "dev-d") == "dev-d"                   # UptimeRobot closed it
    assert postmortem.owner(_incident(owner="dev-b"), cfg, "dev-d") == "dev-b"      # the incident's owner
    for source, key in (("uptimerobot", "uptimerobot:1"), ("probe", "probe:x"), ("alertmanager", "am:1"),
                        ("grafana", "grafana:1"), ("pagerduty", "pagerduty:x:1"), ("sentry", "sentry-metric:1:2")):
        assert postmortem.draft(_incident(source=source, dedup_key=key), cfg, "dev-d")["impact"]["users"] == "unknown"
    sentry = _incident(source="sentry", dedup_key="sentry:4242", users_affected=0)
    assert postmortem.draft(sentry, cfg, "dev-d")["impact"]["users"] == 0           # Sentry counts users: 0 is known


def test_an_action_item_stored_without_created_at_counts_from_its_postmortem():
    from shared.rules import day_end
    end = local("2026-11-25 00:00:00")
    before, after = end - timedelta(days=3), end + timedelta(hours=8)
    legacy = {"n": 1, "action": "Old", "owner": "dev-b", "deadline": "2026-11-22", "done": False, "done_at": None}
    assert day_end.item_open_at(legacy, end, since=before)
    assert not day_end.item_open_at(legacy, end, since=after)          # its postmortem came after the day
    assert day_end.item_open_at(legacy, end, since=None)               # nothing known: counted
    assert not day_end.item_open_at({**legacy, "done": True}, end, before)            # done, no done_at: long ago
    assert day_end.item_open_at({**legacy, "done": True, "done_at": after}, end, before)
    assert not day_end.item_open_at({**legacy, "created_at": after}, end, before)
