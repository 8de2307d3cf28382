"""A Critical driven from open to resolved entirely in the console, in headless Chromium on a phone, by a person
signed in with Discord: acknowledged, investigated, a public status update previewed then posted, a silence made
from the incident (refused once, then right), fixing, deploying, resolved after confirming, and its postmortem
written, an action item added and ticked, reviewed. The timeline, and every record each step made, names that
person.

Discord is another site (localhost; the console is 127.0.0.1): its authorize page is served here and the token
exchange and /users/@me are tests/fakes/discord_oauth.py. Screenshots are kept in tests/artifacts/
console_workflow_*.png.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from shared.config.settings import settings
from shared.notify import delivery
from shared.store import incidents as store
from shared.store import postmortems as postmortem_store
from shared.store import silences as silence_store
from shared.store import status_updates as update_store
from tests.fakes.discord_oauth import FakeDiscordOAuth
from tests.notify_fixtures import local, sentry_alert, sweep
from tests.test_console_discord_signin import CLIENT_ID, CLIENT_SECRET, DEV_D, discord_env
from tests.test_interactions import TEAM

NOW = local("2026-11-24 03:00:00")   # 3 a.m. on a Tuesday: Dev D is on call
TITLE = "Checkout fails with HTTP 500"
ARTIFACTS = Path(__file__).parent / "artifacts"
PHONE = {"width": 390, "height": 844}
STEPS = [("dev-d", "acknowledged"), ("dev-d", "investigating"), ("dev-d", "status update"), ("dev-d", "silence"),
         ("dev-d", "fixing"), ("dev-d", "deploying"), ("dev-d", "resolved")]


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console_workflow_{name}.png"), full_page=True)


@pytest.fixture
def discord_site(live_server, monkeypatch):
    """Discord's OAuth2 (the fake) and its authorize page on another site, where Dev D clicks Authorize."""
    from tests.fakes.server import serve

    with FakeDiscordOAuth(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                          redirect_uris=(f"{live_server}/console/auth/discord",)) as oauth:
        discord_env(monkeypatch, oauth)
        monkeypatch.setenv("PUBLIC_URL", live_server)

        site, stop = serve(oauth.authorize_page(DEV_D))
        monkeypatch.setenv("DISCORD_OAUTH_URL", site.replace("127.0.0.1", "localhost") + "/oauth2")
        settings.cache_clear()
        try:
            yield oauth
        finally:
            stop()


def test_a_critical_is_driven_to_resolution_and_its_postmortem_in_the_console_as_the_person_signed_in(
        live_server, browser, discord_site, ingest, escalate, use_team, monkeypatch):
    use_team(TEAM)
    iid = sentry_alert(ingest, monkeypatch, NOW, "7401", TITLE, level="fatal", users=40)["incident"]
    delivery.wait_idle()

    def at(minutes: int) -> None:
        monkeypatch.setattr("shared.web.http.now", lambda: NOW + timedelta(minutes=minutes))

    def done(said: str) -> None:
        assert page.locator("[role=status]").inner_text() == said
        assert page.locator("#refusal").count() == 0

    at(2)
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: dialogs.append(d.message) or d.dismiss())
    console = f"{live_server}/console/"

    # The alert's link, at 3 a.m.: sign in with Discord, and land on the incident
    page.goto(f"{console}incidents/{iid}")
    page.click("text=Sign in with Discord")
    page.click("#authorize")
    page.wait_for_url(f"{console}incidents/{iid}")
    assert page.locator("select[name=actor]").count() == 0   # no "who you are": Discord said who
    looks = "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]"
    acknowledge = page.eval_on_selector("form[action$='/ack'] button", looks)
    assert page.eval_on_selector("button[formaction$='/resolve']", looks) != acknowledge
    assert page.eval_on_selector("button[formaction$='/invalid']", looks) != acknowledge
    shot(page, "open")

    # Acknowledge, then investigating with what was found
    page.fill("form[action$='/ack'] input[name=detail]", "looking at it")
    page.click("form[action$='/ack'] button")
    done("Acknowledged.")
    at(4)
    page.fill("#progress input[name=detail]", "DB connection pool exhausted")
    page.click("#progress button[formaction$='/investigating']")
    done("🔍 Investigating.")

    # A public status update: previewed (nothing stored), then posted
    at(6)
    page.click("text=Public status update")
    page.select_option("select[name=status]", "investigating")
    page.fill("input[name=title]", "Checkout is failing")
    page.fill("textarea[name=message]", "Some payments fail at checkout.")
    page.fill("input[name=impact]", "About 1 in 10 payments fails; retrying usually works.")
    page.fill("input[name=eta]", "within the hour")
    page.fill("input[name=next_update_minutes]", "30")
    page.select_option("select[name=component_status]", "partial_outage")
    page.click("button[name=preview]")
    preview = page.locator("#preview-text").inner_text()
    assert preview.startswith("## Status Update - petties-backend\n\n**Status:** 🔴 Investigating")
    assert "**Updates:** We're working on this and will update every 30 minutes." in preview
    assert page.locator("#preview-title").inner_text() == "Checkout is failing"
    assert update_store.of_incident(iid) == []
    shot(page, "status_preview")
    page.click("text=Post update")
    done("Status update posted.")
    [update] = update_store.of_incident(iid)
    assert (update["by"], update["component_status"], update["next_update_minutes"]) == ("dev-d", "partial_outage",
                                                                                          30)
    assert page.locator(".update pre").first.inner_text() == preview   # posted as previewed

    # A silence made from the incident: 30 days is refused on the page, with what was typed; 2 hours is right
    at(8)
    page.click(f"h1 a[href$='incidents/{iid}']")
    page.click("text=Silence alerts like this")
    assert page.input_value("#silence input[name=service]") == "petties-backend"
    assert page.input_value("#silence input[name=title]") == TITLE
    page.fill("#silence input[name=duration]", "30d")
    page.fill("#silence input[name=comment]", "fix on its way; Sentry repeats every minute")
    page.check("#silence input[name=include_critical]")
    page.click("#silence button[type=submit]")
    assert "a silence may last at most" in page.locator("#refusal").inner_text()
    assert page.locator("nav").count() == 1 and page.locator("h1").inner_text() == "Silences"
    assert page.input_value("#silence input[name=comment]") == "fix on its way; Sentry repeats every minute"
    assert silence_store.ending_after(NOW) == []
    shot(page, "refused")
    page.fill("#silence input[name=duration]", "2h")
    page.click("#silence button[type=submit]")
    assert page.locator("[role=status]").inner_text().startswith("Silence created.")
    [silence] = silence_store.ending_after(NOW)
    assert (silence["created_by"], silence["incident"], silence["include_critical"]) == ("dev-d", iid, True)
    assert silence["matchers"] == {"service": "petties-backend", "title": TITLE}
    shot(page, "silences")

    # Fixing, deploying
    page.goto(f"{console}incidents/{iid}")
    at(20)
    page.fill("#progress input[name=detail]", "raising the pool to 50")
    page.click("#progress button[formaction$='/fixing']")
    done("🔧 Working on a fix.")
    at(30)
    page.click("#progress button[formaction$='/deploying']")
    done("🔄 Deploying the fix.")

    # Resolve: it asks first, and looks unlike acknowledge
    at(40)
    page.fill("#close input[name=detail]", "pool resized, checkout green for 10 minutes")
    resolve = page.locator("button[formaction$='/resolve']")
    assert "danger" in resolve.get_attribute("class")
    resolve.click()
    assert page.locator("h1").inner_text() == f"Resolve {iid}?" and store.get_incident(iid).status != "resolved"
    shot(page, "confirm")
    page.click("text=Yes, resolve")
    done("Resolved.")
    stored = store.get_incident(iid)
    assert (stored.status, stored.resolved_at) == ("resolved", NOW + timedelta(minutes=40))

    # The scheduler's sweep drafts the postmortem; the person writes it, adds an action item, ticks it, reviews it
    sweep(escalate, NOW + timedelta(minutes=45))
    delivery.wait_idle()
    at(50)
    page.reload()
    shot(page, "resolved")
    page.click("#more >> text=Postmortem")
    page.click("details:has(#section-summary) summary")
    page.fill("#section-summary textarea[name=summary]", "Checkout failed for 40 minutes: the DB pool was too small.")
    page.click("#section-summary button")
    done("Postmortem saved.")
    page.fill("#add-item input[name=action]", "Alert when the pool is 80% used")
    page.fill("#add-item input[name=deadline]", "2026-12-01")
    page.click("#add-item button")
    done("Action item added.")
    at(55)
    page.click("#item-1 form.tick button")
    done("Action item done.")
    page.click("#reviewed button")
    done("Postmortem marked reviewed.")
    assert "✅ done (Dev D)" in page.locator("#item-1").inner_text()
    shot(page, "postmortem")
    pm = postmortem_store.get(iid)
    [item] = pm["action_items"]
    assert (pm["updated_by"], pm["reviewed_by"], item["created_by"], item["owner"], item["done"], item["done_by"]) \
        == ("dev-d", "dev-d", "dev-d", "dev-d", True, "dev-d")
    assert pm["summary"] == "Checkout failed for 40 minutes: the DB pool was too small."

    # The timeline names the person for every step, in the store and on the page
    entries = store.get_incident(iid).timeline
    opening = [(e["actor"], e["action"]) for e in entries[:2]]
    assert opening == [("Sentry", "opened"), ("system", "severity")]   # the alert and its classification
    assert [(e["actor"], e["action"]) for e in entries[2:]] == STEPS
    page.goto(f"{console}incidents/{iid}")
    rows = page.locator("#timeline tbody tr")
    assert rows.count() == len(entries)
    assert [rows.nth(n).locator("td.who").inner_text() for n in range(2, len(entries))] == ["Dev D"] * len(STEPS)

    # The same pages on a desktop
    desktop = browser.new_context(viewport={"width": 1280, "height": 900}, storage_state=context.storage_state())
    wide = desktop.new_page()
    for name, path in (("incident_desktop", f"incidents/{iid}"), ("postmortem_desktop", f"postmortems/{iid}"),
                       ("status_desktop", f"incidents/{iid}/status-updates")):
        wide.goto(f"{console}{path}")
        assert wide.locator("nav").count() == 1
        shot(wide, name)
    desktop.close()
    assert dialogs == []
    context.close()
