"""What people do to incidents (from the API today, from Discord later): acknowledge, resolve, re-classify, note.

Every change goes on the timeline with its actor. The first acknowledgement makes the actor the owner and
stops escalation. The on-call may raise or lower the severity; the team lead's change pins it (final:
the on-call cannot change a pinned severity and automatic rises never override it).
"""
from __future__ import annotations

from datetime import datetime

from shared import incidents, oncall, store
from shared.config import Config
from shared.model import Severity, Status, TimelineEntry
from shared.notify import plan
from shared.sources.common import BadInput
from shared.store import changes


class Forbidden(Exception):
    """The actor may not do this (say, a severity change by someone neither on call nor the team lead)."""


def person(actor: object, cfg: Config) -> str:
    """Return the person id for an actor given as id or name (case-insensitive); 400 when unknown."""
    wanted = str(actor or "").strip().lower()
    if not wanted:
        raise BadInput("actor is missing: say who is doing this (a person id or name from the team file)")
    for p in cfg.people:
        if wanted in (p.id.lower(), p.name.lower()):
            return p.id
    raise BadInput(f"unknown actor {str(actor)[:80]!r}: use a person id or name from the team file")


def _entry(now: datetime, actor: str, action: str, detail: str = "") -> dict:
    return TimelineEntry(now, actor, action, detail[:2000]).to_dict()


def acknowledge(incident_id: str, actor: str, now: datetime, cfg: Config) -> dict:
    who = person(actor, cfg)
    result = changes.acknowledge(incident_id, who, now, _entry(now, who, "acknowledged", "👀 investigating"))
    return {"owner_set": result["first"]}


def resolve(incident_id: str, actor: str, now: datetime, cfg: Config, detail: str = "") -> list[str]:
    """Resolve by hand; return the outbox records to deliver. 409 when it is already resolved."""
    who = person(actor, cfg)
    incident = store.get_incident(incident_id)
    if incident is None:
        raise changes.NotFound(incident_id)
    if incident["status"] == Status.RESOLVED.value:
        raise changes.Closed(incident_id)
    records = plan.on_resolve(incident_id, incident["environment"], now, cfg)
    try:
        store.change_status(incident_id, incident["key_doc"], Status.RESOLVED.value, {"resolved_at": now,
                            "active": False}, _entry(now, who, "resolved", detail or "✅ resolved"), None, now,
                            close=True, outbox=records)
    except store.Conflict:
        raise changes.Closed(incident_id) from None
    return [r["id"] for r in records if r["status"] == "pending"]


def set_severity(incident_id: str, severity: object, actor: str, now: datetime, cfg: Config,
                 reason: str = "") -> list[str]:
    """Change the severity by hand; return the outbox records to deliver (a rise notifies like an automatic one)."""
    who = person(actor, cfg)
    try:
        new = Severity.parse(str(severity))
    except ValueError as e:
        raise BadInput(str(e)) from None
    lead = who == cfg.team_lead
    if not lead and who != oncall.at(now, cfg).primary:
        raise Forbidden(f"only the on-call or the team lead may change the severity, not {who}")
    role = "team lead (final)" if lead else "on-call"
    why = f"set by {cfg.person(who).name}, {role}" + (f": {reason}" if reason else "")

    def fields_for(incident: dict) -> dict:
        return incidents.clocks(new, incident["environment"], incident["created_at"], now, cfg) | {"next_check_at": now}

    def outbox_for(incident: dict) -> list[dict]:
        current = Severity(store.effective(incident)["severity_rank"])
        if new <= current:
            return []
        return plan.on_raise(incident_id, new, incident["environment"], now, cfg, oncall.primary_now(now, cfg))

    entry = _entry(now, who, "severity", f"-> {new.label} ({role})" + (f": {reason}" if reason else ""))
    result = changes.set_severity(incident_id, int(new), new.label, lead, lead, why, entry, now, fields_for,
                                  outbox_for)
    return result["notify"]


def note(incident_id: str, actor: str, text: object, now: datetime, cfg: Config) -> None:
    who = person(actor, cfg)
    body = str(text or "").strip()
    if not body:
        raise BadInput("text is missing")
    if store.get_incident(incident_id) is None:
        raise changes.NotFound(incident_id)
    store.add_timeline(incident_id, _entry(now, who, "note", body))
