"""Public status updates: people tell users what is going on (the API, and /status-update in Discord), the status
page shows them, and the sweep reminds the owner when a promised update is late.

Transport-neutral: refusals are shared.errors. An update changes nothing in the team's own workflow (a
"resolved" update does not resolve the incident); it is public communication, recorded on the timeline.
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from shared import oncall
from shared.channels import render
from shared.config import Config
from shared.config.channels import CAPABILITIES
from shared.errors import BadInput, Conflict
from shared.incidents.actions import get
from shared.lazy import firestore
from shared.model import Incident, TimelineEntry, iso
from shared.notify import plan
from shared.rules import routing
from shared.rules import status_page as page_rules
from shared.rules import status_updates as rules
from shared.rules.text import quoted
from shared.store import outbox
from shared.store import status_updates as store

REMINDER_BATCH = 100


def _by(value: object, cfg: Config) -> str:
    if not str(value or "").strip():
        raise BadInput("by is missing: say who writes the update (a person id or name from the team file)")
    try:
        return cfg.person_id(value)
    except BadInput:
        raise BadInput(f"by: unknown person {quoted(value)}; use a person id or name from the team file") from None


def _update_id(incident_id: str, key: str | None) -> str:
    suffix = hashlib.sha256(key.encode()).hexdigest()[:24] if key else uuid.uuid4().hex[:24]
    return f"{incident_id}:{suffix}"


def view(update: dict, service: str) -> dict:
    """Return the API's view of a stored update, with its text in the team's external template."""
    return {"id": update["id"], "incident": update["incident_id"], "n": update["n"], "status": update["status"],
            "title": update.get("title"), "message": update["message"], "impact": update.get("impact"),
            "eta": update.get("eta"), "next_update_minutes": update.get("next_update_minutes"),
            "component_status": update.get("component_status"), "by": update["by"],
            "created_at": iso(update["created_at"]), "next_update_due": iso(rules.due_at(update)),
            "text": rules.markdown(update, service)}


def post(typed_id: object, body: dict, idempotency_header: str | None, now: datetime, cfg: Config) -> tuple[dict, bool]:
    """POST /api/incidents/<id>/status-updates; return (the update, True when it is new). The same id (or
    Idempotency-Key) again returns the stored update and changes nothing; a different body under it is 409."""
    key = rules.idempotency_key(body, idempotency_header)
    incident = get(typed_id)
    if not page_rules.is_public(incident, cfg):
        raise Conflict(f"{incident.id} never shows on the public status page (only production incidents of the "
                       "team file's services that are not invalid do); nothing was posted")
    fields = rules.validate(body, first=not (incident.doc.get("status_page") or {}).get("count"))
    who = _by(body.get("by"), cfg)
    request = {k: body.get(k) for k in rules.FIELDS if k != "id"}

    def make(stored: dict) -> tuple[dict, dict]:
        summary = stored.get("status_page") or {}
        if not summary.get("count") and fields["title"] is None:
            raise BadInput("title is missing: the first status update gives the incident its public title")
        update = {**fields, "id": update_id, "incident_id": incident.id, "n": summary.get("count", 0) + 1, "by": who,
                  "created_at": now, "request": request}
        # the state a person set holds until one sets another (shared/rules/status_updates.py)
        held = fields["component_status"] or summary.get("component_status")
        latest = {"title": fields["title"] or summary.get("title"), "status": fields["status"],
                  "component_status": held, "count": update["n"], "updated_at": now}
        detail = f"{fields['status']}: {fields['message']}"
        entry = TimelineEntry(now, who, "status update", detail[:2000]).to_dict()
        due = rules.due_at(update)
        changed = {"status_page": latest, "updated_at": now, "timeline": firestore.ArrayUnion([entry]),
                   "status_update_due_at": due if due else firestore.DELETE_FIELD}
        return update, changed

    update_id = _update_id(incident.id, key)
    stored = store.add(incident.id, update_id, make)
    if stored.get("replayed"):
        if stored["request"] != request:
            raise Conflict(f"id {key!r} was used for a different status update; nothing changed")
        return view(stored, incident.service), False
    return view(stored, incident.service), True


def preview(typed_id: object, body: dict, cfg: Config) -> dict:
    """What an update with this body would say, checked as post() checks it, without storing anything: its public
    title (the one it gives, else the one the page shows now), the status page's text and the team's template."""
    incident = get(typed_id)
    if not page_rules.is_public(incident, cfg):
        raise Conflict(f"{incident.id} never shows on the public status page (only production incidents of the "
                       "team file's services that are not invalid do)")
    summary = incident.doc.get("status_page") or {}
    fields = rules.validate(body, first=not summary.get("count"))
    _by(body.get("by"), cfg)
    return {"title": fields["title"] or summary.get("title"), "status": fields["status"],
            "body": rules.body(fields), "text": rules.markdown(fields, incident.service)}


def listing(typed_id: object) -> dict:
    """GET /api/incidents/<id>/status-updates: its updates, oldest first."""
    incident = get(typed_id)
    updates = [view(u, incident.service) for u in store.of_incident(incident.id)]
    return {"incident": incident.id, "status_updates": updates, "count": len(updates)}


# ---------------------------------------------------------------- the sweep's reminder

def _chat(environment: str, cfg: Config) -> str | None:
    return next((c for c in routing.follow_up_channels(environment, cfg) if CAPABILITIES[c].chat), None)


def remind(now: datetime, cfg: Config) -> list[str]:
    """Remind the owner (else the on-call) once per update whose promised next update is late; return the
    reminders to send now. Incidents that closed, or were publicly resolved, are settled without one."""
    due: list[str] = []
    for doc, read_at in store.owed(now, REMINDER_BATCH):
        incident = Incident.from_doc(doc)
        summary = doc.get("status_page") or {}
        promised = doc.get("status_update_due_at")
        chat = _chat(incident.environment, cfg)
        records = []
        if chat and rules.overdue(promised, incident.status in page_rules.ACTIVE, summary.get("status"), now):
            pid = incident.owner or oncall.primary_now(now, cfg)
            people = render.people((pid,), cfg) if pid in {p.id for p in cfg.people} else None
            minutes = round((promised - summary["updated_at"]).total_seconds() / 60)
            reason = f"status-update-{summary['count']}-late"
            text = (f"⏰ {incident.id}: the public status update promised every {minutes} min is due (last one "
                    f"{render.local_time(summary['updated_at'], cfg)}); post one with /status-update or "
                    f"POST /api/incidents/{incident.id}/status-updates. {people.shown if people else ''}").rstrip()
            rid = outbox.record_id(incident.id, reason, chat)
            if outbox.get(rid) is None:
                records = [plan.text_record(rid, reason, chat, text, now, incident_id=incident.id,
                                            pings=list(people.discord_ids) if people else [])]
        if store.settle_reminder(incident.id, read_at, records):
            due += [r["id"] for r in records]
    return due
