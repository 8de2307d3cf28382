"""SLA due times (respond, resolve) for a severity, in the team's calendar (pure)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.config import DURATION, Config
from shared.model import Severity
from shared.rules.calendar import is_business_day, next_business_start


@dataclass(frozen=True)
class Due:
    respond_by: datetime
    resolve_by: datetime


def duration(term: str) -> timedelta:
    """Return the timedelta of a duration term such as 15m, 1h or 2d."""
    number, unit = DURATION.match(term.strip()).groups()
    return {"m": timedelta(minutes=int(number)), "min": timedelta(minutes=int(number)),
            "h": timedelta(hours=int(number)), "d": timedelta(days=int(number))}[unit]


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
