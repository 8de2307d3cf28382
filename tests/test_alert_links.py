"""A link to act from every alert: each Discord message, email and GitHub issue about an incident links to
{PUBLIC_URL}/console/incidents/<id>; with PUBLIC_URL unset there is no link at all (rather than a broken one).

Webhook mode carries it as a link button, the one component a webhook no application owns may send, and only with
?with_components=true (the fake Discord, as Discord does, ignores components posted without it). Bot mode puts it
beside the workflow's buttons. The local preview shows what webhook mode sends and nothing more: no thread replies,
one resolved message per resolve.
"""
from __future__ import annotations

import httpx
import pytest

from shared.config.settings import settings
from shared.notify import delivery
from shared.store import outbox
from tests.notify_fixtures import ALERTS, local, sentry_alert, sweep

PUBLIC = "https://asia-southeast1-petties-incidents.cloudfunctions.net"
TUESDAY = local("2026-11-24 10:00:00")   # business hours; Dev D is on call that week
LINK = 5   # Discord's link button style


@pytest.fixture
def public_url(monkeypatch):
    """PUBLIC_URL set, as ./deploy.sh gcp apply sets it."""
    monkeypatch.setenv("PUBLIC_URL", PUBLIC + "/")
    settings.cache_clear()
    yield PUBLIC
    monkeypatch.delenv("PUBLIC_URL")
    settings.cache_clear()


def console(iid: str) -> str:
    return f"{PUBLIC}/console/incidents/{iid}"


def links(message: dict) -> list[dict]:
    return [c for row in message.get("components") or [] for c in row["components"] if c.get("style") == LINK]


def text_of(mail) -> str:
    return "\n".join(part.get_content() for part in mail.message.walk() if part.get_content_maintype() == "text")


def test_webhook_mode_alerts_pages_and_resolutions_carry_the_console_link(ingest, api, escalate, channels,
                                                                          public_url, monkeypatch):
    # Given a Critical nobody acknowledges, paged at 15 minutes, then resolved by Dev D
    iid = sentry_alert(ingest, monkeypatch, TUESDAY, "9101", "Payment gateway returned 503", level="fatal",
                       users=40)["incident"]
    delivery.wait_idle()
    sweep(escalate, local("2026-11-24 10:16:00"))
    delivery.wait_idle()
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 10:40:00"))
    assert api.post(f"/incidents/{iid}/resolve", json={"actor": "dev-d", "detail": "gateway back"}).status_code == 200
    delivery.wait_idle()

    # Then every Discord message (alert, page, resolution) has the link button, and the edited card kept it
    messages = channels.prod()
    assert len(messages) == 3, [m["content"][:40] for m in messages]
    button = {"type": 2, "style": LINK, "label": "Open in the console", "url": console(iid)}
    assert all(links(m) == [button] for m in messages), messages
    assert messages[0]["edits"] and messages[0]["embeds"][0]["title"].startswith("✅ RESOLVED")
    assert all("Console:" not in m["content"] for m in messages)   # the button is the link, not a line of text
    sent = [r for r in channels.discord.requests if r["method"] in ("POST", "PATCH")]
    assert sent and all(r["query"].get("with_components") == "true" for r in sent)
    # and every email (alert, page, resolution) names the console page, in its text and as a link in its HTML
    mails = channels.smtp.messages
    assert [m.message["Subject"].split("]")[0] for m in mails] == ["[CRITICAL", "[ESCALATION L2", "[RESOLVED"]
    for mail in mails:
        body = text_of(mail)
        assert f"Console: {console(iid)}" in body and f'href="{console(iid)}"' in body, body
    assert "👤 Resolved by @Dev D - gateway back" in text_of(mails[-1])


def test_a_github_issue_links_to_the_console_and_nothing_links_without_public_url(ingest, channels, monkeypatch):
    # Given PUBLIC_URL unset: no message has a link, no webhook post asks for components
    sentry_alert(ingest, monkeypatch, TUESDAY, "9104", "Payment gateway returned 503", level="fatal")
    sentry_alert(ingest, monkeypatch, TUESDAY, "9105", "Typo on the footer", level="warning")
    delivery.wait_idle()
    assert channels.prod() and all(not m["components"] for m in channels.prod())
    assert all("with_components" not in r["query"] for r in channels.discord.requests)
    assert channels.smtp.messages and all("/console/" not in text_of(m) for m in channels.smtp.messages)
    [unlinked] = channels.github.issues.values()
    assert "Console" not in unlinked["body"] and "/console/" not in unlinked["body"]
    # When it is set, a Medium's issue links to the console (and so does its Discord alert)
    monkeypatch.setenv("PUBLIC_URL", PUBLIC)
    settings.cache_clear()
    iid = sentry_alert(ingest, monkeypatch, TUESDAY, "9102", "Image upload slow on /pets/photo")["incident"]
    delivery.wait_idle()
    issue = next(i for i in channels.github.issues.values() if f"incident:{iid}" in i["labels"])
    assert f"- Console: {console(iid)}" in issue["body"] and f"[{iid}]({console(iid)})" in issue["body"]
    assert [b["url"] for b in links(channels.prod()[-1])] == [console(iid)]


def test_bot_mode_puts_the_link_beside_the_buttons(ingest, interactions, bot, public_url, monkeypatch, use_team):
    from tests.test_interactions import TEAM, click, send
    use_team(TEAM)
    iid = sentry_alert(ingest, monkeypatch, TUESDAY, "9103", "Payment gateway returned 503", level="fatal")["incident"]
    delivery.wait_idle()
    [alert] = bot.discord.messages_in(ALERTS)
    rows = [[c.get("custom_id", c.get("url")) for c in row["components"]] for row in alert["components"]]
    assert rows[1] == [f"incident:invalid:{iid}", console(iid)]   # the first row with room, beside Invalid
    assert len(rows) == 3 and all(len(r) <= 5 for r in rows)
    # a click answers with the card as it is now: the link is still there
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 10:05:00"))
    answer = send(interactions, click("ack", iid)).get_json()
    assert links(answer["data"]) == [{"type": 2, "style": LINK, "label": "Open in the console", "url": console(iid)}]


def test_the_preview_shows_what_webhook_mode_sends_and_one_resolved_message(live_server, ingest, api, firestore,
                                                                           public_url, monkeypatch):
    # Given no channel configured: the preview page stands in for webhook mode
    iid = sentry_alert(ingest, monkeypatch, TUESDAY, "9106", "Payment gateway returned 503", level="fatal")["incident"]
    delivery.wait_idle()
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 10:05:00"))
    for step in ("ack", "investigating"):
        assert api.post(f"/incidents/{iid}/{step}", json={"actor": "dev-d"}).status_code == 200
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 10:40:00"))
    assert api.post(f"/incidents/{iid}/resolve", json={"actor": "dev-d"}).status_code == 200
    delivery.wait_idle()

    # Then the steps were not shown (webhook mode posts no thread replies): they are "not needed", and say why
    shown = outbox.list_previews()
    assert {p["kind"] for p in shown} == {"opened", "resolved"}, [(p["channel"], p["reason"]) for p in shown]
    steps = [r for r in outbox.for_incident(iid) if r["reason"].startswith("step-")]
    assert steps and all(r["status"] == "superseded" and "no thread replies" in r["note"] for r in steps)
    # and a resolve is one ✅ message per channel that carried the alert (Discord and the email)
    resolved = [p for p in shown if p["kind"] == "resolved"]
    assert sorted(p["channel"] for p in resolved) == ["discord", "email"]
    page = httpx.get(f"{live_server}/_local/notifications", timeout=10).text
    assert page.count(f"· Resolved · {iid}") == 2 and "· Acknowledged by Dev D" not in page
    discord = [p["text"] for p in shown if p["channel"] == "discord"]
    assert sum("✅" in text for text in discord) == 1, discord
    assert f'href="{console(iid)}"' in page and "Open in the console" in page
