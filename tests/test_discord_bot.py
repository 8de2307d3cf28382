"""Discord bot mode against the fake Discord at the HTTP boundary: the alert as a bot message with the team's
buttons and a thread, workflow steps as thread replies with a reaction (once, through 5xx and 429), card edits,
webhook mode unchanged, and ./deploy.sh discord-setup registering the slash commands."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest

from shared.channels import discord_render as discord
from shared.config import load_config
from shared.config.settings import settings
from shared.local import discord_setup
from shared.model import Incident
from shared.notify import delivery, plan
from shared.rules.workflow import step_text
from shared.store import outbox
from tests.conftest import dump_firestore
from tests.notify_fixtures import ALERTS, APP, BOT_TOKEN, GUILD, local, no_secret_in, sentry_alert, sweep

TUESDAY = local("2026-11-24 10:00:00")   # business hours; Dev D is on call that week
CFG = load_config()


def open_critical(ingest, monkeypatch, bot, issue: str = "8001") -> tuple[str, dict]:
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, issue, "Payment gateway returned 503", level="fatal", users=40)
    delivery.wait_idle()
    [alert] = bot.discord.messages_in(ALERTS)
    return opened["incident"], alert


def bot_calls(fake) -> list[tuple[str, str, int]]:
    return [(r["method"], r["path"].split("/api/v10")[1], r["status"]) for r in fake.requests
            if "/channels/" in r["path"]]


# -- the alert -----------------------------------------------------------------------------------------------------
def test_a_critical_in_bot_mode_is_a_bot_message_with_buttons_and_a_select_and_gets_a_thread(ingest, bot,
                                                                                               monkeypatch):
    iid, alert = open_critical(ingest, monkeypatch, bot)
    assert bot.prod() == []  # nothing through the webhook
    assert alert["webhook_id"] is None and alert["content"].startswith("🔴🔴🔴 CRITICAL ALERT 🔴🔴🔴")
    assert alert["allowed_mentions"] == {"parse": [], "users": []}
    assert alert["embeds"][0]["color"] == 0xE74C3C
    assert [[c["custom_id"] for c in row["components"]] for row in alert["components"]] == [
        [f"incident:{a}:{iid}" for a in ("ack", "investigating", "fixing", "deploying", "resolve")],
        [f"incident:invalid:{iid}"], [f"incident:severity:{iid}"]]
    assert [c["emoji"]["name"] for c in alert["components"][0]["components"]] == ["👀", "🔍", "🔧", "🔄", "✅"]
    assert alert["components"][1]["components"][0]["style"] == discord.DANGER
    select = alert["components"][2]["components"][0]
    assert select["type"] == 3 and [(o["value"], o["default"]) for o in select["options"]] == [
        ("critical", True), ("high", False), ("medium", False), ("low", False)]
    assert not any(c["disabled"] for row in alert["components"] for c in row["components"])

    thread = bot.discord.threads[alert["id"]]
    assert thread["parent_id"] == ALERTS and thread["name"] == f"{iid}: Payment gateway returned 503"
    assert thread["thread_metadata"]["auto_archive_duration"] == 1440
    record = outbox.get(outbox.record_id(iid, "opened", "discord"))
    assert (record["status"], record["ref"]) == ("sent", f"{ALERTS}/{alert['id']}")
    assert bot_calls(bot.discord) == [("POST", f"/channels/{ALERTS}/messages", 200),
                                      ("POST", f"/channels/{ALERTS}/messages/{alert['id']}/threads", 201)]
    for call in (r for r in bot.discord.requests if "/channels/" in r["path"]):
        assert call["headers"]["Authorization"] == f"Bot {BOT_TOKEN}"
        assert call["headers"]["User-Agent"].startswith("DiscordBot (https://")
    assert len(bot.smtp.messages) == 1  # the email goes as before


def test_a_thread_that_fails_once_is_made_by_the_retry_without_posting_the_alert_again(ingest, bot, monkeypatch,
                                                                                        escalate, firestore, capsys):
    bot.discord.fail_on("/threads", 1, status=503)
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "8002", "Payment gateway returned 503", level="fatal")
    delivery.wait_idle()
    record = outbox.get(outbox.record_id(opened["incident"], "opened", "discord"))
    [alert] = bot.discord.messages_in(ALERTS)
    assert record["status"] == "pending" and record["progress"] == {"posted": f"{ALERTS}/{alert['id']}"}
    sweep(escalate, local("2026-11-24 10:01:00"))
    assert len(bot.discord.messages_in(ALERTS)) == 1 and alert["id"] in bot.discord.threads
    assert outbox.get(record["id"])["ref"] == f"{ALERTS}/{alert['id']}"
    stored = json.dumps(dump_firestore(firestore), default=str)
    assert BOT_TOKEN not in capsys.readouterr().out + stored and "HTTP 503" in stored  # the error, not the token


def test_resolving_posts_in_the_thread_and_edits_the_alert_with_every_control_disabled(ingest, bot, monkeypatch):
    iid, alert = open_critical(ingest, monkeypatch, bot)
    sentry_alert(ingest, monkeypatch, local("2026-11-24 10:40:00"), "8001", "x", level="fatal", action="resolved")
    delivery.wait_idle()
    # one message in the thread says it is resolved and by whom; the source's resolve step adds only its ✅
    [resolved] = bot.discord.messages_in(alert["id"])
    assert resolved["content"].startswith(f"✅ RESOLVED - petties-backend: Payment gateway returned 503 ({iid})")
    assert "👤 Resolved by Sentry" in resolved["content"] and bot.discord.reactions_on(alert["id"]) == ["✅"]
    assert alert["edits"] and alert["embeds"][0]["title"].startswith("✅ RESOLVED")
    assert all(c["disabled"] for row in alert["components"] for c in row["components"])
    [edit] = [r for r in bot.discord.requests if r["method"] == "PATCH"]
    assert edit["path"] == f"/api/v10/channels/{ALERTS}/messages/{alert['id']}"
    body = json.loads(edit["body"])
    assert body["allowed_mentions"] == {"parse": []} and "nonce" not in body and body["components"]
    assert len(bot.discord.messages_in(ALERTS)) == 1


def test_an_incident_a_digest_carried_is_resolved_in_the_channel_not_in_a_thread_the_digest_never_had(
        ingest, bot, monkeypatch, escalate):
    night = local("2026-11-24 22:00:00")   # outside business hours: both wait for the morning's digest
    held = [sentry_alert(ingest, monkeypatch, night, issue, title)["incident"]
            for issue, title in (("8101", "Booking list is slow"), ("8102", "Avatar upload fails"))]
    delivery.wait_idle()
    assert sweep(escalate, local("2026-11-25 09:00:00"))["digests"] == 1
    [digest] = bot.discord.messages_in(ALERTS)
    assert digest["id"] not in bot.discord.threads and all(i in digest["content"] for i in held)

    sentry_alert(ingest, monkeypatch, local("2026-11-25 10:00:00"), "8101", "x", action="resolved")
    delivery.wait_idle()
    record = outbox.get(outbox.record_id(held[0], "resolved", "discord"))
    assert record["status"] == "sent", record   # was: posted to the digest's "thread", 404 Unknown Channel, failed
    resolved = bot.discord.messages_in(ALERTS)[-1]
    assert resolved["content"].startswith("✅ RESOLVED") and held[0] in resolved["content"]
    assert not digest["edits"]   # the digest is every held incident's, not this one's card
    assert all(status < 400 for _, _, status in bot_calls(bot.discord))


# -- workflow steps ------------------------------------------------------------------------------------------------
def enqueue_step(iid: str, now: datetime, channel: str = "discord") -> tuple[str, str]:
    text = step_text("ack", "dev-d", now, CFG)
    [created] = outbox.enqueue([plan.step_record(iid, 1, "ack", channel, text, "👀", now)])
    assert created
    return outbox.record_id(iid, "step-1-ack", channel), text


def test_a_send_started_at_the_end_of_the_budget_still_gets_its_whole_timeout(ingest, bot, monkeypatch, escalate):
    """A vendor that is slow but succeeds must not be cut short by a nearly spent budget: that would be a
    timeout, a retry, and the same reply posted twice."""
    iid, alert = open_critical(ingest, monkeypatch, bot)
    now = local("2026-11-24 10:05:00")
    rid, text = enqueue_step(iid, now)
    bot.discord.hang_next(1, seconds=0.8)   # the reply is posted, its answer comes 0.8 s later

    stats = delivery.deliver([rid], CFG, settings(), now, 0.2)   # the send starts within 0.2 s of budget
    sweep(escalate, local("2026-11-24 10:06:00"))

    assert (stats.sent, stats.retried) == (1, 0) and outbox.get(rid)["status"] == "sent"
    assert [m["content"] for m in bot.discord.messages_in(alert["id"])] == [text]


@pytest.mark.parametrize("fails, status", [(None, None), ("reply", 500), ("reply", 429), ("reaction", 500),
                                           ("reaction", 429)])
def test_a_step_is_one_reply_in_the_thread_and_one_reaction_even_through_a_500_or_a_429(ingest, bot, monkeypatch,
                                                                                        escalate, fails, status):
    iid, alert = open_critical(ingest, monkeypatch, bot)
    now = local("2026-11-24 10:05:00")
    rid, text = enqueue_step(iid, now)
    if fails == "reply":
        bot.discord.fail_on(f"/channels/{alert['id']}/messages", 1, status=status, retry_after=0.2)
    elif fails == "reaction":
        bot.discord.fail_on("/reactions/", 1, status=status, retry_after=0.2)

    stats = delivery.deliver([rid], CFG, settings(), now, 10.0)
    if fails:
        record = outbox.get(rid)
        assert stats.retried == 1 and record["status"] == "pending" and f"HTTP {status}" in record["last_error"]
        assert record.get("progress", {}).get("posted", "").startswith(f"{alert['id']}/") == (fails == "reaction")
        sweep(escalate, local("2026-11-24 10:06:00"))

    assert [m["content"] for m in bot.discord.messages_in(alert["id"])] == [text]
    assert bot.discord.messages_in(alert["id"])[0]["allowed_mentions"] == {"parse": []}
    assert bot.discord.reactions_on(alert["id"]) == ["👀"]
    replies = [c for c in bot_calls(bot.discord) if c[:2] == ("POST", f"/channels/{alert['id']}/messages")]
    assert [c[2] for c in replies] == ([status, 200] if fails == "reply" else [200])
    assert outbox.get(rid)["status"] == "sent"
    assert len(bot.discord.messages_in(ALERTS)) == 1


def test_a_step_waits_for_its_alert_then_follows_it(ingest, bot, monkeypatch, escalate):
    bot.discord.fail_on(f"/channels/{ALERTS}/messages", 1, status=429, retry_after=0.2)  # the alert's first post
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "8003", "Payment gateway returned 503", level="fatal")
    delivery.wait_idle()
    assert bot.discord.messages_in(ALERTS) == []
    now = local("2026-11-24 10:00:30")
    rid, text = enqueue_step(opened["incident"], now)
    assert delivery.deliver([rid], CFG, settings(), now, 10.0).retried == 1
    assert "waiting for the alert" in outbox.get(rid)["last_error"]

    sweep(escalate, local("2026-11-24 10:01:00"))
    [alert] = bot.discord.messages_in(ALERTS)
    assert [m["content"] for m in bot.discord.messages_in(alert["id"])] == [text]
    assert bot.discord.reactions_on(alert["id"]) == ["👀"]


def test_webhook_mode_is_unchanged_and_a_step_is_superseded_there(ingest, channels, monkeypatch):
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "8004", "Payment gateway returned 503", level="fatal")
    delivery.wait_idle()
    [alert] = channels.prod()
    assert alert["components"] == [] and "nonce" not in json.loads(channels.discord.requests[0]["body"])
    assert channels.discord.requests[0]["query"] == {"wait": "true"}
    now = local("2026-11-24 10:05:00")
    rid, _ = enqueue_step(opened["incident"], now)
    assert delivery.deliver([rid], CFG, settings(), now, 10.0).skipped == 1
    assert outbox.get(rid)["status"] == "superseded"  # no thread to reply in: the step is on the timeline
    assert channels.prod() == [alert] and len(channels.discord.requests) == 1
    assert channels.discord.threads == {} and channels.discord.reactions == []


# -- pure rendering ------------------------------------------------------------------------------------------------
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)


def incident(**changes) -> Incident:
    base = {"id": "INC-7K3QXD", "title": "Pool exhausted", "status": "open", "auto_severity_rank": 3,
            "service": "petties-backend", "environment": "production", "source": "sentry", "dedup_key": "k",
            "key_doc": "k", "created_at": NOW}
    return Incident(**{**base, **changes})


def disabled(inc: Incident) -> list[str]:
    return [c["custom_id"].split(":")[1] for row in discord.components(inc) for c in row["components"]
            if c["disabled"]]


@pytest.mark.parametrize("changes, expected", [
    ({}, []),
    ({"status": "acknowledged", "acknowledged_at": NOW, "owner": "dev-d"}, ["ack"]),
    ({"status": "acknowledged", "acknowledged_at": NOW, "phase": "fixing"}, ["ack", "fixing"]),
    ({"status": "resolved", "resolved_at": NOW}, ["ack", "investigating", "fixing", "deploying", "resolve", "invalid",
                                                  "severity"]),
    ({"status": "resolved", "resolved_at": NOW, "invalid": True}, ["ack", "investigating", "fixing", "deploying",
                                                                    "resolve", "invalid", "severity"]),
])
def test_components_disable_what_no_longer_applies(changes, expected):
    assert disabled(incident(**changes)) == expected


def test_components_fit_discords_limits_and_the_select_shows_the_current_severity():
    rows = discord.components(incident(pinned_rank=2))
    assert len(rows) <= 5 and all(len(r["components"]) <= discord.ROW_BUTTONS_MAX for r in rows)
    assert [o["value"] for o in rows[2]["components"][0]["options"] if o["default"]] == ["medium"]


def test_card_is_the_incident_as_it_is_now_with_its_controls_and_no_ping():
    card = discord.card(incident(status="acknowledged", acknowledged_at=NOW, owner="dev-d", phase="deploying"), CFG,
                        NOW)
    assert set(card) == {"embeds", "components", "allowed_mentions"} and card["allowed_mentions"] == {"parse": []}
    fields = {f["name"]: f["value"] for f in card["embeds"][0]["fields"]}
    assert fields["Status"] == "acknowledged · deploying" and fields["Owner"] == CFG.person("dev-d").name
    invalid = discord.card(incident(status="resolved", resolved_at=NOW, invalid=True), CFG, NOW)
    assert invalid["embeds"][0]["title"].startswith("❌ INVALID")


def test_a_thread_name_is_one_line_of_at_most_100_characters():
    name = discord.thread_name(incident(title="line one\nline two " + "x" * 200))
    assert len(name) == 100 and name.startswith("INC-7K3QXD: line one line two") and name.endswith("…")


# -- the fake's bot API --------------------------------------------------------------------------------------------
def test_the_fake_bot_api_answers_like_discord(bot):
    fake, api = bot.discord, f"{bot.discord.base_url}/api/v10"
    auth = {"Authorization": f"Bot {BOT_TOKEN}"}
    row = [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "go"}]}]
    assert httpx.post(f"{api}/channels/{ALERTS}/messages", json={"content": "x"},
                      headers={"Authorization": "Bot nope"}).status_code == 401
    assert httpx.post(f"{api}/channels/42/messages", json={"content": "x"}, headers=auth).json()["code"] == 10003
    once = {"content": "once", "components": row, "nonce": "n1", "enforce_nonce": True}
    first = httpx.post(f"{api}/channels/{ALERTS}/messages", json=once, headers=auth).json()
    again = httpx.post(f"{api}/channels/{ALERTS}/messages", json=once, headers=auth).json()
    assert first["id"] == again["id"] and first["components"] == row  # a bot keeps its buttons
    assert len(fake.messages_in(ALERTS)) == 1
    made = httpx.post(f"{api}/channels/{ALERTS}/messages/{first['id']}/threads", headers=auth,
                      json={"name": "t", "auto_archive_duration": 1440})
    twice = httpx.post(f"{api}/channels/{ALERTS}/messages/{first['id']}/threads", headers=auth,
                       json={"name": "t", "auto_archive_duration": 1440})
    assert (made.status_code, twice.json()["code"]) == (201, 160004)
    assert httpx.put(f"{api}/channels/{ALERTS}/messages/42/reactions/%F0%9F%91%80/@me",
                     headers=auth).json()["code"] == 10008
    for _ in range(2):
        assert httpx.put(f"{api}/channels/{ALERTS}/messages/{first['id']}/reactions/%F0%9F%91%80/@me",
                         headers=auth).status_code == 204
    assert fake.reactions_on(first["id"]) == ["👀"]
    hooked = httpx.post(fake.webhook_url("100", bot.discord.webhooks["100"]["token"]), params={"wait": "true"},
                        json={"content": "hook", "components": row}).json()
    assert hooked["components"] == []  # a plain channel webhook still drops interactive components
    assert httpx.patch(f"{api}/channels/{hooked['channel_id']}/messages/{hooked['id']}", json={"content": "y"},
                       headers=auth).status_code in (403, 404)
    bad_select = [{"type": 1, "components": [{"type": 2, "style": 1, "label": "a", "custom_id": "a"},
                                             {"type": 3, "custom_id": "s", "options": []}]}]
    refused = httpx.post(f"{api}/channels/{ALERTS}/messages", json={"content": "x", "components": bad_select},
                         headers=auth)
    assert refused.status_code == 400 and "components" in refused.json()["errors"]


def test_the_fake_bot_api_rate_limits_per_channel():
    from tests.fakes.discord import FakeDiscord
    with FakeDiscord(rate_limit=2, rate_window=5.0, bot_token=BOT_TOKEN) as fake:
        cid = fake.add_channel()
        url, auth = f"{fake.base_url}/api/v10/channels/{cid}/messages", {"Authorization": f"Bot {BOT_TOKEN}"}
        answers = [httpx.post(url, json={"content": str(i)}, headers=auth) for i in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[1].headers["X-RateLimit-Remaining"] == "0" and answers[2].json()["retry_after"] > 0


# -- ./deploy.sh discord-setup -------------------------------------------------------------------------------------
def test_discord_setup_puts_the_command_list_as_guild_commands_and_prints_the_urls(bot, capsys):
    assert discord_setup.main(["--public-url", "https://abc.trycloudflare.com/"]) == 0
    [put] = [r for r in bot.discord.requests if r["method"] == "PUT"]
    assert put["path"] == f"/api/v10/applications/{APP}/guilds/{GUILD}/commands" and put["status"] == 200
    assert put["headers"]["Authorization"] == f"Bot {BOT_TOKEN}"
    assert json.loads(put["body"]) == discord_setup.COMMANDS
    saved = bot.discord.commands[(APP, GUILD)]
    assert [c["name"] for c in saved] == ["incident", "oncall", "handoff", "silence", "status-update", "postmortem"]
    postmortem = {o["name"]: o for o in saved[5]["options"]}
    assert list(postmortem) == ["show", "action", "done", "reviewed", "flag"]
    assert [(o["name"], o["type"]) for o in postmortem["action"]["options"]] == [
        ("incident", 3), ("text", 3), ("owner", 6), ("deadline", 3)]
    assert [c["value"] for c in postmortem["flag"]["options"][1]["choices"]] == ["data_loss", "security"]
    subs = {o["name"]: o for o in saved[0]["options"]}
    assert list(subs) == ["ack", "investigating", "fixing", "deploying", "resolve", "invalid", "severity", "note",
                          "show", "list"]
    for name in ("ack", "investigating", "fixing", "deploying", "resolve", "invalid", "severity", "note", "show"):
        assert subs[name]["options"][0] == {"type": 3, "name": "id", "description": "The incident, e.g. INC-7K3QXD",
                                            "required": True, "autocomplete": True}
    level = subs["severity"]["options"][1]
    assert (level["name"], level["type"], level["required"]) == ("level", 3, True)
    assert [c["value"] for c in level["choices"]] == ["critical", "high", "medium", "low"]
    assert [(o["name"], o["type"], o["required"]) for o in subs["note"]["options"]] == [("id", 3, True),
                                                                                        ("text", 3, True)]
    assert subs["list"]["options"] == []
    oncall = {o["name"]: o for o in saved[1]["options"]}
    assert [(o["name"], o["type"]) for o in oncall["override"]["options"]][:3] == [("member", 6), ("from", 3),
                                                                                 ("to", 3)]
    assert list(oncall) == ["now", "override"] and "options" not in saved[2]
    out = capsys.readouterr().out
    assert "https://abc.trycloudflare.com/interactions/" in out
    permissions = (1 << 10) | (1 << 11) | (1 << 38) | (1 << 35) | (1 << 6) | (1 << 16) | (1 << 14)
    assert f"client_id={APP}&scope=bot+applications.commands&permissions={permissions}" in out
    assert BOT_TOKEN not in out
    assert discord_setup.main([]) == 0  # again: the same list, the same command ids
    assert [c["id"] for c in bot.discord.commands[(APP, GUILD)]] == [c["id"] for c in saved]


def test_discord_setup_says_what_is_missing_or_refused_and_never_shows_the_token(bot, monkeypatch, capsys):
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "wrong-token-SECRET")
    assert discord_setup.main([]) == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err
    no_secret_in(err)
    assert "wrong-token-SECRET" not in err
    monkeypatch.delenv("DISCORD_GUILD_ID")
    assert discord_setup.main([]) == 2 and "DISCORD_GUILD_ID" in capsys.readouterr().err
    assert bot.discord.commands == {}

