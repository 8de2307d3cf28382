"""Who is on call: the weekly rotation with the overrides people set (X covers for Y), and the handoff notes.

The rules are shared/rules/oncall.py; what routing pages from is shared/notify/oncall.py (read at most every
30 s), which a change made here forgets at once.
"""
from __future__ import annotations

from datetime import datetime

from shared.config import Config
from shared.errors import BadInput, NotFound
from shared.notify import oncall as paging
from shared.rules import oncall as rules
from shared.rules.calendar import given_time
from shared.rules.text import clean
from shared.store import oncall as store

OnCall = rules.OnCall
primary_now = paging.primary_now   # the on-call routing pages now (cached)


def at(when: datetime, cfg: Config) -> OnCall:
    """Return who is on call at `when`, the overrides read fresh."""
    return rules.at(when, cfg, store.overrides_ending_after(when))


def add_override(body: dict, now: datetime, cfg: Config) -> dict:
    """{"covering", "for"?, "start"?, "end", "actor"?, "note"?}: X covers for Y (or for whoever is on call) from
    start (default now) to end. Return the stored override."""
    covering = cfg.person_id(body.get("covering"))
    for_whom = cfg.person_id(body.get("for")) if body.get("for") else None
    start = given_time(body.get("start") or now.isoformat(), "start", cfg.team.zone)
    end = given_time(body.get("end"), "end", cfg.team.zone)
    if end <= start:
        raise BadInput("end must be after start")
    created_by = cfg.person_id(body.get("actor") or covering)
    override = store.add_override({"covering": covering, "for": for_whom, "start": start, "end": end,
                                   "created_by": created_by, "created_at": now, "note": clean(body.get("note"), 500)})
    paging.forget()
    return override


def remove_override(override_id: str) -> None:
    """Remove an override; NotFound when there is none by that id."""
    if not store.delete_override(override_id):
        raise NotFound(f"no override {override_id[:40]!r}")
    paging.forget()


def add_handoff_note(body: dict, now: datetime, cfg: Config) -> dict:
    """{"actor", "text"}: a thing to watch, shown in the next handoff; return the stored note."""
    actor = cfg.person_id(body.get("actor"))
    text = clean(body.get("text"))
    if not text:
        raise BadInput("text is missing")
    return store.add_handoff_note({"actor": actor, "text": text[:500], "at": now})


def overrides_ending_after(when: datetime) -> list[dict]:
    """Return the overrides still in force or to come after `when` (the console's on-call page)."""
    return store.overrides_ending_after(when)
