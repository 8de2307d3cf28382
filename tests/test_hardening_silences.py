"""Hardening, second round, silences: a pattern cannot freeze the system, a silence says no more than it means, and
what a caller gives is bounded (each a regression test through the HTTP boundary)."""
from __future__ import annotations

import json

import pytest

from tests.conftest import dump_firestore, fixture_json, sentry_headers
from tests.notify_fixtures import local, sentry_alert, sweep
from tests.test_silences import at, silence, texts

TUESDAY = local("2026-11-24 10:00:00")


def test_backtracking_patterns_answer_at_once_however_long_the_title(ingest, api, escalate, channels, monkeypatch):
    """(a+)+$ on a's and (\\w+\\s?)+$ on words take exponential time in Python's re (26 a's: seconds; 4,000
    characters: longer than the universe has run); RE2 searches in linear time, so these alerts are answered."""
    silence(api, monkeypatch, TUESDAY, escalate, matchers={"title": "~(a+)+$"}, comment="noise")
    silence(api, monkeypatch, TUESDAY, matchers={"title": "~^(\\w+\\s?)+$"}, comment="more noise")
    for n, title in enumerate(("a" * 3990 + "!", "word " * 798 + "!", "Connection pool exhausted for booking!")):
        opened = sentry_alert(ingest, monkeypatch, at(1), f"issue-{n}", title)
        assert opened["status"] == "created"
    held = sentry_alert(ingest, monkeypatch, at(2), "held", "!" + "a" * 3998)   # only (a+)+$ matches: silenced
    assert api.get(f"/incidents/{held['incident']}").get_json()["silenced_by"]["comment"] == "noise"


@pytest.mark.parametrize(("matchers", "error"), [
    ({"title": "~(a)\\1"}, "matchers.title: invalid regular expression"),       # a backreference: not RE2
    ({"title": "~(?=x)"}, "matchers.title: invalid regular expression"),        # a lookahead: not RE2
    ({"title": "~"}, "matchers.title: invalid regular expression '~': an empty regular expression"),
    ({"title": "~" + "a" * 200}, "matchers.title: expected at most 200 characters"),
    ({"service": "b" * 201}, "matchers.service: expected at most 200 characters"),
])
def test_a_pattern_re2_refuses_or_too_long_is_a_400_naming_the_matcher(api, firestore, matchers, error):
    r = api.post("/silences", json={"actor": "dev-a", "matchers": matchers, "duration": "1h", "comment": "x"})
    assert r.status_code == 400 and r.get_json()["error"].startswith(error), r.get_json()
    assert dump_firestore(firestore) == {}


@pytest.mark.parametrize("severity", ["*", "~.", "crit*", "~(?i)CRITICAL"])
def test_a_glob_or_a_regex_on_severity_does_not_silence_a_critical(ingest, api, escalate, channels, monkeypatch,
                                                                   severity):
    silence(api, monkeypatch, TUESDAY, escalate, matchers={"severity": severity}, comment="quiet please")
    sentry_alert(ingest, monkeypatch, at(1), "8901", "Connection pool exhausted", level="fatal")
    assert [t for t in texts(channels) if t.startswith("🔴🔴🔴 CRITICAL ALERT")], texts(channels)


@pytest.mark.parametrize("comment", ["\u200b", " \u200b\u200c ", "\x00\x01", "\ufeff"])
def test_a_comment_nobody_can_see_is_a_400(api, firestore, comment):
    r = api.post("/silences", json={"actor": "dev-a", "matchers": {"service": "x"}, "duration": "1h",
                                    "comment": comment})
    assert r.status_code == 400 and r.get_json()["error"].startswith("comment is missing")
    assert dump_firestore(firestore) == {}


@pytest.mark.parametrize(("duration", "error"), [
    ("999999999d", "duration: 999999999d is longer than ten years"),
    ("1" + "0" * 20 + "d", "duration: expected a duration like 30m, 2h or 1d, got '1000"),
    ("9" * 5000, "duration: expected a duration like 30m, 2h or 1d, got '9999"),
    ("3651d", "a silence may last at most 7d"),
])
def test_a_duration_too_long_or_too_big_is_a_400(api, firestore, duration, error):
    r = api.post("/silences", json={"actor": "dev-a", "matchers": {"service": "x"}, "duration": duration,
                                    "comment": "deploy"})
    assert r.status_code == 400 and r.get_json()["error"].startswith(error), r.get_data(as_text=True)[:200]
    assert dump_firestore(firestore) == {}


def test_many_silences_starting_together_are_one_message(api, escalate, channels, monkeypatch):
    for n in range(30):
        silence(api, monkeypatch, TUESDAY, matchers={"service": f"svc-{n}"}, comment=f"batch {n}")
    sweep(escalate, at(1))
    sweep(escalate, at(2))
    [said] = texts(channels)
    assert said.startswith("30 silences started or ended:") and said.count("🔕 Silenced: service=svc-") >= 10
    assert len(said) <= 2000
    sweep(escalate, at(31))   # and they end together: one more message
    assert len(texts(channels)) == 2 and texts(channels)[1].startswith("30 silences started or ended:")


def test_silences_are_listed_a_page_at_a_time(api, monkeypatch):
    made = [silence(api, monkeypatch, TUESDAY, matchers={"service": f"svc-{n}"}, duration=f"{n + 1}m")["id"]
            for n in range(5)]
    first = api.get("/silences?limit=2").get_json()
    assert [s["id"] for s in first["silences"]] == made[:-3:-1] and first["next"]
    second = api.get(f"/silences?limit=2&cursor={first['next']}").get_json()
    third = api.get(f"/silences?limit=2&cursor={second['next']}").get_json()
    assert [s["id"] for s in first["silences"] + second["silences"] + third["silences"]] == made[::-1]
    assert "next" not in third
    for bad in ("limit=0", "limit=501", "limit=abc", "cursor=nonsense", "cursor=" + "x" * 5000):
        r = api.get(f"/silences?{bad}")
        assert r.status_code == 400, (bad, r.get_data(as_text=True)[:200])


def test_a_lone_surrogate_in_any_silence_field_is_refused_or_cleaned_never_a_500(api, firestore):
    for body in ({"actor": "dev-a\ud800", "matchers": {"service": "x"}, "duration": "1h", "comment": "c"},
                 {"actor": "dev-a", "matchers": {"ser\ud800vice": "x"}, "duration": "1h", "comment": "c"},
                 {"actor": "dev-a", "matchers": {"service": "x"}, "duration": "1h\ud800", "comment": "c"},
                 {"actor": "dev-a", "matchers": {"service": "x"}, "duration": "1h", "comment": "c\ud800"}):
        r = api.post("/silences", json=body)
        assert r.status_code in (201, 400), r.get_data(as_text=True)[:200]


def test_an_alert_and_the_sweep_still_answer_with_every_pattern_at_once(ingest, escalate, api, monkeypatch):
    """Nothing else waits: a storm of pathological titles through the real HTTP server, the sweep between."""
    for pattern in ("~(a+)+$", "~^(\\w+\\s?)+$", "~(x+x+)+y", "~(.*a){20}"):
        silence(api, monkeypatch, TUESDAY, matchers={"title": pattern}, comment="patterns")
    payload = fixture_json("sentry_issue_created.json")
    payload["data"]["issue"]["title"] = "a" * 3999 + "!"
    body = json.dumps(payload).encode()
    r = ingest.post("/sentry", data=body, headers=sentry_headers(body, "issue"))
    assert r.status_code == 200
    assert sweep(escalate, at(3))["status"] == "done"
