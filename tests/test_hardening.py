"""Regressions from a hostile probe: no lost Critical email, no 500 under contention (findings 1 and 2)."""
from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from shared.channels.email import EmailChannel
from shared.notify import delivery
from shared.store import outbox
from tests.notify_fixtures import local, sentry_alert, sweep

TUESDAY = local("2026-11-24 10:00:00")   # business hours; Dev D is on call that week


@pytest.mark.parametrize("breaker", ["\r\nBcc: x@evil.example", "\u2028Bcc: x@evil.example", "\x85Bcc: x@evil"])
def test_a_title_with_any_line_break_is_still_emailed_on_one_subject_line(ingest, channels, monkeypatch, breaker):
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "8101", "payment gateway down" + breaker, level="fatal")
    delivery.wait_idle()
    [mail] = channels.smtp.messages
    subject = mail.message["Subject"]
    assert subject.startswith("[CRITICAL] petties-backend: payment gateway down Bcc: x@evil")
    assert opened["incident"] in subject and "\n" not in subject and "\r" not in subject
    assert mail.message["Bcc"] is None
    assert sorted(mail.rcpt_tos) == ["dev-a@petties.world", "dev-d@petties.world"]


def test_a_message_that_cannot_be_built_is_on_the_timeline_and_said_in_discord(ingest, api, escalate, channels,
                                                                               monkeypatch):
    def broken(self, kind, incident, cfg, now, ctx):
        raise ValueError("template bug")

    monkeypatch.setattr(EmailChannel, "render", broken)
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "8102", "Payments failing", level="fatal")
    delivery.wait_idle()
    timeline = api.get(f"/incidents/{opened['incident']}").get_json()["timeline"]
    crashed = [e for e in timeline if e["action"] == "notification failed"]
    assert [e["detail"] for e in crashed] == ["Alert by email: ValueError while building the message"]
    sweep(escalate, local("2026-11-24 10:01:00"))
    sweep(escalate, local("2026-11-24 10:02:00"))   # failed once for good: not tried again, one notice, one entry
    notices = [m for m in channels.prod() if m["content"].startswith("⚠️")]
    assert len(notices) == 1 and opened["incident"] in notices[0]["content"]
    assert notices[0]["allowed_mentions"] == {"parse": [], "users": []}
    timeline = api.get(f"/incidents/{opened['incident']}").get_json()["timeline"]
    assert len([e for e in timeline if e["action"] == "notification failed"]) == 1


def _parallel(n: int, call) -> list:
    answers: list = [None] * n
    start = threading.Barrier(n)

    def run(i: int) -> None:
        start.wait()
        answers[i] = call(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


@pytest.mark.slow
def test_twenty_parallel_acks_severity_changes_and_resolves_never_answer_5xx(ingest, api, channels, monkeypatch):
    ids = [sentry_alert(ingest, monkeypatch, TUESDAY, f"82{i:02d}", f"Problem {i}")["incident"] for i in range(3)]
    delivery.wait_idle()
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 10:05:00"))
    people = ["dev-a", "dev-b", "dev-c", "dev-d"]
    acks = _parallel(20, lambda i: api.post(f"/incidents/{ids[0]}/ack", json={"actor": people[i % 4]}))
    acked = api.get(f"/incidents/{ids[0]}").get_json()
    assert acked["status"] == "acknowledged" and acked["owner"] in people
    # the owner's clicks are done (200); everyone else learns who has it (409), and nothing else changed
    assert all(r.status_code == (200 if people[i % 4] == acked["owner"] else 409) for i, r in enumerate(acks)), \
        [r.status_code for r in acks]
    assert all(r.get_json()["owner"] == acked["owner"] for r in acks if r.status_code == 409)
    assert [e["actor"] for e in acked["timeline"] if e["action"] == "acknowledged"] == [acked["owner"]]

    levels = ["critical", "high", "medium", "low"]
    changes = _parallel(20, lambda i: api.post(f"/incidents/{ids[1]}/severity",
                                               json={"actor": "dev-a", "severity": levels[i % 4]}))
    assert all(r.status_code in (200, 409) for r in changes), {r.status_code for r in changes}
    assert all("changed meanwhile" in r.get_json()["error"] for r in changes if r.status_code == 409)
    final = api.get(f"/incidents/{ids[1]}").get_json()
    applied = [e for e in final["timeline"] if e["action"] == "severity" and e["actor"] == "dev-a"]
    # each applied change is on the timeline (identical ones at the same instant are one entry: the clock is fixed)
    assert {e["detail"].split()[1] for e in applied} == {levels[i % 4] for i, r in enumerate(changes)
                                                          if r.status_code == 200}
    assert final["severity"] in {e["detail"].split()[1] for e in applied} and final["severity_pinned"]

    resolves = _parallel(20, lambda i: api.post(f"/incidents/{ids[2]}/resolve", json={"actor": people[i % 4]}))
    codes = [r.status_code for r in resolves]
    assert all(c in (200, 409) for c in codes) and codes.count(200) == 1, codes
    assert api.get(f"/incidents/{ids[2]}").get_json()["status"] == "resolved"


class _StuckServer:
    """A Discord that accepts the connection and then never answers, or answers one byte every 20 ms: far too
    slowly to finish, often enough that no single read ever times out."""

    def __init__(self, trickle: bool):
        self.trickle, self.sock = trickle, socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/api/webhooks/100/token"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100_000:
                if self.stop.wait(0.02):
                    return
                if self.trickle:
                    try:
                        conn.send(bytes([byte]))
                    except OSError:
                        return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.mark.parametrize("trickle", [False, True], ids=["hung", "trickling"])
def test_a_hung_or_trickling_discord_never_delays_critical_email(ingest, channels, monkeypatch, trickle):
    from concurrent.futures import ThreadPoolExecutor

    from shared.config.settings import settings
    from shared.incidents.webhook import DELIVERY_WAIT
    clock, send_timeout = channels.clock, settings().send_timeout
    stuck = _StuckServer(trickle)
    try:
        monkeypatch.setenv("DISCORD_WEBHOOK_URL", stuck.url)
        settings.cache_clear()
        started = clock.monotonic()
        with ThreadPoolExecutor(1) as sender:
            answers = sender.submit(lambda: [sentry_alert(ingest, monkeypatch, TUESDAY, f"83{i:02d}", f"Outage {i}",
                                                          level="fatal")["incident"] for i in range(5)])
            # each answer waits DELIVERY_WAIT for its notifications, then says what it stored
            assert clock.run_waits(DELIVERY_WAIT, until=answers.done) == 5
            ids = answers.result()
        waited = time.monotonic()
        while len(channels.smtp.messages) < 5 and time.monotonic() - waited < 10:  # real sends, real time
            time.sleep(0.01)
        assert len(channels.smtp.messages) == 5, f"{len(channels.smtp.messages)} emails"
        # all five emails went out while the first Discord send was still within its timeout
        assert clock.monotonic() - started == pytest.approx(5 * DELIVERY_WAIT) and send_timeout > 5 * DELIVERY_WAIT
        assert all(outbox.get(f"{incident}:opened:discord")["status"] == "sending" for incident in ids[:1])
        # Discord's sends, one at a time, each cut off at its deadline
        assert clock.run_waits(send_timeout, until=lambda: all(
            outbox.get(f"{incident}:opened:discord").get("last_error") for incident in ids)) == 5
        delivery.wait_idle(30)
        for incident in ids:   # each gave up at its total deadline and waits for the sweep
            record = outbox.get(f"{incident}:opened:discord")
            assert record["status"] == "pending" and record["last_error"].startswith("TimeoutException"), record
    finally:
        stuck.close()


@pytest.mark.parametrize(("field", "value"), [("alertDuration", "inf"), ("alertDuration", "1e400"),
                                              ("alertDuration", -100), ("alertDuration", 2 ** 63),
                                              ("alertDuration", "nan")])
def test_numbers_that_are_not_finite_or_in_range_are_a_400_and_store_nothing(ingest, firestore, field, value):
    from tests.conftest import dump_firestore, fixture_json
    payload = dict(fixture_json("uptimerobot_up.json"), **{field: value})
    r = ingest.post("/uptimerobot?token=test-ingest-token", json=payload)
    assert r.status_code == 400 and field in r.get_json()["error"], r.get_data(as_text=True)
    assert len(r.get_json()["error"]) < 200
    assert dump_firestore(firestore) == {}


@pytest.mark.parametrize("value", ["1e400", "-5", "inf"])
def test_a_sentry_user_count_out_of_range_is_a_400(ingest, firestore, value):
    from tests.conftest import dump_firestore, fixture_json, sentry_headers
    payload = fixture_json("sentry_issue_created.json")
    payload["data"]["issue"]["userCount"] = value
    body = json.dumps(payload).encode()
    r = ingest.post("/sentry", data=body, headers=sentry_headers(body, "issue"))
    assert r.status_code == 400 and "userCount" in r.get_json()["error"]
    assert dump_firestore(firestore) == {}


def test_a_lone_surrogate_in_a_title_is_stored_as_a_replacement_character(ingest, api):
    from tests.conftest import fixture_json, sentry_headers
    payload = fixture_json("sentry_issue_created.json")
    payload["data"]["issue"]["title"] = "broken \ud800 title"
    body = json.dumps(payload).encode()
    r = ingest.post("/sentry", data=body, headers=sentry_headers(body, "issue"))
    assert r.status_code == 200, r.get_data(as_text=True)
    assert api.get(f"/incidents/{r.get_json()['incident']}").get_json()["title"] == "broken \ufffd title"


def test_pagerduty_links_that_are_not_a_list_are_ignored(ingest, api):
    event = {"routing_key": "R" * 32, "event_action": "trigger", "dedup_key": "srv01/links",
             "payload": {"summary": "Disk full", "source": "srv01", "severity": "error"}, "links": 5}
    r = ingest.post("/pagerduty/v2/enqueue", json=event)
    assert r.status_code == 202, r.get_data(as_text=True)


def test_api_text_with_lone_surrogates_and_control_characters_is_stored_clean(ingest, api, monkeypatch):
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "8401", "Search slow")
    r = api.post(f"/incidents/{opened['incident']}/note", json={"actor": "dev-d", "text": "see \ud800 log\x00s"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["timeline"][-1]["detail"] == "see \ufffd logs"
    override = api.post("/oncall/overrides", json={"covering": "dev-b", "start": "2026-11-24T10:00:00+07:00",
                                                  "end": "2026-11-24T18:00:00+07:00", "note": "\udfff sick"})
    assert override.status_code == 201 and override.get_json()["note"] == "\ufffd sick"


# ---------------------------------------------------------------- dates out of range, unbounded keys

def test_a_sentry_time_that_overflows_counts_from_arrival(ingest, api, monkeypatch):
    from tests.conftest import fixture_json, sentry_headers
    monkeypatch.setattr("shared.web.http.now", lambda: TUESDAY)
    payload = fixture_json("sentry_issue_created.json")
    payload["data"]["issue"]["lastSeen"] = "9999-12-31T23:59:59-14:00"   # +14 h past year 9999
    payload["data"]["issue"]["firstSeen"] = "0001-01-01T00:00:00+14:00"
    body = json.dumps(payload).encode()
    r = ingest.post("/sentry", data=body, headers=sentry_headers(body, "issue"))
    assert r.status_code == 200, r.get_data(as_text=True)
    stored = api.get(f"/incidents/{r.get_json()['incident']}").get_json()
    assert stored["first_seen"] == stored["created_at"] and stored["created_at"].startswith("2026-11-24")


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("get", "/oncall?at=0001-01-01", None, "at"),
    ("get", "/oncall?at=9999-12-31T23:59:59-14:00", None, "at"),
    ("get", "/metrics?from=9999-12-31T23:59:59", None, "from"),
    ("post", "/oncall/overrides", {"covering": "dev-b", "start": "2026-11-24T10:00:00+07:00",
                                   "end": "9999-12-31T23:59:59-14:00"}, "end"),
    ("post", "/oncall/overrides", {"covering": "dev-b", "start": "0001-01-01T00:00:00+14:00",
                                   "end": "2026-11-24T18:00:00+07:00"}, "start"),
])
def test_api_times_outside_a_sane_range_are_a_400_that_changes_nothing(api, firestore, method, path, body, field):
    from tests.conftest import dump_firestore
    r = getattr(api, method)(path, json=body) if body else getattr(api, method)(path)
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.get_json()["error"].startswith(f"{field}: expected a time from 2000 to 2099")
    assert dump_firestore(firestore) == {}


def test_a_monitor_id_near_a_megabyte_is_one_bounded_incident(ingest, api, firestore):
    from tests.conftest import fixture_json
    huge = "9" * 900_000
    payload = dict(fixture_json("uptimerobot_down.json"), monitorID=huge, monitorURL="", monitorFriendlyName="")
    first = ingest.post("/uptimerobot?token=test-ingest-token", json=payload)
    again = ingest.post("/uptimerobot?token=test-ingest-token", json=payload)
    assert first.status_code == again.status_code == 200, first.get_data(as_text=True)[:300]
    assert again.get_json()["incident"] == first.get_json()["incident"]   # the bounded key still deduplicates
    listed = api.get("/incidents").get_json()["incidents"]
    assert len(listed) == 1 and len(listed[0]["dedup_key"]) <= 255
    assert listed[0]["dedup_key"].startswith("uptimerobot:999")
    other = dict(payload, monitorID=huge[:-1] + "8")   # same 189-character prefix, another monitor
    assert ingest.post("/uptimerobot?token=test-ingest-token", json=other).get_json()["incident"] \
        != first.get_json()["incident"]
    assert len(json.dumps(api.get("/incidents").get_json())) < 50_000   # two incidents, not two megabytes


def test_a_huge_sentry_issue_id_gives_a_bounded_key(ingest, api):
    from tests.conftest import fixture_json, sentry_headers
    payload = fixture_json("sentry_issue_created.json")
    payload["data"]["issue"]["id"] = "7" * 900_000
    body = json.dumps(payload).encode()
    r = ingest.post("/sentry", data=body, headers=sentry_headers(body, "issue"))
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert len(api.get(f"/incidents/{r.get_json()['incident']}").get_json()["dedup_key"]) <= 255


@pytest.mark.parametrize("value", [2 ** 64, "1e400", -3, "inf"])
def test_truncated_alerts_out_of_range_is_a_400(ingest, firestore, value):
    from tests.conftest import dump_firestore, fixture_json
    payload = dict(fixture_json("alertmanager_firing.json"), truncatedAlerts=value)
    r = ingest.post("/alertmanager?token=test-ingest-token", json=payload)
    assert r.status_code == 400 and r.get_json()["error"].startswith("truncatedAlerts:"), r.get_data(as_text=True)
    assert dump_firestore(firestore) == {}


def test_truncated_alerts_as_a_string_number_is_read(ingest, api):
    from tests.conftest import fixture_json
    payload = dict(fixture_json("alertmanager_firing.json"), truncatedAlerts="3")
    r = ingest.post("/alertmanager?token=test-ingest-token", json=payload)
    assert r.status_code == 200, r.get_data(as_text=True)
    first = api.get(f"/incidents/{r.get_json()['incident']}").get_json()
    assert "3 more alerts were truncated" in first["timeline"][0]["detail"]


@pytest.mark.parametrize(("path", "payload"), [
    ("/uptimerobot?token=test-ingest-token", {"monitorID": "1", "alertType": "z" * 500_000}),
    ("/alertmanager?token=test-ingest-token", {"alerts": [{"status": "s" * 500_000, "labels": {"a": "b"}}]}),
])
def test_an_error_answer_quotes_only_a_short_prefix_of_the_value(ingest, firestore, capfd, path, payload):
    r = ingest.post(path, json=payload)
    assert r.status_code == 400 and len(r.get_data()) < 300, r.get_data()[:300]
    out, err = capfd.readouterr()
    assert "z" * 100 not in out + err and "s" * 100 not in out + err
