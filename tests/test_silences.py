"""Silences and maintenance windows: planned work and known noise page nobody, and nothing is lost."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.config import ConfigError
from shared.notify import delivery
from shared.rules import silence as rules
from shared.store import incidents as incident_store
from shared.store import outbox
from tests.conftest import dump_firestore
from tests.notify_fixtures import local, sentry_alert, sweep
from tests.teams import variant

TUESDAY = local("2026-11-24 10:00:00")   # business hours in Ho Chi Minh City; Dev D is on call
UTC = timezone.utc


def at(minutes: float) -> datetime:
    return TUESDAY + timedelta(minutes=minutes)


def silence(api, monkeypatch, when: datetime, escalate=None, **body) -> dict:
    """Create a silence at `when`; with `escalate`, the minute's sweep then runs, which announces its start."""
    monkeypatch.setattr("shared.web.http.now", lambda: when)
    body = {"actor": "dev-b", "matchers": {"service": "petties-backend"}, "comment": "deploy v2.3",
            "duration": "30m", **body}
    r = api.post("/silences", json={k: v for k, v in body.items() if v is not None})
    assert r.status_code == 201, r.get_data(as_text=True)
    if escalate is not None:
        sweep(escalate, when)
    return r.get_json()


def texts(channels) -> list[str]:
    delivery.wait_idle()
    return [m["content"] for m in channels.prod()]


def opening(incident_id: str, channel: str = "discord") -> dict:
    return outbox.get(outbox.record_id(incident_id, "opened", channel))


# ---------------------------------------------------------------- the pure rules

FACTS = {"service": "petties-backend", "environment": "production", "source": "sentry", "severity": "medium",
         "title": "Gateway Timeout on /bookings", "dedup_key": "sentry:42"}


@pytest.mark.parametrize("matchers, expected", [
    ({"service": "petties-backend"}, True), ({"service": "petties"}, False), ({"service": "petties-*"}, True),
    ({"title": "~(?i)timeout"}, True), ({"title": "~^timeout"}, False), ({"dedup_key": "sentry:*"}, True),
    ({"service": "petties-backend", "environment": "staging"}, False), ({}, False)])
def test_matchers_exact_glob_and_regex(matchers, expected):
    assert rules.matches(matchers, FACTS) is expected


def test_critical_needs_a_silence_that_names_severity_or_includes_critical():
    now = TUESDAY
    broad = {"id": "a", "matchers": {"service": "petties-backend"}, "start": now, "end": at(30)}
    critical = {**FACTS, "severity": "critical"}
    assert rules.silencing(critical, [broad], [], now) is None
    assert rules.silencing(critical, [{**broad, "include_critical": True}], [], now)["id"] == "a"
    named = {**broad, "matchers": {"severity": "critical"}}
    assert rules.silencing(critical, [named], [], now)["until"] == at(30)
    assert rules.silencing({**FACTS, "severity": "high"}, [named], [], now) is None


def test_overlapping_silences_hold_until_the_last_ends():
    first = {"id": "a", "matchers": {"service": "petties-backend"}, "start": at(0), "end": at(30)}
    second = {"id": "b", "matchers": {"source": "sentry"}, "start": at(20), "end": at(60)}
    third = {"id": "c", "matchers": {"source": "sentry"}, "start": at(61), "end": at(90)}  # a gap: not carried on
    verdict = rules.silencing(FACTS, [first, second, third], [], at(5))
    assert verdict["id"] == "b" and verdict["until"] == at(60)


def test_weekly_window_is_local_time_across_the_dst_change():
    weekly = {"days": ["sat"], "start": "22:00", "end": "23:00"}
    cfg = variant({"team.time_zone": "Europe/Berlin"},
                  edit=lambda d: d.update(maintenance=[{"name": "weekly deploy", "matchers": {"service": "*"},
                                                        "weekly": weekly}]))
    [window] = cfg.maintenance
    # Berlin is UTC+1 on Saturday 28 March 2026 and UTC+2 from Sunday 29 March (summer time)
    before = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)   # 22:00 CET
    after = datetime(2026, 4, 4, 20, 0, tzinfo=UTC)     # 22:00 CEST
    for start in (before, after):
        assert rules.active_windows([window], start - timedelta(seconds=1), cfg) == []
        [on] = rules.active_windows([window], start, cfg)               # start inclusive
        assert on["start"] == start and on["end"] == start + timedelta(hours=1)
        assert rules.active_windows([window], start + timedelta(minutes=59, seconds=59), cfg)
        assert rules.active_windows([window], start + timedelta(hours=1), cfg) == []   # end exclusive
    assert rules.active_windows([window], datetime(2026, 4, 4, 21, 30, tzinfo=UTC), cfg) == []  # 23:30 CEST


@pytest.mark.parametrize("window, error", [
    ({"matchers": {"team": "x"}, "weekly": {"days": ["sat"], "start": "22:00", "end": "23:00"}}, "unknown key 'team'"),
    ({"matchers": {}, "weekly": {"days": ["sat"], "start": "22:00", "end": "23:00"}}, "give at least one of"),
    ({"matchers": {"title": "~(unclosed"}, "weekly": {"days": ["sat"], "start": "22:00", "end": "23:00"}},
     "invalid regular expression"),
    ({"matchers": {"service": "x"}}, "give weekly (days, start, end) or a one-off start and end"),
    ({"matchers": {"service": "x"}, "start": "2026-12-01T22:00:00", "end": "2026-12-01T21:00:00"},
     "end must be after start"),
    ({"matchers": {"service": "x"}, "weekly": {"days": ["sat"], "start": "22h", "end": "23:00"}}, "expected HH:MM")])
def test_bad_maintenance_windows_are_refused_at_load(window, error):
    with pytest.raises(ConfigError, match="maintenance") as refused:
        variant(edit=lambda d: d.update(maintenance=[{"name": "w", **window}]))
    assert error in str(refused.value)


# ---------------------------------------------------------------- end to end

def test_a_silenced_alert_is_stored_and_announced_once_when_the_silence_ends(ingest, api, escalate, channels,
                                                                              monkeypatch):
    made = silence(api, monkeypatch, TUESDAY, escalate)
    assert made["state"] == "active" and made["created_by"] == "dev-b" and made["warning"] is None
    opened = sentry_alert(ingest, monkeypatch, at(5), "8001", "Image upload slow on /pets/photo")
    again = sentry_alert(ingest, monkeypatch, at(6), "8001", "Image upload slow on /pets/photo")
    assert (opened["status"], again["status"]) == ("created", "duplicate")   # stored and deduplicated
    incident = incident_store.get_incident(opened["incident"])
    assert incident.doc["silenced_by"]["id"] == made["id"] and incident.doc["silenced_by"]["until"] == at(30)
    shown = api.get(f"/incidents/{opened['incident']}").get_json()["silenced_by"]   # the API shows it too
    assert shown["id"] == made["id"] and shown["by"] == "dev-b"
    assert any(e["action"] == "silenced" and e["actor"] == "dev-b" and "deploy v2.3" in e["detail"]
               for e in incident.timeline)
    assert opening(opened["incident"])["status"] == "silenced"
    assert texts(channels) == ["🔕 Silenced: service=petties-backend, 10:00-10:30, by Dev B: deploy v2.3"]
    assert channels.github.issues == {}

    sweep(escalate, at(20))
    assert len(texts(channels)) == 1 and channels.github.issues == {}
    sweep(escalate, at(30))                      # the silence ends: announced now, once, clocks from now
    sweep(escalate, at(31))
    sent = texts(channels)
    assert len(sent) == 3 and sent[1].startswith("🟡 WARNING - petties-backend")
    assert "silenced from 2026-11-24 10:05:00 +07:00 to 2026-11-24 10:30:00 +07:00" in sent[1]
    assert sent[2] == f"🔔 Silence ended: service=petties-backend, 10:00-10:30 (suppressed: {opened['incident']})"
    [issue] = channels.github.issues.values()   # the GitHub issue says it too
    assert "(🔕 silenced from 2026-11-24 10:05:00 +07:00 to 2026-11-24 10:30:00 +07:00)" in issue["body"]
    incident = incident_store.get_incident(opened["incident"])
    assert incident.respond_by == at(30) + timedelta(hours=4)   # Medium: 4 h, counted from the end of the silence
    sweep(escalate, at(45))
    assert len(texts(channels)) == 3


def test_resolved_while_silenced_is_never_announced(ingest, api, escalate, channels, monkeypatch):
    silence(api, monkeypatch, TUESDAY, escalate)
    opened = sentry_alert(ingest, monkeypatch, at(5), "8002", "Image upload slow on /pets/photo")
    sentry_alert(ingest, monkeypatch, at(10), "8002", "Image upload slow", action="resolved")
    sweep(escalate, at(30))
    sweep(escalate, at(31))
    sent = texts(channels)
    assert len(sent) == 2 and sent[0].startswith("🔕 Silenced") and sent[1].startswith("🔔 Silence ended")
    assert opened["incident"] in sent[1]
    assert opening(opened["incident"])["status"] == "superseded"
    assert opening(opened["incident"], "github")["status"] == "superseded"
    assert channels.github.issues == {} and channels.smtp.messages == []


def test_a_critical_under_a_broad_silence_is_still_announced(ingest, api, escalate, channels, monkeypatch):
    silence(api, monkeypatch, TUESDAY, escalate)
    opened = sentry_alert(ingest, monkeypatch, at(5), "8003", "Connection pool exhausted", level="fatal")
    sent = texts(channels)
    assert len(sent) == 2 and sent[1].startswith("🔴🔴🔴 CRITICAL ALERT")
    assert "silenced_by" not in incident_store.get_incident(opened["incident"]).doc
    # and a new silence says it matches an open Critical
    made = silence(api, monkeypatch, at(6), comment="noise")
    assert made["warning"]["open_critical"] == [opened["incident"]]


def test_include_critical_silences_a_critical_and_holds_its_escalation(ingest, api, escalate, channels, monkeypatch):
    silence(api, monkeypatch, TUESDAY, escalate, include_critical=True)
    opened = sentry_alert(ingest, monkeypatch, at(5), "8004", "Connection pool exhausted", level="fatal")
    sweep(escalate, at(21))     # past the 15 min response SLA it would have had: nobody is paged
    assert len(texts(channels)) == 1 and channels.smtp.messages == []
    incident = incident_store.get_incident(opened["incident"])
    assert incident.escalations == () and incident.next_check_at == at(30)
    sweep(escalate, at(30))
    sent = texts(channels)
    assert sent[1].startswith("🔴🔴🔴 CRITICAL ALERT") and len(channels.smtp.messages) == 1
    assert incident_store.get_incident(opened["incident"]).respond_by == at(45)
    sweep(escalate, at(46))     # now it escalates, from the end of the silence
    assert incident_store.get_incident(opened["incident"]).escalations == ("sla-response",)


def test_severity_matcher_silences_critical(ingest, api, escalate, channels, monkeypatch):
    silence(api, monkeypatch, TUESDAY, escalate, matchers={"severity": "critical", "title": "~(?i)pool"})
    opened = sentry_alert(ingest, monkeypatch, at(5), "8005", "Connection pool exhausted", level="fatal")
    assert opening(opened["incident"])["status"] == "silenced" and len(texts(channels)) == 1


def test_overlapping_silences_release_when_the_last_ends(ingest, api, escalate, channels, monkeypatch):
    silence(api, monkeypatch, TUESDAY, escalate)
    opened = sentry_alert(ingest, monkeypatch, at(5), "8006", "Image upload slow on /pets/photo")
    silence(api, monkeypatch, at(25), escalate, matchers={"source": "sentry"}, duration="30m",
            comment="still deploying")
    sweep(escalate, at(30))            # the first ends, the second carries it on
    assert [t[:1] for t in texts(channels)] == ["🔕", "🔕", "🔔"]
    assert opening(opened["incident"])["status"] == "silenced"
    assert opening(opened["incident"])["due_at"] == at(55)
    sweep(escalate, at(55))
    sent = texts(channels)
    assert sum(t.startswith("🟡 WARNING") for t in sent) == 1 and sent[-1].startswith("🔔 Silence ended")


def test_delete_ends_a_silence_at_once(ingest, api, escalate, channels, monkeypatch):
    made = silence(api, monkeypatch, TUESDAY, escalate, duration="2h")
    opened = sentry_alert(ingest, monkeypatch, at(5), "8007", "Image upload slow on /pets/photo")
    monkeypatch.setattr("shared.web.http.now", lambda: at(10))
    r = api.delete(f"/silences/{made['id']}", json={"actor": "dev-a"})
    assert r.status_code == 200 and r.get_json()["state"] == "expired" and r.get_json()["end"].startswith(
        "2026-11-24T03:10")
    assert api.get("/silences").get_json()["silences"] == []
    assert [s["id"] for s in api.get("/silences?state=expired").get_json()["silences"]] == [made["id"]]
    sweep(escalate, at(11))
    sent = texts(channels)
    assert sent[1].startswith("🟡 WARNING") and sent[2].startswith("🔔 Silence ended")
    assert incident_store.get_incident(opened["incident"]).respond_by == at(11) + timedelta(hours=4)
    assert api.delete("/silences/000000000000").status_code == 404


def test_a_pending_silence_is_announced_when_it_starts_once(api, escalate, channels, monkeypatch):
    made = silence(api, monkeypatch, TUESDAY, start=at(60).isoformat(), end=at(90).isoformat(), duration=None)
    assert made["state"] == "pending" and texts(channels) == []
    assert [s["state"] for s in api.get("/silences").get_json()["silences"]] == ["pending"]
    for minute in (59, 60, 61, 89, 90, 91):
        sweep(escalate, at(minute))
    sent = texts(channels)
    assert [t[:1] for t in sent] == ["🔕", "🔔"] and "(nothing suppressed)" in sent[1]


@pytest.mark.parametrize("body, error", [
    ({"matchers": {"team": "x"}}, "unknown key 'team'"),
    ({"matchers": {}}, "give at least one of"),
    ({"matchers": {"title": "~(broken"}}, "invalid regular expression"),
    ({"duration": None}, "end or duration is missing"),
    ({"duration": "soon"}, "expected a duration like 30m"),
    ({"duration": None, "start": "2026-11-24T12:00:00", "end": "2026-11-24T11:00:00"}, "end must be after start"),
    ({"duration": "8d"}, "at most 7d"),
    ({"comment": " "}, "comment is missing"),
    ({"actor": "nobody"}, "unknown actor"),
    ({"include_critical": "yes"}, "include_critical")])
def test_bad_silences_are_400_and_store_nothing(api, firestore, monkeypatch, body, error):
    monkeypatch.setattr("shared.web.http.now", lambda: TUESDAY)
    full = {"actor": "dev-b", "matchers": {"service": "petties-backend"}, "comment": "deploy", "duration": "30m",
            **body}
    r = api.post("/silences", json={k: v for k, v in full.items() if v is not None})
    assert r.status_code == 400 and error in r.get_json()["error"], r.get_json()
    assert dump_firestore(firestore) == {}


def _window_team(**window):
    return variant(edit=lambda d: d.update(maintenance=[{"name": "db upgrade", "matchers": {"service": "petties-*"},
                                                         "comment": "planned DB upgrade", **window}]))


def test_alerts_inside_at_the_edges_and_outside_a_one_off_window(ingest, escalate, channels, monkeypatch, use_team):
    cfg = _window_team(start="2026-11-24T11:00:00", end="2026-11-24T12:00:00")   # team-local times
    use_team(cfg)
    cases = {"8101": (59.98, "pending"), "8102": (60, "silenced"), "8103": (119.98, "silenced"),
             "8104": (120, "pending")}
    for issue, (minute, _) in cases.items():
        opened = sentry_alert(ingest, monkeypatch, at(minute), issue, f"Slow thing {issue}")
        cases[issue] = (opened["incident"], cases[issue][1])
    delivery.wait_idle()
    for incident_id, expected in cases.values():
        assert opening(incident_id)["status"] in ((expected,) if expected == "silenced" else ("pending", "sent"))
    silenced = sorted(i for i, e in cases.values() if e == "silenced")
    for minute in (60, 120, 121):
        sweep(escalate, at(minute))
    sent = texts(channels)
    started = [t for t in sent if t.startswith("🔕")]
    ended = [t for t in sent if t.startswith("🔔")]
    assert started == ["🔕 Silenced: service=petties-\\*, 11:00-12:00, by maintenance window db upgrade: "
                       "planned DB upgrade"]
    assert len(ended) == 1 and all(i in ended[0] for i in silenced)
    assert sum(t.startswith("🟡 WARNING") for t in sent) == 4     # every alert announced exactly once


def test_a_weekly_window_in_berlin_silences_across_the_dst_change(ingest, channels, monkeypatch, use_team):
    cfg = variant({"team.time_zone": "Europe/Berlin", "rotation.start": "2026-03-23", "sprint.start": "2026-03-23"},
                  edit=lambda d: d.update(maintenance=[{"name": "weekly deploy", "matchers": {"service": "*"},
                                                        "weekly": {"days": ["sat"], "start": "22:00", "end": "23:00"},
                                                        "include_critical": True}]))
    use_team(cfg)
    inside_winter = sentry_alert(ingest, monkeypatch, datetime(2026, 3, 28, 21, 30, tzinfo=UTC), "8201", "A")
    inside_summer = sentry_alert(ingest, monkeypatch, datetime(2026, 4, 4, 20, 30, tzinfo=UTC), "8202", "B")
    outside_summer = sentry_alert(ingest, monkeypatch, datetime(2026, 4, 4, 21, 30, tzinfo=UTC), "8203", "C")
    delivery.wait_idle()
    assert opening(inside_winter["incident"], "github")["status"] == "silenced"
    assert opening(inside_summer["incident"], "github")["status"] == "silenced"
    assert opening(outside_summer["incident"], "github")["status"] != "silenced"
