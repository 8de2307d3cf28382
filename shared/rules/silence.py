"""Silences and maintenance windows as pure rules: what a silence matches, which windows are open, what silences an
incident (`now` always a parameter, no I/O).

A silence (from the API) or a window occurrence (from the team file) is a dict: id, matchers, start, end (UTC,
start inclusive, end exclusive), include_critical, created_by, comment. Matchers name incident facts (service,
environment, source, severity, title, dedup_key); a value matches exactly, as a glob when it holds `*`, or as a
regular expression when it starts with `~` (searched with RE2, in time linear in the text: config.units.regex).
All of a silence's matchers must match.
"""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone
from fnmatch import fnmatchcase

from shared.config import Config, MaintenanceWindow
from shared.config.units import regex
from shared.rules.calendar import WEEKDAYS


def _matches_one(pattern: str, value: str) -> bool:
    if pattern.startswith("~"):
        try:
            return regex(pattern[1:]).search(value) is not None
        except ValueError:   # a stored pattern RE2 refuses (made before patterns were checked) matches nothing
            return False
    if "*" in pattern:
        return fnmatchcase(value, pattern)
    return value == pattern


def matches(matchers: dict[str, str], facts: dict[str, str]) -> bool:
    """True when every matcher matches its fact (an empty matcher set matches nothing)."""
    return bool(matchers) and all(_matches_one(p, str(facts.get(k) or "")) for k, p in matchers.items())


def covers_critical(silence: dict) -> bool:
    """A Critical is silenced only by a silence that says include_critical, or names `critical` literally as its
    severity (a glob or a regular expression on severity does not count: `*` or `~.` must not quiet a page)."""
    return bool(silence.get("include_critical")) or silence["matchers"].get("severity") == "critical"


def in_force(silence: dict, now: datetime) -> bool:
    return silence["start"] <= now < silence["end"]


def _utc(moment: datetime, cfg: Config) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=cfg.team.zone)).astimezone(timezone.utc)


def occurrences(window: MaintenanceWindow, since: datetime, until: datetime, cfg: Config) -> list[dict]:
    """Return the window's occurrences overlapping [since, until) as silence dicts (weekly: DST-correct local)."""
    base = {"id": "window-" + re.sub(r"[^A-Za-z0-9_-]+", "-", window.name), "name": window.name,
            "matchers": dict(window.matchers),
            "include_critical": window.include_critical, "comment": window.comment,
            "created_by": f"maintenance window {window.name}", "window": True}
    if window.weekly is None:
        start, end = _utc(window.start, cfg), _utc(window.end, cfg)
        return [{**base, "start": start, "end": end}] if start < until and end > since else []
    zone, weekly = cfg.team.zone, window.weekly
    first, last = since.astimezone(zone).date() - timedelta(days=1), until.astimezone(zone).date()
    begins, ends = time.fromisoformat(weekly.start), time.fromisoformat(weekly.end)
    out, day = [], first
    while day <= last:
        if WEEKDAYS[day.weekday()] in weekly.days:
            end_day = day if ends > begins else day + timedelta(days=1)
            start = datetime.combine(day, begins, tzinfo=zone).astimezone(timezone.utc)
            end = datetime.combine(end_day, ends, tzinfo=zone).astimezone(timezone.utc)
            if start < until and end > since:
                out.append({**base, "id": f"{base['id']}-{start:%Y%m%dT%H%M}", "start": start, "end": end})
        day += timedelta(days=1)
    return out


def active_windows(windows: list[MaintenanceWindow], now: datetime, cfg: Config) -> list[dict]:
    """Return the occurrences of the team's maintenance windows in force at `now`."""
    return [o for w in windows for o in occurrences(w, now, now + timedelta(microseconds=1), cfg) if in_force(o, now)]


def silencing(facts: dict[str, str], silences: list[dict], windows: list[dict], now: datetime) -> dict | None:
    """Return the silence or window occurrence that silences an incident with these facts at `now`, with "until"
    (when the last of the matching silences that follow on from each other ends), or None.

    `windows` are occurrences (active_windows); the Critical rule applies to both.
    """
    critical = facts.get("severity") == "critical"
    candidates = [s for s in (*silences, *windows)
                  if matches(s["matchers"], facts) and (not critical or covers_critical(s))]
    current = [s for s in candidates if in_force(s, now)]
    if not current:
        return None
    chosen = max(current, key=lambda s: s["end"])
    until, moved = chosen["end"], True
    while moved:  # overlapping silences: silenced until the last one ends
        moved = False
        for s in candidates:
            if s["start"] <= until < s["end"]:
                chosen, until, moved = s, s["end"], True
    return {**chosen, "until": until}


def describe(matchers: dict[str, str]) -> str:
    """Return matchers as the announcement says them: service=petties-backend, severity=high."""
    return ", ".join(f"{k}={v}" for k, v in matchers.items())
