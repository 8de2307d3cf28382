"""The escalation sweep: look only at incidents whose next check is due, take each due step once."""
from __future__ import annotations

from datetime import datetime

from shared import log
from shared.config import Config
from shared.model import Incident, TimelineEntry
from shared.notify import oncall as paging
from shared.notify import plan
from shared.rules import escalation
from shared.store import changes
from shared.store import incidents as store

BATCH = 500
STEP_TEXT = {"sla-response": "response SLA breached: the on-call's backup is paged",
             "level-3": "still unacknowledged: the stakeholders are paged",
             "sla-resolution": "resolution SLA breached: the stakeholders are paged"}


def state_of(incident: Incident) -> escalation.State:
    return escalation.State(incident.severity, incident.environment, incident.status, incident.respond_by,
                            incident.resolve_by, incident.acknowledged_at is not None, frozenset(incident.escalations))


def sweep(cfg: Config, now: datetime) -> tuple[dict, list[str]]:
    """Evaluate every due incident; return counts and the outbox records to deliver now."""
    due = store.due_incidents(now, BATCH)
    stats = {"checked": len(due), "escalated": 0}
    notify: list[str] = []
    for incident in due:
        silenced = incident.doc.get("silenced_by") or {}
        if silenced and not silenced.get("released_at") and silenced["until"] > now:
            changes.record_escalation(incident.id, [], 1, silenced["until"], [], [], now)  # nobody paged until it ends
            continue
        decision = escalation.evaluate(state_of(incident), now, cfg)
        steps = list(decision.steps)
        # the team lead's level pages the backup of whoever is on call now (overrides included)
        records = plan.on_escalation(incident, steps, now, cfg, paging.primary_now(now, cfg)) if steps else []
        entries = [TimelineEntry(now, "system", "escalated", f"level {s.level}: "
                                 f"{STEP_TEXT.get(s.name, 'reminder: still unacknowledged')}").to_dict()
                   for s in steps]
        level = max((s.level for s in steps), default=1)
        if changes.record_escalation(incident.id, [s.name for s in steps], level, decision.next_check_at,
                                     records, entries, now) and steps:
            stats["escalated"] += 1
            notify += plan.due_now(records)
            log.warning("incident escalated", incident=incident.id, steps=[s.name for s in steps])
    return stats, notify
