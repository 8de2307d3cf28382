"""Hardening, second round, finding 9: one delivery engine. Every outbox record carries its kind; held digests
settle like any send (backoff, attempt limit, pauses, failure on the timeline); a message that cannot be built
fails once; the escalate run keeps within the function's timeout and a run cut off is finished by a retry. Through
the HTTP boundary, against the emulator and the vendors' fakes, on a FakeClock."""
from __future__ import annotations

from datetime import timedelta

from shared import sweep as minute_sweep
from shared.notify import delivery
from shared.notify.job import MAX_ATTEMPTS
from shared.store import incidents as store
from shared.store import outbox
from tests.notify_fixtures import local, scheduled, sentry_alert, sweep
from tests.test_probes import refused_url
from tests.test_probes import team as probing_team
from tests.test_status_updates import FIRST, reminders

TUESDAY = local("2026-11-24 10:00:00")
FRIDAY_NIGHT = local("2026-11-27 20:00:00")   # a High waits for Monday 09:00, held for a digest


def _at(monkeypatch, when):
    monkeypatch.setattr("shared.web.http.now", lambda: when)


def test_a_late_status_update_reminder_is_sent_once(ingest, api, escalate, channels, monkeypatch):
    """Before: queued as status-update-1-late, its kind read from the reason ("status") was unknown, and it was
    retried at every sweep and never sent."""
    iid = sentry_alert(ingest, monkeypatch, TUESDAY, "8801", "Checkout slow", level="fatal")["incident"]
    _at(monkeypatch, local("2026-11-24 10:05:00"))
    assert api.post(f"/incidents/{iid}/status-updates", json={**FIRST, "by": "dev-d"}).status_code == 201
    delivery.wait_idle()
    for minute in (36, 37, 38):
        sweep(escalate, local(f"2026-11-24 10:{minute}:00"))
    delivery.wait_idle()
    [late] = reminders(iid)
    assert (late["kind"], late["status"], late["attempts"]) == ("text", "sent", 1), late
    sent = [m for m in channels.prod() if m["content"].startswith(f"⏰ {iid}: the public status update")]
    assert len(sent) == 1


def test_a_record_stored_without_a_kind_is_still_delivered(ingest, api, escalate, channels, monkeypatch):
    """Records written by an earlier version have no kind: it is read from the reason, status-update- included."""
    iid = sentry_alert(ingest, monkeypatch, TUESDAY, "8802", "Checkout slow", level="fatal")["incident"]
    delivery.wait_idle()
    rid = outbox.record_id(iid, "status-update-1-late", "discord")
    outbox.enqueue([{"id": rid, "incident_id": iid, "reason": "status-update-1-late", "channel": "discord",
                     "template": "text", "text": f"⏰ {iid}: late", "pings": [], "mentions": [], "recipients": [],
                     "status": "pending", "due_at": TUESDAY, "created_at": TUESDAY, "attempts": 0}])
    sweep(escalate, local("2026-11-24 10:01:00"))
    assert outbox.get(rid)["status"] == "sent"
    assert [m["content"] for m in channels.prod()].count(f"⏰ {iid}: late") == 1


def test_a_digest_refused_for_good_fails_once_and_reaches_the_timeline(ingest, escalate, channels, monkeypatch):
    """Before: a digest refused for good (a deleted webhook) was retried hourly forever and never reached the
    timeline, since digests settled through their own code."""
    first = sentry_alert(ingest, monkeypatch, FRIDAY_NIGHT, "8803", "BookingCreationException: slot taken")
    second = sentry_alert(ingest, monkeypatch, FRIDAY_NIGHT, "8804", "LoginFailedException: token expired")
    ids = [first["incident"], second["incident"]]
    delivery.wait_idle()
    del channels.discord.webhooks["100"]   # the alerts channel's webhook was deleted meanwhile: 404 Unknown Webhook
    monday = sweep(escalate, local("2026-11-30 09:00:00"))
    assert (monday["digests"], monday["failed"]) == (0, 3), monday   # the two held alerts, and Monday's handoff
    for iid in ids:
        record = outbox.get(outbox.record_id(iid, "opened", "discord"))
        assert (record["status"], record["attempts"]) == ("failed", 1), record
        [entry] = [e for e in store.get_incident(iid).timeline if e["action"] == "notification failed"]
        assert entry["detail"].startswith("Alert on Discord (in a digest): ") and "404" in entry["detail"]
    for minute in (1, 2):   # nothing is tried again
        later = sweep(escalate, local(f"2026-11-30 09:0{minute}:00"))
        assert (later["sent"], later["retried"], later["failed"]) == (0, 0, 0), later
    assert [outbox.get(outbox.record_id(i, "opened", "discord"))["attempts"] for i in ids] == [1, 1]


def test_a_digest_that_fails_for_now_backs_off_held_and_goes_out_later(ingest, escalate, channels, monkeypatch):
    first = sentry_alert(ingest, monkeypatch, FRIDAY_NIGHT, "8805", "BookingCreationException: slot taken")
    sentry_alert(ingest, monkeypatch, FRIDAY_NIGHT, "8806", "LoginFailedException: token expired")
    delivery.wait_idle()
    channels.discord.fail_on("/webhooks/100/", 1, status=503)
    monday = sweep(escalate, local("2026-11-30 09:00:00"))
    assert (monday["digests"], monday["retried"]) == (0, 2), monday
    record = outbox.get(outbox.record_id(first["incident"], "opened", "discord"))
    assert (record["status"], record["attempts"]) == ("held", 1)
    assert record["due_at"] > local("2026-11-30 09:00:00")
    later = sweep(escalate, local("2026-11-30 10:00:00"))
    assert later["digests"] == 1, later
    record = outbox.get(outbox.record_id(first["incident"], "opened", "discord"))
    assert (record["status"], record["digest"], record["attempts"]) == ("sent", True, 2)
    assert MAX_ATTEMPTS > 2


def test_a_message_that_cannot_be_built_fails_once_with_one_notice(ingest, escalate, channels, monkeypatch):
    """Before: a crash while building a message was retried at every sweep, about 9 hours of attempts."""
    iid = sentry_alert(ingest, monkeypatch, TUESDAY, "8807", "Checkout slow", level="fatal")["incident"]
    delivery.wait_idle()
    rid = outbox.record_id(iid, "from-a-newer-version", "email")
    outbox.enqueue([{"id": rid, "incident_id": iid, "kind": "hologram", "reason": "from-a-newer-version",
                     "channel": "email", "template": "text", "text": "", "status": "pending", "due_at": TUESDAY,
                     "created_at": TUESDAY, "attempts": 0}])
    first = sweep(escalate, local("2026-11-24 10:01:00"))
    assert first["failed"] == 1 and first["retried"] == 0, first
    assert outbox.get(rid)["status"] == "failed"
    [entry] = [e for e in store.get_incident(iid).timeline if e["action"] == "notification failed"]
    assert entry["detail"] == "From a newer version by email: ValueError while building the message"
    for minute in (2, 3, 4):
        again = sweep(escalate, local(f"2026-11-24 10:0{minute}:00"))
        assert again["failed"] == again["retried"] == 0
    delivery.wait_idle()
    assert outbox.get(rid)["attempts"] == 1
    notices = [m["content"] for m in channels.prod() if m["content"].startswith("⚠️")]
    assert notices == [f"⚠️ {iid}: From a newer version by email could not be built (ValueError), so it was not sent; "
                       "see the logs. CRITICAL: Checkout slow"], notices


def test_the_escalate_run_ends_well_inside_the_timeout_when_vendors_hang(ingest, escalate, channels, clock,
                                                                          monkeypatch):
    """Before: the outbox (45 s), polling (5 + 10 s) and probes (15 s) could take about 75 s against the function's
    60 s: the run was claimed but never recorded, and the Scheduler's retry was refused as a duplicate."""
    probing_team(monkeypatch, refused_url())
    for n in range(12):
        sentry_alert(ingest, monkeypatch, TUESDAY, f"881{n:02d}", f"Checkout fails {n}", level="fatal")
    delivery.wait_idle()
    for record in outbox.due(TUESDAY + timedelta(minutes=30), 100):   # all pending again, and Discord now hangs
        outbox.retry_at(record["id"], TUESDAY, "test")
    channels.discord.hang_next(100, seconds=5.5)   # each send gives up after its 5 s timeout
    monkeypatch.setattr(minute_sweep, "SWEEP_BUDGET", 40.0)   # an outbox that would take the whole run
    started = clock.monotonic()
    r = scheduled(escalate, local("2026-11-24 10:30:00"))
    took = clock.monotonic() - started
    assert r.status_code == 200 and r.get_json()["status"] == "done", r.get_data(as_text=True)
    assert took <= minute_sweep.RUN_BUDGET + 1, took
    assert r.get_json()["cut_short"] == ["probes"]
    assert scheduled(escalate, local("2026-11-24 10:30:00")).get_json()["status"] == "duplicate"


def test_a_run_cut_off_is_finished_by_the_schedulers_retry(escalate, channels, clock, monkeypatch):
    real = minute_sweep.postmortems.sweep
    monkeypatch.setattr(minute_sweep.postmortems, "sweep", lambda *a: (_ for _ in ()).throw(TimeoutError("killed")))
    assert scheduled(escalate, local("2026-11-24 10:30:00")).status_code == 500   # the function died mid-run
    monkeypatch.setattr(minute_sweep.postmortems, "sweep", real)
    clock.advance(30)   # the first try may still be running: a retry now is not started twice
    assert scheduled(escalate, local("2026-11-24 10:30:00")).get_json()["status"] == "duplicate"
    clock.advance(minute_sweep.RUN_LEASE.total_seconds())   # it was killed: the retry does the run
    assert scheduled(escalate, local("2026-11-24 10:30:00")).get_json()["status"] == "done"
    assert scheduled(escalate, local("2026-11-24 10:30:00")).get_json()["status"] == "duplicate"
