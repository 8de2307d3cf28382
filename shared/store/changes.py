"""Human-rate changes to incidents (acknowledge, severity, escalation steps), as transactions or batches.

These do not contend with the alert path: alerts update live/{key} blindly; these read and write the
incident document (and live/{key} for a severity change) in a transaction (DESIGN.md).
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from shared.store import CLAIMS, INCIDENTS, KEYS, LIVE, OUTBOX, Conflict, _call, _errors, _fs, client


class Closed(Exception):
    """The incident is resolved: it cannot be acknowledged or re-classified."""


class Pinned(Exception):
    """The team lead pinned the severity; only the team lead may change it."""


class NotFound(Exception):
    """No such incident."""


def _run(fn: Callable):
    fs, db, errors = _fs(), client(), _errors()
    try:
        return _call(lambda: fs.transactional(fn)(db.transaction()))
    except errors.Aborted as e:
        raise Conflict(str(e)) from None


def _open_incident(ref, tx, incident_id: str) -> dict:
    """Read an incident inside a transaction; NotFound when missing, Closed when resolved."""
    snap = ref.get(transaction=tx)
    if not snap.exists:
        raise NotFound(incident_id)
    incident = snap.to_dict()
    if incident["status"] == "resolved":
        raise Closed(incident_id)
    return incident


def acknowledge(incident_id: str, actor: str, now: datetime, entry: dict) -> dict:
    """Acknowledge: the first one makes the actor the owner and stops escalation; later ones are noted."""
    fs, db = _fs(), client()
    ref = db.collection(INCIDENTS).document(incident_id)

    def run(tx):
        incident = _open_incident(ref, tx, incident_id)
        update = {"timeline": fs.ArrayUnion([entry]), "updated_at": now}
        first = incident.get("acknowledged_at") is None
        if first:
            tta = (now - incident["created_at"]).total_seconds()
            update.update({"status": "acknowledged", "acknowledged_at": now, "owner": actor,
                           "tta_seconds": tta, "sla_response_met": now <= incident["respond_by"]})
            tx.update(db.collection(KEYS).document(incident["key_doc"]), {"status": "acknowledged"})
        tx.update(ref, update)
        return {"first": first}

    return _run(run)


def set_severity(incident_id: str, rank: int, label: str, pin: bool, lead: bool, reason: str, entry: dict,
                 now: datetime, fields_for: Callable[[dict], dict], outbox_for: Callable[[dict], list[dict]]) -> dict:
    """Change the severity by hand: a pin by the team lead, or a change by the on-call unless pinned."""
    fs, db = _fs(), client()
    ref = db.collection(INCIDENTS).document(incident_id)

    def run(tx):
        incident = _open_incident(ref, tx, incident_id)
        if incident.get("pinned_rank") and not lead:
            raise Pinned(incident_id)
        live_ref = db.collection(LIVE).document(incident["key_doc"])
        live = live_ref.get(transaction=tx)
        records = [r for r in outbox_for(incident)
                   if not db.collection(OUTBOX).document(r["id"]).get(transaction=tx).exists]
        for record in records:
            tx.create(db.collection(OUTBOX).document(record["id"]), record)
        update = {f"severity_reasons.{label}": reason, "timeline": fs.ArrayUnion([entry]), "updated_at": now,
                  **fields_for(incident)}
        live_update = {}
        if pin:
            update.update({"pinned_rank": rank, "pinned_by": entry["actor"]})
            live_update["pinned_rank"] = rank
        else:
            update["severity_rank"] = rank
            live_update["severity_rank"] = rank
        tx.update(ref, update)
        if live.exists and live.get("incident_id") == incident_id:
            tx.update(live_ref, live_update)
        return {"notify": [r["id"] for r in records if r["status"] == "pending"]}

    return _run(run)


def due_incidents(now: datetime, limit: int) -> list[dict]:
    """Return incidents whose escalation check is due (indexed on next_check_at; only active ones have it)."""
    fs = _fs()
    query = (client().collection(INCIDENTS).where(filter=fs.FieldFilter("next_check_at", "<=", now))
             .order_by("next_check_at").limit(limit))
    return _call(lambda: [s.to_dict() for s in query.stream()])


def record_escalation(incident_id: str, steps: list[str], level: int, next_check_at: datetime | None,
                      records: list[dict], entries: list[dict], now: datetime) -> bool:
    """Take escalation steps once: their claims, notifications and the next check in one batch.

    False when another sweep took them first (its batch holds the same claims), which changes nothing.
    """
    fs, db, errors = _fs(), client(), _errors()
    batch = db.batch()
    for step in steps:
        batch.create(db.collection(CLAIMS).document(f"{incident_id}:escalation:{step}"), {"at": now})
    for record in records:
        batch.create(db.collection(OUTBOX).document(record["id"]), record)
    update: dict = {"next_check_at": next_check_at, "updated_at": now}
    if steps:
        update.update({"escalations": fs.ArrayUnion(steps), "escalation_level": fs.Maximum(level),
                       "timeline": fs.ArrayUnion(entries)})
    batch.update(db.collection(INCIDENTS).document(incident_id), update)
    try:
        _call(batch.commit)
    except errors.Conflict:
        return False
    return True
