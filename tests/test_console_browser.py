"""A person drives the console in headless Chromium (Debian's, through Playwright): signs in, lists, filters, opens
an incident, acknowledges it, adds a note, resolves it and adds an on-call override; Firestore and the timeline
are checked after each step, hostile alert text stays inert, and the phone layout does not scroll sideways.

Screenshots are kept in tests/artifacts/console_*.png.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from shared.notify import delivery
from shared.store import incidents as store
from shared.store import oncall as oncall_store
from shared.web.console import session
from tests.notify_fixtures import local, sentry_alert

NOW = local("2026-11-24 10:00:00")   # a Tuesday in business hours; Dev D is on call, Dev A leads
HOSTILE = "<script>alert('title')</script> @everyone [click me](javascript:alert(1)) <img src=x onerror=alert(2)>"
HOSTILE_NOTE = "<b>rolled back</b> @here [docs](javascript:alert(3))"
ARTIFACTS = Path(__file__).parent / "artifacts"



@pytest.fixture
def incidents(ingest, monkeypatch) -> dict:
    """Given a Critical with a hostile title, a Medium on the AI service and an older Low."""
    made = {"critical": sentry_alert(ingest, monkeypatch, NOW - timedelta(minutes=20), "9101", HOSTILE,
                                     level="fatal", users=40)["incident"],
            "medium": sentry_alert(ingest, monkeypatch, NOW - timedelta(hours=3), "9102", "Recommendations time out",
                                   project="ai-service")["incident"],
            "low": sentry_alert(ingest, monkeypatch, NOW - timedelta(days=2), "9103", "Typo on the footer",
                                level="warning", project="petties-web")["incident"]}
    delivery.wait_idle()
    monkeypatch.setattr("shared.web.http.now", lambda: NOW)
    return made


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console_{name}.png"), full_page=True)


def timeline_actions(iid: str) -> list[tuple[str, str]]:
    return [(e["actor"], e["action"]) for e in store.get_incident(iid).timeline]


def test_a_person_signs_in_and_drives_an_incident_to_resolution(live_server, incidents, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs, requests = [], []
    page.on("dialog", lambda d: dialogs.append(d.message) or d.dismiss())
    page.on("request", lambda r: requests.append(r.url))
    console = f"{live_server}/console/"

    # Sign in: the console asks for the token once and keeps a strict session cookie
    page.goto(console)
    assert page.url == f"{console}login"
    shot(page, "login")
    page.fill("input[name=token]", "test-api-token")
    page.select_option("select[name=actor]", "dev-a")
    page.click("button[type=submit]")
    assert page.url == console
    cookie = next(c for c in context.cookies() if c["name"] == session.COOKIE)
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"], cookie["path"]) == (True, True, "Strict",
                                                                                          "/console/")
    assert "test-api-token" not in cookie["value"]

    # The list: every incident, newest first, the hostile title shown as text and inert
    rows = page.locator("tr.incident")
    assert rows.count() == 3
    assert rows.nth(0).locator(".sev").inner_text().lower() == "critical"
    assert HOSTILE in rows.nth(0).locator(".title").inner_text()
    # 15 minutes to respond to a Critical, 20 gone
    assert rows.nth(0).locator("td[data-label=Respond]").inner_text() == "breached 5m ago"
    assert page.locator("script").count() == 0 and page.locator("img").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    shot(page, "list")

    # Filter: the AI service only
    page.select_option("select[name=service]", "ai-service")
    page.click("form.filters button")
    assert "service=ai-service" in page.url
    assert [t.split()[0] for t in page.locator("tr.incident .title").all_inner_texts()] == [incidents["medium"]]
    page.goto(console)

    # Open the Critical
    page.click(f"a[href$='incidents/{incidents['critical']}']")
    critical = incidents["critical"]
    assert page.url == f"{console}incidents/{critical}"
    assert page.locator("h1 .title").inner_text() == HOSTILE
    assert page.locator("#timeline tbody tr").count() == len(store.get_incident(critical).timeline)
    assert "+07:00" in page.locator("#timeline tbody tr").first.inner_text()   # the team's time zone
    notified = [row.split("\t")[:3] for row in page.locator("#notifications tbody tr").all_inner_texts()]
    assert notified == [["Discord", "Alert", "sent"], ["Email", "Alert", "sent"]]   # the Critical's two alerts
    shot(page, "incident")

    # Acknowledge as Dev D
    page.select_option("form[action$='/ack'] select[name=actor]", "dev-d")
    page.fill("form[action$='/ack'] input[name=detail]", "looking at the pool")
    page.click("form[action$='/ack'] button")
    assert page.locator("[role=status]").inner_text() == "Acknowledged."
    stored = store.get_incident(critical)
    assert (stored.status, stored.owner) == ("acknowledged", "dev-d")
    assert timeline_actions(critical)[-1] == ("dev-d", "acknowledged")
    assert page.locator("#owner").inner_text() == "Dev D"

    # A note with hostile text: stored as typed, shown as text
    page.fill("form[action$='/note'] textarea[name=text]", HOSTILE_NOTE)
    page.click("form[action$='/note'] button")
    assert page.locator("[role=status]").inner_text() == "Note added."
    assert store.get_incident(critical).timeline[-1] | {"at": None} == {"at": None, "actor": "dev-a", "action": "note",
                                                                        "detail": HOSTILE_NOTE}
    assert page.locator("#timeline tbody tr").last.locator("td").last.inner_text() == HOSTILE_NOTE
    assert page.locator("main b").count() == 0 and page.locator("a[href^='javascript']").count() == 0

    # Resolve: it asks first
    page.click("button[formaction$='/resolve']")
    page.wait_for_load_state("load")   # the confirmation page itself, not the page the click left
    assert page.locator("form#confirm").count() == 1 and store.get_incident(critical).status == "acknowledged"
    page.click("form#confirm button")
    assert page.locator("[role=status]").inner_text() == "Resolved."
    stored = store.get_incident(critical)
    assert stored.status == "resolved" and stored.resolved_at == NOW
    assert timeline_actions(critical)[-1] == ("dev-a", "resolved")
    assert page.locator("#status").inner_text() == "resolved" and page.locator("form[action$='/ack']").count() == 0
    shot(page, "resolved")

    # An override: Dev C covers for Dev D until tomorrow evening
    page.click("nav >> text=On call")
    assert "Dev D" in page.locator("#now").inner_text()
    page.select_option("select[name=covering]", "dev-c")
    page.select_option("select[name=for]", "dev-d")
    page.fill("input[name=end]", "2026-11-25T18:00")
    page.fill("input[name=note]", "Dev D at the dentist")
    page.click("form[action$='/oncall/overrides'] button[type=submit]")
    assert page.locator("[role=status]").inner_text() == "Override added."
    [override] = oncall_store.overrides_ending_after(NOW)
    assert (override["covering"], override["for"], override["created_by"]) == ("dev-c", "dev-d", "dev-a")
    assert override["end"] == local("2026-11-25 18:00:00") and override["start"] == NOW
    assert "Dev C" in page.locator("#now").inner_text()
    assert page.locator("#weeks tbody tr").count() == 5
    assert "Dev C covers for Dev D" in page.locator("#weeks tr.current").inner_text()
    shot(page, "oncall")

    for name in ("Handoff", "Metrics", "Silences"):
        page.click(f"nav >> text={name}")
        assert page.locator("h1").count() == 1
        shot(page, name.lower())
    page.goto(f"{console}metrics")  # the last 24 hours: the Critical, acknowledged and resolved 20 min after it opened
    cells = [c.lower() for c in page.locator("#metrics tbody tr").first.locator("td").all_inner_texts()]
    assert cells == ["critical", "1", "20m", "20m", "0 / 1", "1 / 0", "0"]

    # Signing out ends the session
    page.click("text=Sign out")
    assert page.url == f"{console}login"
    page.goto(f"{console}incidents/{critical}")
    assert page.url == f"{console}login?next=/console/incidents/{critical}"   # the deep link, kept for after sign-in

    assert dialogs == []
    assert all(u.startswith(live_server) for u in requests), requests
    context.close()


def test_on_a_phone_the_list_fits_the_screen(live_server, incidents, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server}/console/login")
    page.fill("input[name=token]", "test-api-token")
    page.click("button[type=submit]")
    page.wait_for_load_state("load")   # the stylesheet too: the layout is measured below
    assert page.locator("tr.incident").count() == 3
    shot(page, "phone")
    (ARTIFACTS / "console_phone.html").write_text(page.content())
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(f"{live_server}/console/incidents/{incidents['critical']}")
    shot(page, "phone_incident")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
