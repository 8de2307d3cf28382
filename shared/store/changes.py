"""People's changes to an open incident (a workflow step, a severity change) and the escalation sweep's steps:
preconditioned writes, read again when someone changed the incident meanwhile (store/client.read_then_write).
People clicking at the same moment never wait on each other's locks: the changes are applied one after another,
none lost, none half-done."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared.errors import Closed, NotFound, Pinned
from shared.lazy import firestore, gexc
from shared.model import Incident, Status
from shared.store.client import Unchanged, add_claim, call, client, get_all, read_then_write
from shared.store.incidents import INCIDENTS, KEYS, LIVE, doc_ref
from shared.store.outbox import OUTBOX, add_records
from shared.store.timeline import append


def _optimistic(incident_id: str, write: Callable):
    """Apply a person's change to an open incident without locks: read it, let `write(stored, batch, unchanged)`
    add the writes (with `unchanged`, the precondition that it is as read, where the change depends on it),
    commit; when someone changed it meanwhile, read again (read_then_write). People clicking at the same moment
    never wait on each other's locks: the changes are applied one after another, none lost, none half-done."""
    def change(snap, batch):
        if not snap.exists:
            raise NotFound(f"no incident {incident_id}")
        stored = snap.to_dict()
        if stored["status"] == Status.RESOLVED.value:
            raise Closed(f"{incident_id} is resolved")
        return write(stored, batch, client().write_option(last_update_time=snap.update_time))
    return read_then_write(doc_ref(INCIDENTS, incident_id), change, f"{incident_id} changed meanwhile, try again")


def _add_new(batch, wanted: list[dict]) -> list[dict]:
    """Add to the batch the outbox records not already stored (an optimistic write may run again after a lost
    race, and a create of an existing record would fail the whole commit); return those added."""
    db = client()
    refs = [db.collection(OUTBOX).document(r["id"]) for r in wanted]
    existing = {s.id for s in get_all(refs) if s.exists}
    records = [r for r in wanted if r["id"] not in existing]
    add_records(batch, records)
    return records


def take_step(incident_id: str, actor: str, now: datetime, entry: dict, acknowledge: bool, phase: str | None,
              outbox_for: Callable[[Incident], list[dict]]) -> dict:
    """Take one step of the team's workflow on an open incident, with its notifications, in one commit.

    `acknowledge`: an unacknowledged incident is acknowledged by the actor first (owner, time to acknowledge,
    escalation stops). `phase`: the phase it moves to (None: the acknowledgement alone). Nothing changes, and
    {"first": False, "owner", "at", "notify": []} is returned, when the step is already where the incident is.
    """
    ref = doc_ref(INCIDENTS, incident_id)

    def write(stored: dict, batch, unchanged) -> dict:
        acked = stored.get("acknowledged_at") is not None
        if acked and (phase is None or stored.get("phase") == phase):
            raise Unchanged({"first": False, "owner": stored.get("owner"), "at": stored["acknowledged_at"],
                            "notify": []})
        incident = Incident.from_doc(stored)
        records = _add_new(batch, outbox_for(incident))
        update = {**append(ref, stored, [entry], batch), "updated_at": now, "steps": incident.steps + 1}
        if phase is not None:
            update["phase"] = phase
        if not acked:
            update.update({"status": Status.ACKNOWLEDGED.value, "acknowledged_at": now, "owner": actor,
                           "tta_seconds": (now - stored["created_at"]).total_seconds(),
                           "sla_response_met": now <= stored["respond_by"] if stored.get("respond_by") else None})
            batch.update(doc_ref(KEYS, stored["key_doc"]), {"status": Status.ACKNOWLEDGED.value})
        batch.update(ref, update, option=unchanged)
        return {"first": not acked, "owner": actor if not acked else stored.get("owner"),
                "at": now if not acked else stored["acknowledged_at"],
                "notify": [r["id"] for r in records if r["status"] == "pending"]}

    return _optimistic(incident_id, write)


def set_severity(incident_id: str, rank: int, label: str, pin: bool, lead: bool, reason: str, entry: dict,
                 now: datetime, fields_for: Callable[[Incident], dict],
                 outbox_for: Callable[[Incident], list[dict]]) -> dict:
    """Change the severity by hand: a pin by the team lead, or a change by the on-call unless pinned."""
    ref = doc_ref(INCIDENTS, incident_id)

    def write(stored: dict, batch, unchanged) -> dict:
        if stored.get("pinned_rank") and not lead:
            raise Pinned(f"the team lead pinned the severity of {incident_id}; only the team lead can change it")
        incident = Incident.from_doc(stored)
        records = _add_new(batch, outbox_for(incident))
        update = {f"severity_reasons.{label}": reason, **append(ref, stored, [entry], batch), "updated_at": now,
                  **fields_for(incident)}
        update.update({"pinned_rank": rank, "pinned_by": entry["actor"]} if pin else {"severity_rank": rank})
        batch.update(ref, update, option=unchanged)
        if stored.get("active"):
            batch.update(doc_ref(LIVE, incident.key_doc), {"pinned_rank": rank} if pin else {"severity_rank": rank})
        return {"notify": [r["id"] for r in records if r["status"] == "pending"]}

    return _optimistic(incident_id, write)


def add_note(incident_id: str, entry: dict) -> None:
    """Add a person's note to an incident's timeline (open or resolved: notes feed the postmortem)."""
    ref = doc_ref(INCIDENTS, incident_id)

    def write(snap, batch) -> None:
        if not snap.exists:
            raise NotFound(f"no incident {incident_id}")
        stored = snap.to_dict()
        batch.update(ref, append(ref, stored, [entry], batch),
                     option=client().write_option(last_update_time=snap.update_time))
    read_then_write(ref, write, f"{incident_id} changed meanwhile, try again")


def record_escalation(incident_id: str, steps: list[str], level: int, next_check_at: datetime | None,
                      records: list[dict], entries: list[dict], now: datetime) -> bool:
    """Take escalation steps once: their claims, notifications and the next check in one batch.

    False when another sweep took them first (its batch holds the same claims), which changes nothing.
    """
    batch = client().batch()
    for step in steps:
        add_claim(batch, f"{incident_id}:escalation:{step}", now)
    add_records(batch, records)
    update: dict = {"next_check_at": next_check_at, "updated_at": now}
    if steps:
        update.update({"escalations": firestore.ArrayUnion(steps), "escalation_level": firestore.Maximum(level),
                       "timeline": firestore.ArrayUnion(entries)})
    batch.update(doc_ref(INCIDENTS, incident_id), update)
    try:
        call(batch.commit)
    except gexc.Conflict:
        return False
    return True
