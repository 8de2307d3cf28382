"""Slack as a second chat: a team whose routes name `slack` gets its alerts as Block Kit cards through an incoming
webhook (the fake Slack validates them as Slack does), people named by their slack_id, alert text inert."""
from __future__ import annotations

import json

import httpx
import pytest

from shared.channels import build, words
from shared.channels.slack_render import BLOCKS_MAX, HEADER_TEXT_MAX, SECTION_TEXT_MAX, count_blocks, text_message
from shared.config import DEFAULT_CONFIG, ConfigError, parse_config
from shared.config.settings import settings
from shared.local import doctor
from shared.notify import delivery
from shared.store import outbox
from tests.conftest import fixture_json, sentry_headers
from tests.fakes.slack import FakeSlack
from tests.notify_fixtures import local, scheduled, sentry_alert, sweep
from tests.teams import variant

TUESDAY = local("2026-11-24 10:00:00")   # business hours; Dev D is on call that week
PUBLIC = "https://asia-southeast1-petties.cloudfunctions.net"
DEV_D, DEV_A = "U0DEVD0001", "U0DEVA0001"


def slack_team(staging: dict | None = None):
    """The Petties team with Slack instead of Discord: Criticals to `slack` naming the on-call, staging to
    `slack_staging` (as `staging` says); Dev D and Dev A have Slack member ids."""
    def edit(data):
        routes = data["notifications"]["routes"]
        routes[0]["channels"] = [{"channel": "slack", "template": "critical", "mention": ["on-call"]}]
        for route in routes:
            route["channels"] = [staging or {"channel": "slack_staging"} if c["channel"] == "discord_staging" else c
                                 for c in route["channels"]]
    return variant({"people.dev-d.slack_id": DEV_D, "people.dev-a.slack_id": DEV_A}, edit=edit)


@pytest.fixture
def slack(channels, use_team, monkeypatch):
    """The `channels` fakes plus a fake Slack with a production and a staging webhook; PUBLIC_URL set."""
    fake = FakeSlack(clock=channels.clock).serve()
    fake.prod_url, fake.staging_url = fake.add_webhook(token="prod-SECRET"), fake.add_webhook(token="staging-SECRET")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", fake.prod_url)
    monkeypatch.setenv("SLACK_STAGING_WEBHOOK_URL", fake.staging_url)
    monkeypatch.setenv("PUBLIC_URL", PUBLIC)
    settings.cache_clear()
    use_team(slack_team())
    try:
        yield fake
    finally:
        delivery.wait_idle()
        fake.stop()


def blocks_of(message: dict) -> list[dict]:
    return [*message.get("blocks", []), *(b for a in message.get("attachments", []) for b in a["blocks"])]


def test_a_slack_routed_team_gets_the_critical_card_with_the_console_link_and_the_on_call_named(ingest, slack,
                                                                                                channels, monkeypatch):
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "8001", "Payment gateway returned 503", level="fatal",
                          users=40)
    delivery.wait_idle()
    iid = opened["incident"]
    [message] = slack.messages_for(slack.prod_url)
    assert message["text"].startswith("🔴🔴🔴 CRITICAL ALERT 🔴🔴🔴")   # the notification's text
    alert = message["blocks"][0]["text"]["text"]
    assert f"<@{DEV_D}> - IMMEDIATE ACTION REQUIRED" in alert and DEV_A not in alert   # mention: [on-call] only
    [card] = message["attachments"]
    assert card["color"] == "#E74C3C"
    header, title, facts, about, actions = card["blocks"]
    assert header["text"]["text"] == f"🔴 CRITICAL · petties-backend · {iid}"
    facts = {f["text"].split("\n")[0]: f["text"].split("\n", 1)[1] for f in facts["fields"]}
    assert facts["*Environment*"] == "production" and facts["*Occurrences*"] == "1"
    assert facts["*Users affected*"] == "40" and facts["*Status*"] == "open"
    assert facts["*SLA*"] == "respond by 10:15 · resolve by 12:00"
    [button] = actions["elements"]
    assert button["url"] == f"{PUBLIC}/console/incidents/{iid}" and button["text"]["text"] == "Open in the console"
    assert channels.prod() == [] and slack.messages_for(slack.staging_url) == [] and slack.warnings == []
    assert outbox.get(outbox.record_id(iid, "opened", "slack"))["status"] == "sent"

    sentry_alert(ingest, monkeypatch, local("2026-11-24 10:30:00"), "8001", "x", level="fatal", action="resolved")
    delivery.wait_idle()
    resolved = slack.messages_for(slack.prod_url)[1]   # a webhook cannot edit: the resolve is a message of its own
    assert resolved["text"].startswith(f"✅ RESOLVED - petties-backend: Payment gateway returned 503 ({iid})")
    assert blocks_of(resolved)[-1]["elements"][0]["url"] == f"{PUBLIC}/console/incidents/{iid}"


def test_staging_goes_to_the_staging_webhook_and_pings_nobody(ingest, slack, channels, monkeypatch):
    event = fixture_json("sentry_error_created.json")
    event["data"]["error"].update(environment="staging", level="fatal", title="Crash in staging")
    body = json.dumps(event).encode()
    monkeypatch.setattr("shared.web.http.now", lambda: TUESDAY)
    assert ingest.post("/sentry", data=body, headers=sentry_headers(body, "error")).status_code == 200
    delivery.wait_idle()
    [staged] = slack.messages_for(slack.staging_url)
    assert staged["text"].startswith("🟡 WARNING") and slack.messages_for(slack.prod_url) == []
    assert "<@" not in json.dumps(staged) and "<!" not in json.dumps(staged)
    # a page in staging (its text names the on-call) still names, never pings
    staging = build("slack_staging", settings())
    assert staging.capabilities().mentions is False
    with pytest.raises(ConfigError, match="slack_staging does not name people"):
        slack_team({"channel": "slack_staging", "mention": ["on-call"]})


def test_mentions_and_links_in_alert_text_stay_inert(ingest, slack, monkeypatch):
    title = "<!channel> <!here> <@U0EVIL> <!subteam^S1> <https://evil.example|click me> @everyone & co"
    sentry_alert(ingest, monkeypatch, TUESDAY, "8002", title, level="fatal")
    delivery.wait_idle()
    [message] = slack.messages_for(slack.prod_url)
    sent = json.dumps(message, ensure_ascii=False)
    for control in ("<!channel>", "<!here>", "<@U0EVIL>", "<!subteam", "<https://evil", "@everyone"):
        assert control not in sent, control
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U0EVIL&gt;" in message["blocks"][0]["text"]["text"]
    assert "&amp; co" in message["text"] and f"<@{DEV_D}>" in sent   # the on-call is still named


@pytest.mark.parametrize("status,said", [(429, "rate_limited"), (503, "service_unavailable")])
def test_a_rate_limited_or_failing_webhook_delivers_the_alert_exactly_once(ingest, slack, escalate, monkeypatch,
                                                                          status, said):
    slack.fail_next(1, status=status, retry_after=1)
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "8003", "Checkout failed for every card", level="fatal")
    delivery.wait_idle()
    record = outbox.get(outbox.record_id(opened["incident"], "opened", "slack"))
    assert record["status"] == "pending" and record["last_error"] == f"HTTP {status}: {said}"
    assert words.state(record) == ("retrying after Slack's rate limit" if status == 429 else
                                   "retrying after Slack had a failure (HTTP 503)")
    assert slack.messages_for(slack.prod_url) == [] and slack.statuses() == [status]
    assert sweep(escalate, local("2026-11-24 10:01:00"))["sent"] == 1
    assert sweep(escalate, local("2026-11-24 10:02:00"))["sent"] == 0
    assert len(slack.messages_for(slack.prod_url)) == 1 and slack.statuses() == [status, 200]


def test_an_unreachable_webhook_is_retried_and_its_url_never_shows(ingest, api, slack, monkeypatch):
    slack.stop()   # nothing listens at the webhook's address any more
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "8007", "Checkout failed for every card", level="fatal")
    delivery.wait_idle()
    record = outbox.get(outbox.record_id(opened["incident"], "opened", "slack"))
    assert record["status"] == "pending" and "network error or timeout" in record["last_error"]
    shown = json.dumps([record, api.get(f"/incidents/{opened['incident']}").get_json()], default=str)
    assert "SECRET" not in shown and "/services/" not in shown


def test_a_refused_message_fails_with_slacks_reason_and_no_secret(ingest, api, slack, monkeypatch):
    slack.fail_next(1, status=400, body="invalid_blocks")
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "8004", "Database unavailable", level="fatal")
    delivery.wait_idle()
    record = outbox.get(outbox.record_id(opened["incident"], "opened", "slack"))
    assert (record["status"], record["last_error"]) == ("failed", "HTTP 400: invalid_blocks")
    timeline = api.get(f"/incidents/{opened['incident']}").get_json()["timeline"]
    assert timeline[-1]["detail"] == "Alert on Slack: HTTP 400: invalid_blocks"
    assert "SECRET" not in json.dumps(timeline)


def test_a_huge_alert_keeps_within_slacks_limits(ingest, slack, monkeypatch):
    title = "Pool exhausted " + "x" * 20_000
    sentry_alert(ingest, monkeypatch, TUESDAY, "8005", title, level="fatal")
    delivery.wait_idle()
    [message] = slack.messages_for(slack.prod_url)   # the fake refuses (400 invalid_blocks) anything over a limit
    assert count_blocks(message) <= BLOCKS_MAX
    texts = [b["text"]["text"] for b in blocks_of(message) if "text" in b]
    assert max(len(t) for t in texts) <= SECTION_TEXT_MAX and "(truncated" in message["blocks"][0]["text"]["text"]
    assert len(blocks_of(message)[len(message["blocks"])]["text"]["text"]) <= HEADER_TEXT_MAX


@pytest.mark.parametrize("lines,width", [(1, 200_000), (5_000, 80), (400, 2_999), (60, 3_001)])
def test_long_text_is_cut_into_at_most_fifty_sections_of_3000(lines, width):
    payload = text_message("\n".join("y" * width for _ in range(lines)), f"{PUBLIC}/console/incidents/INC-1")
    assert count_blocks(payload) <= BLOCKS_MAX and payload["blocks"][-1]["type"] == "actions"
    assert all(len(b["text"]["text"]) <= SECTION_TEXT_MAX for b in payload["blocks"][:-1])
    assert len(payload["text"]) <= SECTION_TEXT_MAX


def test_doctor_says_whether_the_slack_webhook_answers_without_posting(slack, capsys, monkeypatch):
    assert doctor.check_slack(settings(), None, "slack", 5).status == doctor.OK
    assert slack.messages_for(slack.prod_url) == [] and slack.statuses() == [400]   # {} is refused: nothing posted
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.prod_url + "x")
    settings.cache_clear()
    line = doctor.check_slack(settings(), None, "slack", 5)
    assert line.status == doctor.FAIL and "404 no_service" in line.detail and "SECRET" not in line.detail
    monkeypatch.delenv("SLACK_WEBHOOK_URL")
    settings.cache_clear()
    assert doctor.check_slack(settings(), None, "slack", 5).detail.startswith("not used")
    assert doctor.check_slack(settings(), slack_team(), "slack", 5).status == doctor.OFF   # routed, not set


def test_an_unconfigured_slack_shows_its_message_on_the_preview_page(ingest, slack, monkeypatch, live_server):
    monkeypatch.delenv("SLACK_WEBHOOK_URL")
    settings.cache_clear()
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "8006", "Checkout down <!channel> <b>now</b>", level="fatal")
    delivery.wait_idle()
    [preview] = [p for p in outbox.list_previews() if p["channel"] == "slack"]
    assert preview["text"].startswith("🔴🔴🔴 CRITICAL ALERT") and f"<@{DEV_D}>" in preview["text"]
    link = f"{PUBLIC}/console/incidents/{opened['incident']}"
    assert f"[Open in the console] {link}" in preview["text"]
    assert preview["payload"]["attachments"][0]["color"] == "#E74C3C"
    page = httpx.get(f"{live_server}/_local/notifications", timeout=10).text   # drawn as Slack draws it
    [shown] = [a for a in page.split('<article class="shown">')[1:] if "<b>Slack</b>" in a]
    assert '<div class="slack">' in shown and 'data-color="#E74C3C"' in shown
    assert f'<a class="button slack-button" href="{link}"' in shown and f"🔴 CRITICAL · petties-backend · " \
        f"{opened['incident']}" in shown
    assert "@Dev D - IMMEDIATE ACTION REQUIRED" in shown and "<@" not in shown and "&lt;@" not in shown
    assert "&lt;!channel&gt; &lt;b&gt;now&lt;/b&gt;" in shown and "<b>now" not in shown


def test_the_example_team_files_slack_routes_are_valid_once_uncommented():
    text = (DEFAULT_CONFIG.parent / "example.yaml").read_text(encoding="utf-8")
    shown = [line for line in text.splitlines() if line.startswith("      # - {channel: slack")]
    assert len(shown) == 2, "the example shows a Slack route and a Slack staging route, commented"
    cfg = parse_config(text.replace("      # - {channel: slack", "        - {channel: slack"), "example")
    critical, staging = cfg.notifications.routes[0], cfg.notifications.routes[-1]
    assert [(c.channel, c.template, c.mention) for c in critical.channels if c.channel == "slack"] == [
        ("slack", "critical", ["on-call"])]
    assert "slack_staging" in [c.channel for c in staging.channels]
    assert cfg.person("lead").slack_id == "U0LENA0001"


def slack_only_team():
    """The Petties team on Slack alone: every Discord route names Slack instead (the staging one Slack's staging)."""
    def edit(data):
        for route in data["notifications"]["routes"]:
            route["channels"] = [{**c, "channel": {"discord": "slack", "discord_staging": "slack_staging"}.get(
                c["channel"], c["channel"])} for c in route["channels"]]
    return variant({"people.dev-d.slack_id": DEV_D, "people.dev-a.slack_id": DEV_A}, edit=edit)


def test_a_team_on_slack_alone_gets_its_handoff_and_daily_report_in_slack(ingest, slack, escalate, daily, channels,
                                                                          use_team, monkeypatch):
    use_team(slack_only_team())
    opened = sentry_alert(ingest, monkeypatch, local("2026-11-27 20:00:00"), "8008", "Booking_page fails",
                          level="error")
    delivery.wait_idle()
    sweep(escalate, local("2026-11-30 09:00:00"))   # Monday: the week changes hands, the held High goes out
    delivery.wait_idle()
    texts = [m["text"] for m in slack.messages_for(slack.prod_url)]
    [handoff] = [t for t in texts if t.startswith("*On-Call Handoff - 2026-11-30*")]
    assert "*From: @Dev D*\n*To: @Dev A*" in handoff   # Discord's headings as Slack's bold
    assert f"- [ ] {opened['incident']}: Booking_page fails (High, open)" in handoff   # no Discord escapes
    assert any(t.startswith("🟠 HIGH ALERT") and f"<@{DEV_A}> - Please investigate" in t for t in texts)
    assert scheduled(daily, local("2026-11-30 09:05:00")).status_code == 200
    delivery.wait_idle()
    assert any(m["text"].startswith("📊 PETTIES DAILY REPORT - 2026-11-29") for m in slack.messages_for(slack.prod_url))
    assert channels.prod() == [] and not any(p["channel"] == "discord" for p in outbox.list_previews())


def test_held_alerts_go_out_as_one_slack_digest_linking_each_incident(ingest, slack, escalate, use_team, monkeypatch):
    use_team(slack_only_team())
    friday = local("2026-11-27 20:00:00")
    ids = [sentry_alert(ingest, monkeypatch, friday, f"810{n}", f"Booking step {n} fails", level="error")["incident"]
           for n in range(2)]
    delivery.wait_idle()
    assert slack.messages_for(slack.prod_url) == []   # High outside business hours: held
    sweep(escalate, local("2026-11-30 09:00:00"))
    delivery.wait_idle()
    [digest] = [m for m in slack.messages_for(slack.prod_url) if m["text"].startswith("🌅 Held outside business")]
    for iid in ids:
        assert f"<{PUBLIC}/console/incidents/{iid}|{iid}>" in digest["text"]
    assert f"<@{DEV_A}> - Please review" in digest["text"]


def test_team_chat_is_the_first_chat_channel_of_the_default_environments_routes():
    from shared.rules import routing
    assert routing.team_chat(variant()) == "discord"
    assert routing.team_chat(slack_only_team()) == "slack"
    no_chat = variant(edit=lambda d: [r.update(channels=[{"channel": "github"}]) for r in d["notifications"]["routes"]])
    assert routing.team_chat(no_chat) == "discord"   # shown on the preview page until a chat is routed


def test_doctor_send_test_posts_one_marked_message_to_slack(slack):
    line = doctor.send_test(settings(), "slack", "", 5)
    assert line.status == doctor.OK, line
    assert slack.messages_for(slack.prod_url) == [{"text": doctor.TEST_TEXT}]


def test_the_critical_card_reads_as_the_golden_file_says():
    from pathlib import Path

    from shared.channels.slack_render import message
    from tests.golden_files import golden
    from tests.test_render import NOW, PUBLIC_URL, incident
    cfg = slack_team()
    payload = message("critical", incident(links={"sentry": "https://petties.sentry.io/issues/4242/?a=1|b"}), cfg,
                      NOW, ("dev-d", "dev-a", "dev-b"), None, PUBLIC_URL)
    text = json.dumps(payload, ensure_ascii=False, indent=1) + "\n"
    assert text == golden(Path(__file__).parent / "golden" / "slack" / "critical.json", text)
    # a | in the link would end the URL early: percent-encoded, the only | left is the one before the label
    assert "<https://petties.sentry.io/issues/4242/?a=1%7Cb|Sentry>" in text
