"""Notifications end to end against HTTP-boundary fakes (Discord, GitHub) and a real SMTP server."""
from __future__ import annotations

import json

import pytest

from shared.notify import delivery
from shared.store import outbox
from tests.conftest import dump_firestore, fixture_json, sentry_headers
from tests.notify_fixtures import SECRETS, local, no_secret_in, sentry_alert, sweep

TUESDAY = local("2026-11-24 10:00:00")   # business hours; Dev D is on call that week


def test_critical_pages_discord_and_emails_then_resolves_everywhere(ingest, api, channels, monkeypatch):
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "7001", "Payment gateway returned 503", level="fatal",
                          users=40)
    delivery.wait_idle()
    [message] = channels.prod()
    assert message["content"].startswith("🔴🔴🔴 CRITICAL ALERT 🔴🔴🔴")
    assert "@Dev D @Dev A - IMMEDIATE ACTION REQUIRED" in message["content"]
    assert message["allowed_mentions"] == {"parse": [], "users": []}
    assert message["embeds"][0]["color"] == 0xE74C3C
    [mail] = channels.smtp.messages
    assert sorted(mail.rcpt_tos) == ["dev-a@petties.world", "dev-d@petties.world"]
    assert mail.message["Subject"].startswith("[CRITICAL] petties-backend: Payment gateway returned 503")
    assert mail.tls and mail.auth_user == "mailer"
    assert channels.github.issues == {}

    closed = sentry_alert(ingest, monkeypatch, local("2026-11-24 10:40:00"), "7001", "Payment gateway returned 503",
                          level="fatal", action="resolved")
    assert closed == {"incident": opened["incident"], "status": "resolved"}
    delivery.wait_idle()
    assert [m["content"].splitlines()[0] for m in channels.prod()] == [
        "🔴🔴🔴 CRITICAL ALERT 🔴🔴🔴",
        f"✅ RESOLVED - petties-backend: Payment gateway returned 503 ({opened['incident']})"]
    original = channels.prod()[0]
    assert original["edits"] and original["embeds"][0]["title"].startswith("✅ RESOLVED")
    assert [m.message["Subject"].split("]")[0] for m in channels.smtp.messages] == ["[CRITICAL", "[RESOLVED"]
    timeline = api.get(f"/incidents/{opened['incident']}").get_json()["timeline"]
    assert [e["action"] for e in timeline] == ["opened", "severity", "resolved"]


def test_medium_files_a_github_issue_and_closes_it(ingest, channels, monkeypatch):
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "7002", "Image upload slow on /pets/photo")
    delivery.wait_idle()
    assert channels.prod()[0]["content"].startswith("🟡 WARNING - petties-backend")
    [issue] = channels.github.issues.values()
    assert set(issue["labels"]) == {
        "severity:medium", "service:petties-backend", f"incident:{opened['incident']}"}
    # GitHub is told who is calling as itself; only Discord gets the DiscordBot form it asks bots for
    assert {r["headers"]["User-Agent"] for r in channels.github.requests} == {
        "incident-response/1.0 (+https://github.com/petties/incident-response)"}
    assert all(r["headers"]["User-Agent"].startswith("DiscordBot (") for r in channels.discord.requests)
    sentry_alert(ingest, monkeypatch, local("2026-11-24 11:00:00"), "7002", "x", action="resolved")
    delivery.wait_idle()
    assert issue["state"] == "closed" and len(issue["comments"]) == 1
    assert issue["comments"][0]["body"].startswith("✅ Resolved")


def test_low_is_only_a_github_issue_and_staging_goes_to_its_channel(ingest, channels, monkeypatch):
    sentry_alert(ingest, monkeypatch, TUESDAY, "7003", "Typo on the footer", level="warning")
    event = fixture_json("sentry_error_created.json")
    event["data"]["error"].update(environment="staging", level="fatal", title="Crash in staging")
    body = json.dumps(event).encode()
    assert ingest.post("/sentry", data=body, headers=sentry_headers(body, "error")).status_code == 200
    delivery.wait_idle()
    assert channels.prod() == [] and len(channels.github.issues) == 1
    [staged] = channels.staging()
    assert staged["content"].startswith("🟡 WARNING")  # a fatal staging crash is capped at Medium
    assert staged["allowed_mentions"] == {"parse": [], "users": []} and "@Dev" not in staged["content"]
    assert channels.smtp.messages == []


def test_a_rate_limited_webhook_delivers_every_message_once(ingest, channels, monkeypatch, escalate):
    channels.discord.fail_next(1, status=429, retry_after=0.2)
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "7005", "HikariPool connection pool exhausted", level="error")
    delivery.wait_idle()
    assert channels.prod() == []  # the 429 left it in the outbox, due again after retry_after
    record = outbox.get(outbox.record_id(opened["incident"], "opened", "discord"))
    assert record["status"] == "pending" and "HTTP 429" in record["last_error"]
    assert channels.discord.statuses()[0] == 429
    # no sleep: the 429 paused the channel for its retry_after, and the sweep itself waits that pause out
    assert sweep(escalate, local("2026-11-24 10:01:00"))["sent"] == 1
    assert sweep(escalate, local("2026-11-24 10:02:00"))["sent"] == 0
    assert len(channels.prod()) == 1


def test_a_permanent_error_is_recorded_and_does_not_stop_the_email(ingest, api, channels, monkeypatch, firestore,
                                                                   capsys):
    channels.discord.fail_next(1, status=404, body={"message": "Unknown Webhook", "code": 10015})
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "7006", "Database unavailable", level="fatal")
    delivery.wait_idle()
    assert len(channels.smtp.messages) == 1 and channels.prod() == []
    record = outbox.get(outbox.record_id(opened["incident"], "opened", "discord"))
    assert (record["status"], record["last_error"]) == ("failed", "HTTP 404: Unknown Webhook")
    timeline = api.get(f"/incidents/{opened['incident']}").get_json()["timeline"]
    assert timeline[-1]["action"] == "notification failed"
    assert timeline[-1]["detail"] == "Alert on Discord: HTTP 404: Unknown Webhook"
    no_secret_in(capsys.readouterr().out, json.dumps(dump_firestore(firestore), default=str))


def test_a_slow_answer_to_the_message_is_waited_for_not_retried_into_a_second_email(ingest, channels, monkeypatch):
    """The server has the message once the final "." is sent: giving up on its reply at the send timeout would
    retry a delivered email (RFC 5321 asks clients to wait for that reply). SMTP's timeouts are the socket's,
    in real time: the send timeout is shrunk to keep the wait short."""
    from shared.config.settings import settings
    monkeypatch.setenv("SEND_TIMEOUT_SECONDS", "0.2")
    settings.cache_clear()
    channels.smtp.slow_next(1, seconds=0.6)   # the answer to the message comes after the send timeout
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "7009", "Database unavailable", level="fatal")
    delivery.wait_idle()
    record = outbox.get(outbox.record_id(opened["incident"], "opened", "email"))
    assert record["status"] == "sent" and not record.get("last_error")
    assert len(channels.smtp.messages) == 1


@pytest.mark.fakes(fail_ratio=1.0, seed=3, hang_seconds=0.1)
def test_no_secret_in_logs_errors_or_firestore_when_every_call_fails(ingest, channels, monkeypatch, firestore,
                                                                     capsys):
    channels.smtp.fail_next(5, code=451)
    sentry_alert(ingest, monkeypatch, TUESDAY, "7007", "Data loss in bookings table", level="fatal")
    sentry_alert(ingest, monkeypatch, TUESDAY, "7008", "Slow search", level="error")
    delivery.wait_idle()
    records = [r for r in (outbox.get(x["id"]) for x in outbox.due(local("2027-01-01 00:00:00"), 50))]
    assert records and all(r["last_error"] for r in records)
    no_secret_in(capsys.readouterr().out, json.dumps(dump_firestore(firestore), default=str),
                 json.dumps([r["last_error"] for r in records]))
    from shared.config.settings import settings
    assert all(s not in repr(settings().__dict__) for s in SECRETS)


def test_critical_email_through_sendgrid_retries_a_429_and_never_leaks_the_key(ingest, channels, monkeypatch,
                                                                              escalate, firestore, capsys):
    from shared.config.settings import settings
    from tests.fakes.sendgrid import FakeSendGrid
    key = "SG.sendgrid-key-SECRET"
    with FakeSendGrid(api_key=key) as sendgrid:
        monkeypatch.setenv("SENDGRID_API_KEY", key)
        monkeypatch.setenv("SENDGRID_API_URL", sendgrid.base_url)
        settings.cache_clear()
        sendgrid.fail_next(1, status=429)
        opened = sentry_alert(ingest, monkeypatch, TUESDAY, "7009", "Security breach suspected", level="fatal")
        delivery.wait_idle()
        assert sendgrid.mails == [] and channels.smtp.messages == []
        sweep(escalate, local("2026-11-24 10:05:00"))  # before the 15-minute response SLA escalates it
        [mail] = sendgrid.mails
        assert mail["subject"].startswith("[CRITICAL]") and opened["incident"] in mail["subject"]
        assert [c["type"] for c in mail["content"]] == ["text/plain", "text/html"]
        out = capsys.readouterr().out + json.dumps(dump_firestore(firestore), default=str)
        assert key not in out


@pytest.mark.slow
@pytest.mark.fakes(rate_limit=5, rate_window=2.0)
def test_a_burst_of_30_critical_alerts_all_arrive_paced_by_the_webhook_limit(ingest, channels, monkeypatch,
                                                                            escalate):
    for i in range(30):
        sentry_alert(ingest, monkeypatch, TUESDAY, f"75{i:02d}", f"Database unavailable on node {i}", level="fatal")
    delivery.wait_idle()
    sweep(escalate, local("2026-11-24 10:01:00"))
    sweep(escalate, local("2026-11-24 10:02:00"))
    contents = [m["content"] for m in channels.prod()]
    assert len(contents) == 30 and len(set(contents)) == 30
    assert sum(1 for s in channels.discord.statuses() if s == 429) <= 3  # paced by the headers, not by 429s


# ---------------------------------------------------------------- sends claimed as they are stored

CRITICAL_DOWN = dict(source="uptimerobot", dedup_key="uptimerobot:777", title="petties.world is down", level="down",
                     level_table="uptimerobot", project="https://petties.world")   # petties-web down: Critical


def test_the_alerts_own_request_sends_its_notifications_without_reading_them_back(ingest, channels, monkeypatch):
    from tests.fakes.firestore_tap import tapped
    with tapped() as tap:
        opened = sentry_alert(ingest, monkeypatch, TUESDAY, "7101", "Payment gateway returned 503", level="fatal",
                              users=40)
        delivery.wait_idle()
    ids = [outbox.record_id(opened["incident"], "opened", channel) for channel in ("discord", "email")]
    # stored claimed by the request with the incident (no claim's read and write), then marked sent
    assert [tap.read(f"outbox/{rid}") for rid in ids] == [0, 0]
    assert tap.read(f"incidents/{opened['incident']}") == 0   # rendered from the incident the request stored
    assert [tap.written(f"outbox/{rid}") for rid in ids] == [2, 2]
    assert [(outbox.get(rid)["status"], outbox.get(rid)["attempts"]) for rid in ids] == [("sent", 1), ("sent", 1)]
    assert len(channels.prod()) == 1 and len(channels.smtp.messages) == 1


def test_sends_a_request_claimed_and_never_made_go_out_once_when_its_lease_runs_out(channels, escalate, clock):
    # Given a request that stored a Critical with its sends claimed, then stopped before sending them
    from shared.config import config
    from shared.incidents import ingest as incidents
    from shared.model import Action, Alert
    from shared.notify.job import LEASE
    outcome = incidents.ingest(Alert(action=Action.TRIGGER, **CRITICAL_DOWN), config(), TUESDAY, sends=True)
    assert sorted(c.record["channel"] for c in outcome.notify) == ["discord", "email"]
    assert {outbox.get(c.record["id"])["status"] for c in outcome.notify} == {"sending"}
    # When the sweep runs while the lease lasts, it leaves them (that request may still be sending)
    assert sweep(escalate, local("2026-11-24 10:01:00"))["sent"] == 0
    assert channels.prod() == [] and channels.smtp.messages == []
    # Then once the lease has run out, the sweep sends each exactly once
    clock.advance(LEASE.total_seconds() + 1)
    assert sweep(escalate, local("2026-11-24 10:02:00"))["sent"] == 2
    assert sweep(escalate, local("2026-11-24 10:03:00"))["sent"] == 0
    assert len(channels.prod()) == 1 and len(channels.smtp.messages) == 1


def test_a_claimed_send_its_request_cannot_make_in_time_is_given_back_to_the_sweep_at_once(ingest, channels, escalate,
                                                                                        monkeypatch, clock):
    # Given Discord paused for longer than a request's sends may take (a 429 asking for 60 s)
    channels.discord.fail_next(1, status=429, retry_after=60)
    first = sentry_alert(ingest, monkeypatch, TUESDAY, "7102", "HikariPool connection pool exhausted")
    delivery.wait_idle()
    # When another alert's request finds the channel paused
    second = sentry_alert(ingest, monkeypatch, TUESDAY, "7103", "Redis connection refused")
    delivery.wait_idle()
    # Then its claimed record is given back as it was (due, its attempt not counted), not left under the lease
    record = outbox.get(outbox.record_id(second["incident"], "opened", "discord"))
    assert (record["status"], record["attempts"], record.get("lease_until")) == ("pending", 0, None)
    # and the sweep after the pause sends both, once each
    clock.advance(61)
    assert sweep(escalate, local("2026-11-24 10:02:00"))["sent"] == 2
    assert sweep(escalate, local("2026-11-24 10:03:00"))["sent"] == 0
    assert len(channels.prod()) == 2
    assert {outbox.get(outbox.record_id(o["incident"], "opened", "discord"))["status"] for o in (first, second)} == \
        {"sent"}
