"""SLA due times (respond, resolve) for a severity, in the team's calendar (pure)."""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.config import Config, duration
from shared.config.frozen import frozen
from shared.model import Severity
from shared.rules import escalation
from shared.rules.calendar import is_business_day, next_business_start


@frozen
class Due:
    respond_by: datetime
    resolve_by: datetime


def _sprint_end(at: datetime, cfg: Config, sprints_ahead: int) -> datetime:
    zone = cfg.team.zone
    start = datetime.combine(cfg.sprint.start, cfg.team.business_hours.start_time, tzinfo=zone)
    length = timedelta(days=cfg.sprint.length_days)
    index = (at - start) // length
    end_day = (start + (index + 1 + sprints_ahead) * length).date() - timedelta(days=1)
    while not is_business_day(end_day, cfg):  # a sprint ends at the close of its last working day
        end_day -= timedelta(days=1)
    return datetime.combine(end_day, cfg.team.business_hours.end_time, tzinfo=zone).astimezone(at.tzinfo)


def _next_business_day_close(at: datetime, cfg: Config) -> datetime:
    day = at.astimezone(cfg.team.zone).date() + timedelta(days=1)
    while not is_business_day(day, cfg):
        day += timedelta(days=1)
    return datetime.combine(day, cfg.team.business_hours.end_time, tzinfo=cfg.team.zone).astimezone(at.tzinfo)


def _term(term: str, clock: datetime, cfg: Config) -> datetime:
    if term == "next_business_day":
        return _next_business_day_close(clock, cfg)
    if term == "end_of_sprint":
        return _sprint_end(clock, cfg, 0)
    if term == "next_sprint":
        return _sprint_end(clock, cfg, 1)
    return clock + duration(term)


def clock_start(severity: Severity, opened_at: datetime, cfg: Config) -> datetime:
    """Critical clocks run at once; the others start with business hours (they wait for 09:00)."""
    return opened_at if severity is Severity.CRITICAL else next_business_start(opened_at, cfg)


def due(severity: Severity, opened_at: datetime, cfg: Config) -> Due:
    """Return when the incident must be acknowledged and resolved."""
    target = cfg.sla[severity.label]
    start = clock_start(severity, opened_at, cfg)
    return Due(_term(target.respond, start, cfg), _term(target.resolve, start, cfg))


def clocks(severity: Severity, environment: str, opened_at: datetime, now: datetime, cfg: Config) -> dict:
    """Return the SLA fields for an incident of this severity (set at open, reset when severity changes)."""
    deadlines = due(severity, opened_at, cfg)
    state = escalation.State(severity, environment, "open", deadlines.respond_by, deadlines.resolve_by, False,
                             frozenset())
    # evaluate() gives no next check where escalation does not apply (staging, ...)
    return {"respond_by": deadlines.respond_by, "resolve_by": deadlines.resolve_by,
            "next_check_at": escalation.evaluate(state, now, cfg).next_check_at}
