"""Closed days of public uptime (status_days/{YYYY-MM}): per day and service [percent, downtime minutes], as the
status page's rule computed them once the day was over, so the page reads a few documents instead of 90 days of
incidents. A day never changes once recorded (the daily summary records it the next morning).
"""
from __future__ import annotations

from datetime import datetime

from shared.lazy import firestore
from shared.model import Incident
from shared.store.client import call, client, docs, get_all

STATUS_DAYS = "status_days"


def read(days: list[str]) -> dict[str, dict[str, dict]]:
    """Return the recorded days among `days` (ISO dates): {day: {service: {percent, downtime_minutes}}}."""
    months = sorted({d[:7] for d in days})
    refs = [client().collection(STATUS_DAYS).document(m) for m in months]
    snaps = get_all(refs) if refs else []
    stored = {d: s for snap in snaps if snap.exists for d, s in (snap.to_dict().get("days") or {}).items()}
    return {d: {name: {"percent": float(v[0]), "downtime_minutes": int(v[1])} for name, v in stored[d].items()}
            for d in days if d in stored}


def record(days: dict[str, dict[str, dict]]) -> None:
    """Store closed days ({day: {service: {percent, downtime_minutes}}}), merged into their month's document."""
    by_month: dict[str, dict] = {}
    for day, services in days.items():
        by_month.setdefault(day[:7], {})[day] = {name: [v["percent"], v["downtime_minutes"]]
                                                 for name, v in services.items()}
    batch = client().batch()
    for month, entries in by_month.items():
        batch.set(client().collection(STATUS_DAYS).document(month), {"days": entries}, merge=True)
    if by_month:
        call(batch.commit)


def outages_resolved_since(since: datetime, sources: tuple[str, ...], limit: int) -> list[Incident]:
    """Return the incidents from outage sources (UptimeRobot, probes) resolved at or after `since`: the outages that
    began before a window and ended in it (composite index: source, resolved_at)."""
    query = (client().collection("incidents").where(filter=firestore.FieldFilter("source", "in", list(sources)))
             .where(filter=firestore.FieldFilter("resolved_at", ">=", since)).limit(limit))
    return [Incident.from_doc(d) for d in docs(query)]
