"""Who is paged now: the rotation with the overrides in force, the overrides read at most every CACHE_SECONDS
(a burst of alerts reads them once). People's changes to the overrides (shared/oncall) forget what is kept."""
from __future__ import annotations

from datetime import datetime

from shared.cache import TimedCache
from shared.config import Config
from shared.rules import oncall as rules
from shared.store import oncall as store

CACHE_SECONDS = 30.0
_cache = TimedCache(CACHE_SECONDS)


def primary_now(when: datetime, cfg: Config) -> str:
    """Return the person routing pages at `when`."""
    stored = _cache.get("overrides", lambda: store.overrides_ending_after(when))
    return rules.at(when, cfg, [o for o in stored if o["end"] > when]).primary


def forget() -> None:
    """Drop the kept overrides (after this instance changed them)."""
    _cache.forget()
