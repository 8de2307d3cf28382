"""The escalation path as a pure function, walked with a fake clock."""
from __future__ import annotations

from datetime import timedelta

from shared.config import load_config
from shared.model import Severity
from shared.rules import escalation, sla
from tests.teams import variant
from tests.test_routing import at

CFG = load_config()


def state(severity, opened, acknowledged=False, done=(), status="open", environment="production", cfg=CFG):
    due = sla.due(severity, at(opened), cfg)
    return escalation.State(severity, environment, status, due.respond_by, due.resolve_by, acknowledged,
                            frozenset(done))


def walk(severity, opened, until, cfg=CFG, ack_at=None):
    """Follow next_check_at from the opening to `until`, taking each step once; return (local time, step)."""
    taken, done, now = [], set(), at(opened)
    while now is not None and now <= at(until):
        acknowledged = ack_at is not None and now >= at(ack_at)
        decision = escalation.evaluate(state(severity, opened, acknowledged, done, cfg=cfg), now, cfg)
        for step in decision.steps:
            taken.append((now.astimezone(cfg.team.zone).strftime("%a %H:%M"), step.name))
            done.add(step.name)
        nxt = decision.next_check_at
        if ack_at is not None and not acknowledged and (nxt is None or nxt > at(ack_at)) and at(ack_at) > now:
            nxt = at(ack_at)
        now = nxt
    return taken


def test_critical_at_0200_saturday_pages_the_lead_at_0215_and_stakeholders_at_0245():
    assert walk(Severity.CRITICAL, "2026-11-28 02:00:00", "2026-11-28 06:00:00") == [
        ("Sat 02:15", "sla-response"), ("Sat 02:45", "level-3"), ("Sat 04:00", "sla-resolution")]


def test_acknowledgement_at_any_step_stops_the_rest_but_not_the_resolution_clock():
    assert walk(Severity.CRITICAL, "2026-11-28 02:00:00", "2026-11-28 06:00:00", ack_at="2026-11-28 02:10:00") == [
        ("Sat 04:00", "sla-resolution")]
    assert walk(Severity.CRITICAL, "2026-11-28 02:00:00", "2026-11-28 06:00:00", ack_at="2026-11-28 02:20:00") == [
        ("Sat 02:15", "sla-response"), ("Sat 04:00", "sla-resolution")]


def test_a_high_at_2000_friday_waits_until_monday():
    assert walk(Severity.HIGH, "2026-11-27 20:00:00", "2026-11-30 18:00:00") == [
        ("Mon 10:00", "sla-response"), ("Mon 17:00", "sla-resolution")]


def test_resolved_ignored_and_staging_incidents_never_escalate():
    late = at("2026-11-30 12:00:00")
    assert escalation.evaluate(state(Severity.CRITICAL, "2026-11-28 02:00:00", status="resolved"), late, CFG) == \
        escalation.Decision((), None)
    assert escalation.evaluate(state(Severity.CRITICAL, "2026-11-28 02:00:00", environment="staging"), late, CFG) == \
        escalation.Decision((), None)
    assert escalation.evaluate(state(Severity.CRITICAL, "2026-11-28 02:00:00", status="ignored"), late, CFG) == \
        escalation.Decision((), None)


def test_reminders_repeat_until_acknowledged_one_at_a_time():
    cfg = variant({"escalation.repeat_every": "10m"})
    steps = walk(Severity.CRITICAL, "2026-11-28 02:00:00", "2026-11-28 02:50:00", cfg=cfg, ack_at="2026-11-28 02:40:00")
    assert steps == [("Sat 02:15", "sla-response"), ("Sat 02:25", "reminder-1"), ("Sat 02:35", "reminder-2")]
    # a sweep that was down for an hour sends the latest reminder, not a backlog
    s = state(Severity.CRITICAL, "2026-11-28 02:00:00", done={"sla-response", "level-3"}, cfg=cfg)
    decision = escalation.evaluate(s, at("2026-11-28 03:20:00"), cfg)
    assert [x.name for x in decision.steps] == ["reminder-6"]
    assert decision.next_check_at == at("2026-11-28 03:25:00")


def test_next_check_is_the_next_threshold():
    s = state(Severity.CRITICAL, "2026-11-28 02:00:00")
    assert escalation.evaluate(s, at("2026-11-28 02:01:00"), CFG).next_check_at == at("2026-11-28 02:15:00")
    assert escalation.evaluate(s, at("2026-11-28 02:01:00"), CFG).next_check_at - at("2026-11-28 02:00:00") == \
        timedelta(minutes=15)
