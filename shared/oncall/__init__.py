"""Who is on call now: the weekly rotation, with the overrides people have set."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.cache import TimedCache
from shared.config import Config
from shared.rules import oncall as rotation
from shared.store import oncall as overrides_store

CACHE_SECONDS = 30.0  # routing reads overrides at most this often per instance; the API always reads fresh
_cache = TimedCache(CACHE_SECONDS)


@dataclass(frozen=True)
class OnCall:
    primary: str                 # person id
    rotation_primary: str        # who the rotation alone names
    backup: str                  # the team lead, always
    override: dict | None        # the override in force, if any
    next_handover: datetime


def active_override(overrides: list[dict], rotation_primary: str, at: datetime) -> dict | None:
    """Return the override in force at `at` for the rotation's primary (the latest one set wins)."""
    matching = [o for o in overrides if o["start"] <= at < o["end"] and o.get("for") in (None, rotation_primary)]
    return max(matching, key=lambda o: o["created_at"]) if matching else None


def at(when: datetime, cfg: Config, overrides: list[dict] | None = None) -> OnCall:
    """Return who is on call at `when` (reads the overrides unless given)."""
    overrides = overrides_store.overrides_ending_after(when) if overrides is None else overrides
    scheduled = rotation.primary(when, cfg)
    override = active_override(overrides, scheduled, when)
    return OnCall(override["covering"] if override else scheduled, scheduled, cfg.team_lead, override,
                  rotation.next_handover(when, cfg))


def primary_now(when: datetime, cfg: Config) -> str:
    """Return the on-call for routing, reading overrides at most every CACHE_SECONDS."""
    stored = _cache.get("overrides", lambda: overrides_store.overrides_ending_after(when))
    return at(when, cfg, [o for o in stored if o["end"] > when]).primary


def forget() -> None:
    """Drop the cached overrides (after this instance changed them)."""
    _cache.forget()
