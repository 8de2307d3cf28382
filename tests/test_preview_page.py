"""The local preview page shows messages as the team would see them: Discord with its card, the email's HTML,
the GitHub issue, and what is held for business hours, with names instead of Discord ids, everything escaped.

The browser test loads the page in headless Chromium (Debian's package, driven by Playwright) and checks what a
person sees; its screenshot is kept in tests/artifacts/preview_page.png.
"""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from shared.channels import Message
from shared.channels.preview import PAYLOAD_BYTES, payload_of
from shared.local import preview_page
from shared.notify import delivery
from shared.store import outbox
from tests.notify_fixtures import local, sentry_alert
from tests.teams import variant

ARTIFACTS = Path(__file__).parent / "artifacts"
LEAD, DEV_D = "111111111111111111", "444444444444444444"
CFG = variant({"people.dev-a.discord_id": LEAD, "people.dev-d.discord_id": DEV_D})
FRIDAY_AFTERNOON = local("2026-11-27 15:52:00")  # business hours; Dev D is on call this week
FRIDAY_EVENING = local("2026-11-27 20:10:00")    # outside: a High waits for Monday 09:00 (Dev A's week)
HOSTILE = "Deprecated <b>API</b> used in settings <img src=x onerror=alert(1)>"


@pytest.fixture
def team(monkeypatch, use_team):
    """The Petties team with Discord ids, for the ingest path and the page alike."""
    use_team(CFG)
    return CFG


@pytest.fixture
def three_alerts(ingest, team, monkeypatch) -> dict:
    """Given a Critical in business hours, a High after hours (held) and a Low (a GitHub issue at once)."""
    ids = {}
    ids["critical"] = sentry_alert(ingest, monkeypatch, FRIDAY_AFTERNOON, "5001",
                                   "HikariPool-1 - Connection pool exhausted", level="fatal", users=12)["incident"]
    delivery.wait_idle()
    ids["high"] = sentry_alert(ingest, monkeypatch, FRIDAY_EVENING, "5002", "Login fails with HTTP 500",
                               level="error")["incident"]
    delivery.wait_idle()
    ids["low"] = sentry_alert(ingest, monkeypatch, FRIDAY_EVENING, "5003", HOSTILE, level="warning")["incident"]
    delivery.wait_idle()
    return ids


def test_the_discord_markup_names_people_and_escapes_everything():
    html = preview_page.discord_markup(f"**Down** <@{DEV_D}> <@!{LEAD}> <@999> `<@{DEV_D}>` <script>x</script>\n"
                                       "@here https://petties.world/a?b=1&c=2", CFG)
    assert '<span class="mention">@Dev D</span>' in html and '<span class="mention">@Dev A</span>' in html
    assert "@unknown-user" in html and "<strong>Down</strong>" in html
    assert f"<code>&lt;@{DEV_D}&gt;</code>" in html  # as Discord: no mention inside code
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://petties.world/a?b=1&amp;c=2" rel="noreferrer">' in html


def test_github_markdown_keeps_tables_and_shows_raw_html_as_text():
    html = preview_page.github_markup("| a | b |\n|---|---|\n| <img src=x> | **1** |\n\n<sub>why</sub>")
    assert "<table>" in html and "<strong>1</strong>" in html and "<sub>why</sub>" in html
    assert "<img" not in html and "&lt;img src=x&gt;" in html


def test_a_stored_payload_stays_far_below_firestores_limit():
    huge = {"content": "x" * 3_000_000, "embeds": [{"fields": [{"name": "n", "value": "🔥" * 200_000}] * 80}]}
    kept = payload_of(Message("opened", huge, "x"))
    assert len(json.dumps(kept, ensure_ascii=False).encode()) <= PAYLOAD_BYTES
    assert "cut" in kept["content"] and len(kept["embeds"][0]["fields"]) == 50


def test_the_page_shows_structured_messages_and_what_is_held(live_server, three_alerts):
    with httpx.Client(base_url=live_server, timeout=10) as client:
        answer = client.get("/_local/notifications")
    page = answer.text
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert page.count('<article class="held">') == 1 and page.count('<article class="shown">') == 3
    assert "held until 2026-11-30 09:00:00 +07:00" in page
    assert '<span class="mention">@Dev D</span>' in page and "&lt;@" not in page and "<@" not in page
    assert 'data-color="#e74c3c"' in page and 'data-color="#e67e22"' in page  # Critical, then the held High
    assert "<img src=x" not in page and "&lt;b&gt;API&lt;/b&gt;" in page
    stored = outbox.list_previews()
    assert {p["channel"] for p in stored} == {"discord", "email", "github"}
    assert next(p for p in stored if p["channel"] == "email")["payload"]["subject"].startswith("[CRITICAL]")


def test_several_held_messages_show_as_the_one_digest_they_will_be(live_server, ingest, team, monkeypatch):
    first = sentry_alert(ingest, monkeypatch, FRIDAY_EVENING, "6001", "Login fails with HTTP 500")["incident"]
    second = sentry_alert(ingest, monkeypatch, FRIDAY_EVENING, "6002", "Booking <i>page</i> fails")["incident"]
    delivery.wait_idle()
    page = httpx.get(f"{live_server}/_local/notifications", timeout=10).text
    assert page.count('<article class="held">') == 1 and "2 messages released as one digest" in page
    assert f"{first}, {second}" in page or f"{second}, {first}" in page
    assert "Held outside business hours: 2 alerts since 2026-11-27 20:10:00 +07:00" in page
    assert '<span class="mention">@Dev A</span>' in page and "<i>page</i>" not in page



def test_a_person_sees_the_messages_as_the_team_would(live_server, three_alerts, browser):
    # Given a Critical, a held High and a Low (three_alerts); when a person opens the page
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server}/_local/notifications")
    text = page.inner_text("body")
    ARTIFACTS.mkdir(exist_ok=True)
    # the email's sandboxed frame is painted only inside the viewport: make the viewport the whole page
    page.set_viewport_size({"width": 1100, "height": page.evaluate("document.documentElement.scrollHeight")})
    page.screenshot(path=str(ARTIFACTS / "preview_page.png"), full_page=True)

    # Then the Critical's Discord card is there with its fields and its red colour bar
    critical = page.locator("article.shown", has=page.locator(".discord")).filter(has_text=three_alerts["critical"])
    embed = critical.locator(".embed")
    assert embed.evaluate("e => getComputedStyle(e).borderLeftColor") == "rgb(231, 76, 60)"
    fields = dict(zip(embed.locator(".field-name").all_inner_texts(), embed.locator(".field-value").all_inner_texts(),
                      strict=True))
    assert fields["Status"] == "open" and fields["Occurrences"] == "1" and fields["Users affected"] == "12"
    assert fields["Why this severity"] == "sentry level 'fatal'"
    assert three_alerts["critical"] in embed.locator(".embed-footer").inner_text()
    assert critical.locator(".mention").all_inner_texts() == ["@Dev D", "@Dev A"]  # names, never ids
    assert "<@" not in text and DEV_D not in text

    # and its email: subject, recipients, the HTML part, the text part one click away
    email = page.locator("article.shown .email")
    assert email.locator(".subject").inner_text().startswith("[CRITICAL] petties-backend")
    assert "dev-d@petties.world" in email.locator(".to").inner_text()
    assert "CRITICAL ALERT" in page.frame_locator(".email iframe").locator("body").inner_text()
    assert not email.locator("details pre").is_visible()
    email.locator("summary").click()
    assert "IMMEDIATE ACTION REQUIRED" in email.locator("details pre").inner_text()

    # and the held High, with when it goes out and who it will name then
    held = page.locator("article.held")
    assert held.count() == 1
    assert "held until 2026-11-30 09:00:00 +07:00" in held.locator("header").inner_text()
    assert held.locator(".embed").evaluate("e => getComputedStyle(e).borderLeftColor") == "rgb(230, 126, 34)"
    assert "HIGH ALERT" in held.inner_text() and held.locator(".mention").all_inner_texts() == ["@Dev A"]

    # and the Low's GitHub issue, newest first, its hostile title shown as text
    first = page.locator("article.shown").first
    assert first.locator(".issue-title").inner_text() == f"[LOW] petties-backend: {HOSTILE}"
    assert "severity:low" in first.locator(".label").all_inner_texts()
    assert first.locator(".issue-body table").count() == 1
    assert page.locator("article img, article b:has-text('API')").count() == 0

    # and nothing was fetched from anywhere else
    assert all(u.startswith(live_server) or u.startswith(("about:", "data:")) for u in requests), requests
    page.close()


def test_a_slack_message_reads_as_slack_shows_it(live_server, ingest, use_team, monkeypatch, browser):
    """The Slack preview is drawn on Slack's light background: every part of it, the app's name included, must be
    readable there (the name was first drawn in Discord's near-white)."""
    def with_slack(data: dict) -> None:
        data["notifications"]["routes"][0]["channels"].append(
            {"channel": "slack", "template": "critical", "mention": ["on-call"]})
    use_team(variant({"people.dev-d.slack_id": "U0DEVD0001"}, edit=with_slack))
    iid = sentry_alert(ingest, monkeypatch, FRIDAY_AFTERNOON, "5004", "Checkout fails", level="fatal")["incident"]
    delivery.wait_idle()
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(f"{live_server}/_local/notifications")
    slack = page.locator("article.shown", has=page.locator(".slack")).filter(has_text=iid).locator(".slack")
    slack.screenshot(path=str(ARTIFACTS / "preview_slack.png"))

    def luminance(css: str) -> float:   # WCAG relative luminance of an rgb()/rgba() colour
        r, g, b = (int(v) / 255 for v in css[css.index("(") + 1:css.index(")")].split(",")[:3])
        return sum(w * (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
                   for w, c in zip((0.2126, 0.7152, 0.0722), (r, g, b), strict=True))

    background = luminance(slack.evaluate("e => getComputedStyle(e).backgroundColor"))
    for part in (".bot-name", ".slack-header", ".slack-text"):
        shade = luminance(slack.locator(part).first.evaluate("e => getComputedStyle(e).color"))
        assert (max(background, shade) + 0.05) / (min(background, shade) + 0.05) >= 4.5, part   # WCAG AA
    assert "@Dev D" in slack.inner_text() and "U0DEVD0001" not in slack.inner_text()
