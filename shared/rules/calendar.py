"""Business hours in the team's time zone: is it working time, and when does the next working day start."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.config import Config
from shared.errors import BadInput

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)  # times a caller gives are checked against this range, so
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)    # date arithmetic on them (+14 h, +1 week) cannot overflow


def in_range(moment: datetime) -> datetime | None:
    """Return an aware time as UTC when it lies between EARLIEST and LATEST, else None."""
    try:
        utc = moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None
    return utc if EARLIEST <= utc < LATEST else None


def given_time(value: object, name: str, zone) -> datetime:
    """Return a time a person or a client gave (ISO-8601; without an offset, a wall-clock time in `zone`, the
    team's) as UTC; BadInput naming the field when it is not one, or lies outside EARLIEST..LATEST."""
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{name}: expected an ISO-8601 time, got {str(value)[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    utc = in_range(parsed)
    if utc is None:
        raise BadInput(f"{name}: expected a time from {EARLIEST.year} to {LATEST.year - 1}, got {str(value)[:40]!r}")
    return utc


def _local(now: datetime, cfg: Config) -> datetime:
    return now.astimezone(cfg.team.zone)


def is_business_day(day, cfg: Config) -> bool:
    """True for a configured weekday that is not a holiday (day is a local date)."""
    return WEEKDAYS[day.weekday()] in cfg.team.business_hours.days and day not in cfg.team.holidays


def is_business_time(now: datetime, cfg: Config) -> bool:
    """True inside business hours (start inclusive, end exclusive) on a business day, local time."""
    local = _local(now, cfg)
    hours = cfg.team.business_hours
    return is_business_day(local.date(), cfg) and hours.start_time <= local.time() < hours.end_time


def next_business_start(now: datetime, cfg: Config) -> datetime:
    """Return the start of business hours at or after `now` (UTC-aware), skipping weekends and holidays."""
    zone, hours = cfg.team.zone, cfg.team.business_hours
    local = _local(now, cfg)
    day = local.date()
    for _ in range(366):
        start = datetime.combine(day, hours.start_time, tzinfo=zone)
        if is_business_day(day, cfg) and start >= local:
            return start.astimezone(now.tzinfo)
        if is_business_day(day, cfg) and start <= local < datetime.combine(day, hours.end_time, tzinfo=zone):
            return now  # inside business hours already
        day += timedelta(days=1)
    raise ValueError("no business day within a year: check team.business_hours.days and holidays")
