"""Uptime from down intervals (pure): clipped to a window, overlapping reports of one outage counted once."""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.model import Incident

Interval = tuple[datetime, datetime]
OUTAGE_SOURCES = ("uptimerobot", "probe")   # the sources whose "down" incidents are outages of a service


def outages(incidents: list[Incident], end: datetime) -> dict[str, list[Interval]]:
    """Return each service's down intervals from outage incidents (an open one lasts until `end`)."""
    out: dict[str, list[Interval]] = {}
    for i in incidents:
        if i.source in OUTAGE_SOURCES and i.doc.get("level") == "down" and not i.invalid:
            began = (i.first_seen or i.created_at) if i.source == "probe" else i.created_at  # the first failure
            out.setdefault(i.service, []).append((min(began, i.created_at), i.resolved_at or end))
    return out


def merged(intervals: list[Interval]) -> list[Interval]:
    """Return the union of intervals as sorted, non-overlapping intervals (touching ones joined)."""
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def clipped(intervals: list[Interval], start: datetime, end: datetime) -> list[Interval]:
    """Return the parts of the intervals inside [start, end)."""
    return [(max(a, start), min(b, end)) for a, b in intervals if b > start and a < end]


def downtime(intervals: list[Interval], start: datetime, end: datetime) -> timedelta:
    """Return how long anything in `intervals` was down within [start, end), each moment counted once."""
    return sum((b - a for a, b in merged(clipped(intervals, start, end))), timedelta())


def percent_up(down: timedelta, start: datetime, end: datetime) -> float:
    """Return the uptime percentage of the window, given its downtime."""
    window = (end - start).total_seconds()
    return 100.0 if window <= 0 else max(0.0, 100.0 * (1 - down.total_seconds() / window))


def figures(down: list[Interval], planned: list[Interval], start: datetime, end: datetime) -> dict:
    """Return one service's uptime over [start, end): the status page's daily bar and the daily report's line are
    both this (shared/rules/status_page.service_uptime gives it the same outages and windows). Maintenance is left
    out of both the downtime and the time it is a percentage of."""
    held = downtime(planned, start, end)
    lost = downtime(without(down, planned), start, end)
    return {"percent": round(percent_up(lost, start, end - held), 2), "downtime_minutes": minutes(lost),
            "maintenance_minutes": minutes(held)}


def minutes(span: timedelta) -> int:
    return round(span.total_seconds() / 60)


def without(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    """Return the parts of `intervals` outside every hole (e.g. down time outside maintenance windows)."""
    out = merged(intervals)
    for h_start, h_end in merged(holes):
        cut: list[Interval] = []
        for a, b in out:
            if b <= h_start or a >= h_end:
                cut.append((a, b))
                continue
            if a < h_start:
                cut.append((a, h_start))
            if b > h_end:
                cut.append((h_end, b))
        out = cut
    return out
