"""GET /ingest/health: the alerting system tells an outside monitor when it is the thing that is down."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.store import outbox


def at(monkeypatch, when):
    monkeypatch.setattr("shared.web.http.now", lambda: when)


def test_health_follows_the_sweep_and_the_outbox(ingest, escalate, monkeypatch):
    now = datetime.now(timezone.utc)
    at(monkeypatch, now)
    r = ingest.get("/health")
    assert r.status_code == 503 and r.get_json()["problems"] == ["the escalate sweep has never run"]

    escalate.post("/", headers={"X-CloudScheduler-ScheduleTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")})
    r = ingest.get("/health")
    assert (r.status_code, r.get_json()["status"], r.get_json()["outbox_backlog"]) == (200, "ok", 0)

    at(monkeypatch, now + timedelta(minutes=10, seconds=30))
    r = ingest.get("/health")
    assert r.status_code == 503 and r.get_json()["problems"] == ["the escalate sweep last ran 10 min ago"]

    at(monkeypatch, now)
    outbox.enqueue([{"id": "INC-TEST01:opened:discord", "incident_id": "INC-TEST01", "reason": "opened",
                     "channel": "discord", "status": "pending", "due_at": now - timedelta(minutes=20),
                     "created_at": now - timedelta(minutes=20), "attempts": 3}])
    r = ingest.get("/health")
    assert r.status_code == 503 and r.get_json()["problems"] == ["a notification has waited 20 min"]
    assert r.get_json()["outbox_backlog"] == 1
    assert ingest.post("/health").status_code == 405
