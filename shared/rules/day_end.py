"""What was owed at the end of a day (pure): the daily report's action items are those open when the day it
reports ended, not those open when it runs (an incident opened the next morning, or an action item added since,
is not that day's; one closed the next morning still was)."""
from __future__ import annotations

from datetime import datetime

from shared.model import Incident


def open_at(incident: Incident, end: datetime) -> bool:
    """True when the incident was open at `end`: opened before it and not resolved by then (closed as invalid or
    ignored: never owed)."""
    return (incident.created_at < end and not incident.invalid and incident.status != "ignored"
            and (incident.resolved_at is None or incident.resolved_at >= end))


def owed(incident: Incident, end: datetime) -> str | None:
    """Why an incident open at `end` was owed then: nobody had acknowledged it, or its resolution SLA had passed;
    None when it was on track."""
    if incident.acknowledged_at is None or incident.acknowledged_at >= end:
        return "unacknowledged"
    if incident.resolve_by is not None and incident.resolve_by < end:
        return "past its resolution SLA"
    return None


def owner_at(incident: Incident, end: datetime, on_call: str) -> str:
    """Who owned the incident at `end`: whoever had acknowledged it by then, else the person on call then."""
    taken = incident.acknowledged_at is not None and incident.acknowledged_at < end
    return (incident.owner if taken else None) or on_call


def item_open_at(item: dict, end: datetime, since: datetime | None) -> bool:
    """True when a postmortem action item was open at `end`: added before it and not done by then. An item stored
    without `created_at` (before items carried it) counts from `since`, its postmortem's creation (unknown: added
    before); one done without `done_at` was done long ago."""
    added = item.get("created_at") or since
    if added is not None and added >= end:
        return False
    if not item.get("done"):
        return True
    done_at = item.get("done_at")
    return done_at is not None and done_at >= end
