"""With no channel credentials, notifications show up in the local preview (console and page)."""
from __future__ import annotations

import httpx

from shared.notify import delivery
from tests.conftest import fixture_bytes, sentry_headers


def test_a_critical_alert_shows_discord_and_email_in_the_local_preview(live_server, firestore, monkeypatch):
    body = fixture_bytes("sentry_issue_created.json").replace(b'"level": "error"', b'"level": "fatal"')
    with httpx.Client(base_url=live_server, timeout=10) as client:
        answer = client.post("/ingest/sentry", content=body, headers=sentry_headers(body, "issue")).json()
        delivery.wait_idle()
        page = client.get("/_local/notifications").text
        assert client.get("/").json()["notifications"].endswith("/_local/notifications")
    assert answer["status"] == "created"
    assert page.count('<article class="shown">') == 2
    assert "<b>Discord</b> · Alert · " + answer["incident"] in page
    assert "<b>Email</b> · Alert · " + answer["incident"] in page
    assert "🔴🔴🔴 CRITICAL ALERT 🔴🔴🔴" in page and "IMMEDIATE ACTION REQUIRED" in page
    assert '<b class="subject">[CRITICAL]' in page
