"""Delivery under faults and storms: every expected notification exactly once, nothing else."""
from __future__ import annotations

import json
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from shared.notify import delivery
from shared.store import outbox
from tests.conftest import fixture_json, http, sentry_headers
from tests.notify_fixtures import local, sweep
from tests.teams import variant

TUESDAY = local("2026-11-24 10:00:00")


@pytest.fixture
def no_escalation(monkeypatch, use_team):
    """These tests drain the outbox over simulated hours: keep SLA escalation out of the count."""
    cfg = variant({"escalation.environments": []})
    use_team(cfg)
    return cfg
ID = re.compile(r"INC-[0-9A-Z]+")


def post_all(base_url: str, requests: list[tuple[str, bytes, dict]]) -> list[dict]:
    def send(item):
        path, body, headers = item
        r = http().post(base_url + path, content=body, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(send, requests))


def sentry(issue_id: str, title: str, level: str) -> tuple[str, bytes, dict]:
    payload = fixture_json("sentry_issue_created.json")
    payload["data"]["issue"].update(id=issue_id, title=title, level=level, project={"slug": "petties-backend"},
                                    metadata={"value": title})
    body = json.dumps(payload).encode()
    return "/ingest/sentry", body, sentry_headers(body, "issue")


def drain(escalate, start, limit=40) -> int:
    """Run minute sweeps ten minutes apart until nothing is left to do; return how many ran."""
    when = start
    for run in range(1, limit + 1):
        when += timedelta(minutes=10)
        sweep(escalate, when)
        if not outbox.due(when + timedelta(days=365), 1):
            return run
    raise AssertionError("the outbox did not drain")


def incident_of(message: dict) -> str:
    return ID.search(message["embeds"][0]["footer"]["text"] if message.get("embeds") else message["content"]).group(0)


@pytest.mark.slow
@pytest.mark.fakes(fail_ratio=0.3, seed=7, hang_seconds=0.8, rate_limit=200)
def test_with_30_percent_of_calls_failing_every_notification_arrives_exactly_once(live_server, channels, escalate,
                                                                                   monkeypatch, no_escalation):
    monkeypatch.setattr("shared.web.http.now", lambda: TUESDAY)
    kinds = [("fatal", "Database unavailable"), ("error", "BookingCreationException"), ("error", "Slow search"),
             ("warning", "Typo in footer")]
    requests = [sentry(f"{8000 + i}", f"{kinds[i % 4][1]} #{i}", kinds[i % 4][0]) for i in range(200)]
    channels.smtp.fail_next(15)  # 15 of the 50 emails meet a 451 first
    answers = post_all(live_server, requests)
    delivery.wait_idle()
    sweeps = drain(escalate, TUESDAY)

    by_kind = {k: [a["incident"] for i, a in enumerate(answers) if i % 4 == n] for n, k in enumerate(
        ("critical", "high", "medium", "low"))}
    assert all(a["status"] == "created" for a in answers)
    discord = Counter(incident_of(m) for m in channels.prod())
    assert discord == Counter(by_kind["critical"] + by_kind["high"] + by_kind["medium"])
    issues = Counter(ID.search(next(label for label in issue["labels"] if label.startswith("incident:"))).group(0)
                     for issue in channels.github.issues.values())
    assert issues == Counter(by_kind["medium"] + by_kind["low"])
    emails = Counter(ID.search(m.message["Subject"]).group(0) for m in channels.smtp.messages)
    assert emails == Counter(by_kind["critical"])
    faults = [r for r in channels.discord.requests + channels.github.requests if r["fault"] is not None]
    assert len(faults) > 40 and channels.smtp.rejected  # the faults really happened
    assert sweeps >= 2


@pytest.mark.slow
def test_a_storm_of_400_alerts_on_20_problems_sends_openings_and_milestones_only(live_server, channels, escalate,
                                                                                 monkeypatch, no_escalation):
    # 20 alerts a problem: each passes its 10-occurrence milestone and stays short of the 100th (the bench storms
    # with thousands)
    monkeypatch.setattr("shared.web.http.now", lambda: TUESDAY)
    requests = []
    for _ in range(20):
        for p in range(10):
            requests.append(sentry(f"{9100 + p}", f"Payment gateway down on shard {p}", "fatal"))
            body = json.dumps({"monitorID": f"{700 + p}", "monitorURL": f"https://api.petties.world/health?{p}",
                               "monitorFriendlyName": f"API {p}", "alertType": "1",
                               "alertDetails": "Connection Timeout"}).encode()
            requests.append(("/ingest/uptimerobot?token=test-ingest-token", body, {"Content-Type": "application/json"}))
    answers = post_all(live_server, requests)
    delivery.wait_idle()
    drain(escalate, TUESDAY)
    assert Counter(a["status"] for a in answers) == {"created": 20, "duplicate": 380}
    openings = [m for m in channels.prod() if m["content"].startswith("🔴🔴🔴 CRITICAL ALERT 🔴🔴🔴")]
    assert len({incident_of(m) for m in openings}) == len(openings) == 20
    milestones = [m for m in channels.prod() if m["content"].startswith("📊")]
    assert len(milestones) == 20 and all(" 10 occurrences" in m["content"] for m in milestones)
    assert len(channels.prod()) == 40
    assert len(channels.smtp.messages) == 20 and channels.github.issues == {}
    assert sum(1 for m in channels.prod() if m["edits"]) == 20  # each card updated in place, not re-posted
