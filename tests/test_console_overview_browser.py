"""The console's list on an ordinary morning, as a person sees it in headless Chromium: the picture the README
shows (tests/artifacts/console_overview.png, copied to docs/images/console.png)."""
from __future__ import annotations

from datetime import timedelta

from shared.notify import delivery
from tests.notify_fixtures import local, sentry_alert
from tests.test_console_browser import shot

NOW = local("2026-11-24 10:00:00")   # a Tuesday in business hours; Dev D is on call, Dev A leads


def test_an_ordinary_morning_reads_at_a_glance(live_server, ingest, api, browser, monkeypatch):
    pool = sentry_alert(ingest, monkeypatch, NOW - timedelta(minutes=12), "9201",
                        "HikariPool-1 - Connection pool exhausted", level="fatal", users=48)["incident"]
    slow = sentry_alert(ingest, monkeypatch, NOW - timedelta(hours=2), "9202", "Recommendations time out",
                        project="ai-service", users=3)["incident"]
    typo = sentry_alert(ingest, monkeypatch, NOW - timedelta(days=1), "9203", "Typo on the booking footer",
                        level="warning", project="petties-web")["incident"]
    delivery.wait_idle()
    monkeypatch.setattr("shared.web.http.now", lambda: NOW - timedelta(minutes=9))
    acked = api.post(f"/incidents/{pool}/ack", json={"actor": "dev-d", "detail": "looking at the pool"})
    assert acked.status_code == 200
    monkeypatch.setattr("shared.web.http.now", lambda: NOW)
    fixed = api.post(f"/incidents/{typo}/resolve", json={"actor": "dev-b", "detail": "fixed the footer"})
    assert fixed.status_code == 200
    delivery.wait_idle()

    context = browser.new_context(viewport={"width": 1280, "height": 560})
    page = context.new_page()
    page.goto(f"{live_server}/console/login")
    page.fill("input[name=token]", "test-api-token")
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    rows = page.locator("tr.incident")
    assert rows.count() == 3
    first = rows.nth(0).inner_text()
    assert pool in first and "Connection pool exhausted" in first and "Dev D" in first   # acknowledged, owned
    assert slow in rows.nth(1).inner_text() and "Recommendations time out" in rows.nth(1).inner_text()
    assert "resolved" in rows.nth(2).inner_text().lower()
    assert "_" not in page.inner_text("tr.incident >> nth=0")   # no internal identifiers on the row
    shot(page, "overview")
    context.close()
