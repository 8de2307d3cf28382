"""How the team kept its SLAs: per severity, incidents opened in a window, time to acknowledge and resolve, SLA met
or breached (GET /api/metrics, the console's metrics page)."""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.config import Config
from shared.model import iso
from shared.rules import metrics as rules
from shared.rules.calendar import given_time
from shared.store import incidents as store

MAX_INCIDENTS = 2000


def between(start: str | None, end: str | None, now: datetime, cfg: Config) -> dict:
    """The figures of incidents opened in [from, to): by default the last 24 hours; a time without an offset is
    read in the team's zone."""
    since = given_time(start, "from", cfg.team.zone) if start else now - timedelta(days=1)
    until = given_time(end, "to", cfg.team.zone) if end else now
    incidents = [i for i in store.incidents_created_since(since, MAX_INCIDENTS) if i.created_at < until]
    return {"from": iso(since), "to": iso(until), "by_severity": rules.summarize(incidents),
            "incidents": [{"id": i.id, "severity": i.severity.label, "status": i.status,
                           "sla_response_met": i.sla_response_met,
                           "sla_resolution_met": i.sla_resolution_met} for i in incidents]}
