"""Who is on call: a weekly rotation over an ordered list, handed over at a local weekday and time, and the
overrides people set (X covers for Y)."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from shared.config import Config
from shared.config.frozen import frozen
from shared.rules.calendar import WEEKDAYS


def _handover_on_or_before(now: datetime, cfg: Config) -> datetime:
    """Return the latest handover instant at or before `now` (a local wall-clock time, DST-aware)."""
    zone, handover = cfg.team.zone, cfg.rotation.handover
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - WEEKDAYS.index(handover.weekday)) % 7)
    at = datetime.combine(day, time.fromisoformat(handover.time), tzinfo=zone)
    if at > local:
        at = datetime.combine(day - timedelta(days=7), at.time(), tzinfo=zone)
    return at


def rotation_week(now: datetime, cfg: Config) -> int:
    """Return how many handovers have happened since the rotation started (may be negative before it)."""
    current = _handover_on_or_before(now, cfg).date()
    first = _handover_on_or_before(
        datetime.combine(cfg.rotation.start, datetime.max.time(), tzinfo=cfg.team.zone), cfg).date()
    return (current - first).days // 7


def primary(now: datetime, cfg: Config) -> str:
    """Return the id of the person on call at `now`."""
    order = cfg.rotation.order
    return order[rotation_week(now, cfg) % len(order)]


def next_handover(now: datetime, cfg: Config) -> datetime:
    """Return the next handover instant after `now`, in UTC-aware form."""
    last = _handover_on_or_before(now, cfg)
    following = datetime.combine(last.date() + timedelta(days=7), last.time(), tzinfo=cfg.team.zone)
    return following.astimezone(now.tzinfo)


def backup(on_call: str, cfg: Config) -> str:
    """Return who backs `on_call` up: the team lead (the GUIDE: "Team Lead luôn là backup on-call"), except in the
    lead's own week (the GUIDE's week 1), when it is the next other person of the rotation, who is on call next."""
    if on_call != cfg.team_lead:
        return cfg.team_lead
    order = cfg.rotation.order
    start = order.index(on_call) if on_call in order else len(order) - 1
    later = [order[(start + step) % len(order)] for step in range(1, len(order) + 1)]
    return next((pid for pid in later if pid != on_call), on_call)  # a rotation of the lead alone: nobody else


@frozen
class OnCall:
    primary: str                 # person id
    rotation_primary: str        # who the rotation alone names
    backup: str                  # the team lead, or in the lead's own week the next person of the rotation
    override: dict | None        # the override in force, if any
    next_handover: datetime


def active_override(overrides: list[dict], rotation_primary: str, at: datetime) -> dict | None:
    """Return the override in force at `at` for the rotation's primary (the latest one set wins)."""
    matching = [o for o in overrides if o["start"] <= at < o["end"] and o.get("for") in (None, rotation_primary)]
    return max(matching, key=lambda o: o["created_at"]) if matching else None


def at(when: datetime, cfg: Config, overrides: list[dict]) -> OnCall:
    """Return who is on call at `when`, given the overrides people set."""
    scheduled = primary(when, cfg)
    override = active_override(overrides, scheduled, when)
    on_call = override["covering"] if override else scheduled
    return OnCall(on_call, scheduled, backup(on_call, cfg), override, next_handover(when, cfg))
