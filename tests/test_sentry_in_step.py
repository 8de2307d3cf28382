"""Sentry in step: an incident that came from a Sentry issue, resolved here (the console, the API; ❌ invalid too),
resolves that issue through Sentry's API once, through the outbox (a 500 or a 429 is retried by the sweep, a 404 is
given up and put on the timeline); an incident Sentry resolved itself sends nothing back, and Sentry's webhook for the
issue we resolved changes nothing. Without SENTRY_API_TOKEN or sentry.organization nothing is attempted.

Sentry's API is tests/fakes/sentry_api.py at the HTTP boundary; the console and the API are their real functions.
"""
from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import httpx
import pytest

from shared.config.settings import settings
from shared.model import OutboxStatus
from shared.notify import delivery
from shared.store import incidents as store
from shared.store import outbox
from tests.conftest import dump_firestore, fixture_json, function_app, sentry_headers
from tests.fakes.sentry_api import FakeSentryApi
from tests.notify_fixtures import local, sentry_alert, sweep
from tests.teams import variant
from tests.test_console_discord_signin import csrf_of
from tests.test_interactions import IDS, click, send

NOW = local("2026-11-24 10:00:00")   # a Tuesday in business hours
ISSUE = "7301"
WITH_ORG = variant({f"people.{pid}.discord_id": uid for pid, uid in IDS.items()},   # Discord ids: for the buttons
                   edit=lambda data: data.update(sentry={"organization": "petties"}))
RESOLVED = {"status": "resolved"}


@pytest.fixture(scope="module")
def console_app():
    return function_app("console")


@pytest.fixture
def sentry(channels, monkeypatch, use_team):
    """Sentry's API (knowing issue 7301, unresolved), the token set, the team file naming the organization."""
    use_team(WITH_ORG)
    fake = FakeSentryApi(clock=channels.clock).serve()
    fake.add_issue(ISSUE)
    monkeypatch.setenv("SENTRY_API_TOKEN", fake.token)
    monkeypatch.setenv("SENTRY_API_URL", fake.base_url)
    settings.cache_clear()
    yield fake
    delivery.wait_idle()
    fake.stop()


@pytest.fixture
def incident(ingest, monkeypatch, sentry) -> str:
    """Given an open Critical from Sentry issue 7301, opened five minutes ago."""
    found = sentry_alert(ingest, monkeypatch, NOW - timedelta(minutes=5), ISSUE, "Checkout fails with HTTP 500",
                         level="fatal", users=40)
    delivery.wait_idle()
    return found["incident"]


@pytest.fixture
def console(console_app, firestore, monkeypatch):
    """A console signed in with the API token as Dev D."""
    client = console_app.test_client()
    form = client.get("/login").get_data(as_text=True)
    assert client.post("/login", data={"csrf": csrf_of(form), "token": "test-api-token",
                                       "actor": "dev-d"}).status_code == 303
    return client


def close(console, iid: str, action: str = "resolve") -> None:
    """Resolve (or close as invalid) in the console, confirmed, and let its deliveries finish."""
    csrf = csrf_of(console.get(f"/incidents/{iid}").get_data(as_text=True))
    with mock.patch("shared.web.http.now", lambda: NOW):
        r = console.post(f"/incidents/{iid}/{action}", data={"csrf": csrf, "confirm": "1", "detail": "pool resized",
                                                                    "actor": "dev-d"})
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    delivery.wait_idle()


def puts(fake: FakeSentryApi) -> list[dict]:
    return [r for r in fake.requests if r["method"] == "PUT"]


def sentry_record(iid: str) -> dict | None:
    return outbox.get(outbox.record_id(iid, "resolved", "sentry"))


@pytest.mark.parametrize("action", ["resolve", "invalid"])
def test_resolving_in_the_console_resolves_the_sentry_issue_once(console, incident, sentry, escalate, action):
    close(console, incident, action)
    assert sentry.issues[ISSUE]["status"] == "resolved" and sentry.updates == [(ISSUE, "resolved")]
    (put,) = puts(sentry)
    assert put["path"] == f"/api/0/organizations/petties/issues/{ISSUE}/" and json.loads(put["body"]) == RESOLVED
    assert put["headers"]["Authorization"] == f"Bearer {sentry.token}"
    assert sentry_record(incident)["status"] == OutboxStatus.SENT
    sweep(escalate, NOW + timedelta(minutes=1))   # a later sweep has nothing more to send to Sentry
    assert len(puts(sentry)) == 1


def test_resolving_through_the_api_resolves_the_sentry_issue(api, incident, sentry, monkeypatch):
    monkeypatch.setattr("shared.web.http.now", lambda: NOW)
    r = api.post(f"/incidents/{incident}/resolve", json={"actor": "dev-d"})
    assert r.status_code == 200, r.get_data(as_text=True)
    delivery.wait_idle()
    assert sentry.updates == [(ISSUE, "resolved")]


def test_the_discord_invalid_button_resolves_the_sentry_issue(interactions, incident, sentry, monkeypatch):
    monkeypatch.setattr("shared.web.http.now", lambda: NOW)
    assert send(interactions, click("invalid", incident)).get_json()["type"] == 7   # the alert, updated
    delivery.wait_idle()
    assert store.get_incident(incident).invalid and sentry.updates == [(ISSUE, "resolved")]


@pytest.mark.parametrize(("status", "retry_after"), [(500, None), (429, 30)])
def test_a_500_or_a_429_from_sentry_is_retried_by_the_sweep_and_sent_once(console, incident, sentry, escalate,
                                                                            status, retry_after):
    sentry.fail_next(1, status, retry_after=retry_after or 0.1)
    close(console, incident)
    assert sentry.statuses() == [status] and sentry.issues[ISSUE]["status"] == "unresolved"
    record = sentry_record(incident)
    assert record["status"] == OutboxStatus.PENDING and record["due_at"] > NOW
    if retry_after:   # Sentry's Retry-After is waited for: a sweep before it sends nothing
        assert record["due_at"] >= NOW + timedelta(seconds=retry_after)
        sweep(escalate, NOW + timedelta(seconds=10))
        assert sentry.statuses() == [status]
    sentry.clock.advance(60)   # the minute between sweeps passes for the channel's pacing too
    sweep(escalate, NOW + timedelta(minutes=1))
    sweep(escalate, NOW + timedelta(minutes=2))
    assert sentry.statuses() == [status, 200] and sentry.updates == [(ISSUE, "resolved")]
    assert sentry_record(incident)["status"] == OutboxStatus.SENT


@pytest.mark.parametrize("status", [404, 403])
def test_a_404_or_403_is_given_up_at_once_and_put_on_the_timeline(console, incident, sentry, escalate, status):
    if status == 404:
        del sentry.issues[ISSUE]             # deleted (or merged away) in Sentry
    else:
        sentry.scopes = ("event:read",)      # a token without event:write
    close(console, incident)
    sweep(escalate, NOW + timedelta(minutes=1))
    sweep(escalate, NOW + timedelta(hours=1))
    assert sentry.statuses() == [status]
    assert sentry_record(incident)["status"] == OutboxStatus.FAILED
    failed = [e for e in store.get_incident(incident).timeline if e["action"] == "notification failed"]
    assert failed and "Sentry" in failed[-1]["detail"] and f"HTTP {status}" in failed[-1]["detail"]


def test_sentry_resolving_first_sends_nothing_back(console, ingest, incident, sentry, escalate, monkeypatch):
    sentry.add_issue("7302")
    other = sentry_alert(ingest, monkeypatch, NOW - timedelta(minutes=1), "7302", "Image upload slow")["incident"]
    sentry_alert(ingest, monkeypatch, NOW, ISSUE, "Checkout fails with HTTP 500", action="resolved")
    delivery.wait_idle()
    assert store.get_incident(incident).is_resolved and sentry_record(incident) is None
    close(console, other)   # the other one is resolved here: only its issue is resolved in Sentry
    sweep(escalate, NOW + timedelta(minutes=1))
    assert sentry.updates == [("7302", "resolved")] and len(sentry.requests) == 1


def test_sentrys_webhook_after_we_resolved_it_answers_2xx_and_changes_nothing(console, ingest, incident, sentry,
                                                                               firestore, monkeypatch):
    close(console, incident)
    assert sentry.updates == [(ISSUE, "resolved")]
    before = dump_firestore(firestore)
    monkeypatch.setattr("shared.web.http.now", lambda: NOW + timedelta(seconds=2))
    payload = fixture_json("sentry_issue_created.json")
    payload["action"] = "resolved"
    payload["data"]["issue"].update(id=ISSUE, status="resolved")
    body = json.dumps(payload).encode()
    r = ingest.post("/sentry", data=body, headers=sentry_headers(body, "issue"))
    delivery.wait_idle()
    assert r.status_code == 200, r.get_data(as_text=True)
    after = dump_firestore(firestore)
    assert after == before   # the incident is resolved already: nothing new is written, nothing is sent
    assert len(puts(sentry)) == 1


def test_an_incident_not_from_a_sentry_issue_sends_nothing(console, ingest, incident, sentry, monkeypatch):
    monkeypatch.setattr("shared.web.http.now", lambda: NOW - timedelta(minutes=5))
    body = json.dumps(fixture_json("sentry_metric_alert_critical.json")).encode()   # Sentry, but no issue
    metric = ingest.post("/sentry", data=body, headers=sentry_headers(body, "metric_alert")).get_json()["incident"]
    down = ingest.post("/uptimerobot?token=test-ingest-token", json=fixture_json("uptimerobot_down.json"))
    delivery.wait_idle()
    for iid in (metric, down.get_json()["incident"], incident):
        close(console, iid)
    assert sentry_record(metric) is None and sentry_record(down.get_json()["incident"]) is None
    assert sentry.updates == [(ISSUE, "resolved")] and len(sentry.requests) == 1   # only the Sentry issue's


@pytest.mark.parametrize("missing", ["token", "organization"])
def test_without_the_token_or_the_organization_nothing_is_attempted(console, incident, sentry, monkeypatch,
                                                                     use_team, missing):
    if missing == "token":
        monkeypatch.delenv("SENTRY_API_TOKEN")
    else:
        use_team(variant())
    settings.cache_clear()
    close(console, incident)
    assert sentry.requests == []
    record = sentry_record(incident)
    assert record["status"] == OutboxStatus.SUPERSEDED and "Sentry resolution is off" in record["note"]
    assert not [p for p in outbox.list_previews() if p["channel"] == "sentry"]   # not shown as if it were sent


def test_the_local_preview_page_shows_what_would_be_sent_to_sentry(console, incident, sentry, monkeypatch,
                                                                   live_server):
    monkeypatch.delenv("SENTRY_API_TOKEN")
    monkeypatch.setenv("LOCAL_PREVIEW", "1")
    settings.cache_clear()
    close(console, incident)
    assert sentry.requests == []
    page = httpx.get(f"{live_server}/_local/notifications", timeout=10).text
    assert "Resolved on Sentry" in page or ("Sentry" in page and "Resolved" in page)
    assert f"Resolve Sentry issue {ISSUE} in petties: PUT /api/0/organizations/petties/issues/{ISSUE}/" in page


def test_a_route_cannot_name_sentry():
    from shared.config import ConfigError
    with pytest.raises(ConfigError, match="sentry is not a route's channel"):
        variant({"notifications.routes.0.channels.0.channel": "sentry"})
