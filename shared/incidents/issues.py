"""An incident's GitHub issue closed or reopened on GitHub (shared/sources/github.py): the incident follows.

Closing the issue resolves the incident as the person who closed it (the team file's `github` login; someone not
in it is "GitHub (@login)"); the team's chat hears it as from any resolve, but the issue is not commented and
closed again: its GitHub record is stored already superseded. Reopening the issue makes the incident active again
as itself (the same id, the issue's label), unless a newer incident of the same problem was opened since; the next
resolve, here or on GitHub, is a new round of resolved messages (plan.next_round). A delivery's id makes
a redelivery change nothing.
"""
from __future__ import annotations

from datetime import datetime

from shared import log
from shared.config import Config
from shared.incidents.ingest import Outcome
from shared.model import Action, Alert, Incident, OutboxStatus, Status, TimelineEntry
from shared.notify import plan
from shared.rules.sla import clocks
from shared.rules.workflow import step_text
from shared.store import alerts, outbox
from shared.store import incidents as store
from shared.store.client import AlreadyClaimed, Conflict, claim_once

CHANNEL = "github"
CLOSED_THERE = "the issue was closed on GitHub"


def actor(login: str, cfg: Config) -> str:
    """Return the person with this GitHub login (logins are case-insensitive), else "GitHub (@login)"."""
    wanted = login.strip().lower()
    person = next((p for p in cfg.people if p.github and p.github.strip().lstrip("@").lower() == wanted), None)
    return person.id if person else f"GitHub (@{login})"


def apply(alert: Alert, cfg: Config, now: datetime, claim: str | None) -> Outcome:
    """Resolve or reopen the incident the alert's issue belongs to, once per delivery."""
    iid, number = str(alert.extra["incident"]), str(alert.extra["issue"])
    incident = store.get_incident(iid)
    filed = outbox.get(outbox.record_id(iid, "opened", CHANNEL)) if incident else None
    if incident is None or (filed and str(filed.get("ref") or "").isdigit() and filed["ref"] != number):
        log.info("GitHub issue is not an incident's", incident=iid, issue=number)
        return Outcome(None, "ignored")   # no such incident, or its label copied onto another issue
    who = actor(str(alert.extra.get("login") or alert.actor), cfg)
    try:
        if alert.action is Action.RESOLVE:
            return _resolve(incident, who, alert.detail, now, cfg, claim)
        return _reopen(incident, who, alert.detail, now, cfg, claim)
    except AlreadyClaimed:
        return Outcome(iid, "replayed")


def _unchanged(incident: Incident, now: datetime, claim: str | None) -> Outcome:
    """Nothing to do (already resolved, already open): claim the delivery all the same, so that it stays a replay
    once the issue has moved on (closed, reopened, then this close delivered again)."""
    if claim and not claim_once(claim, now):
        return Outcome(incident.id, "replayed")
    return Outcome(incident.id, "duplicate")


def _resolve(incident: Incident, who: str, detail: str, now: datetime, cfg: Config, claim: str | None) -> Outcome:
    if incident.is_resolved:
        return _unchanged(incident, now, claim)
    # a Low bug from Sentry closed on GitHub when its fix shipped: its Sentry issue is resolved too (in step)
    resolved = plan.next_round(plan.on_resolve(incident.id, incident.environment, now, cfg, incident.dedup_key),
                               incident.doc.get("reopens") or 0)
    records = [_done_there(r, now) if r["channel"] == CHANNEL else r for r in resolved]
    records += plan.on_step(incident.id, incident.severity, incident.environment, incident.steps + 1, "resolve",
                            step_text("resolve", who, now, cfg, detail), now, cfg)
    fields = {"resolved_at": now, "active": False, "steps": incident.steps + 1, "phase": ""}
    entry = TimelineEntry(now, who, "resolved", detail).to_dict()
    try:
        alerts.change_status(incident.id, incident.key_doc, Status.RESOLVED.value, fields, entry, claim, now,
                             close=True, outbox=records)
    except Conflict:
        return Outcome(incident.id, "duplicate")   # resolved meanwhile
    return Outcome(incident.id, "resolved", (("resolved",),), tuple(plan.due_now(records)))


def _done_there(record: dict, now: datetime) -> dict:
    """The GitHub channel's resolved record when GitHub closed the issue: stored done, so nothing comments on the
    issue or closes it again (and the preview page shows why)."""
    done = {**record, "status": OutboxStatus.SUPERSEDED.value, "note": CLOSED_THERE, "finished_at": now,
            "expire_at": now + outbox.KEEP_FINISHED}
    done.pop("due_at", None)
    return done


def _reopen(incident: Incident, who: str, detail: str, now: datetime, cfg: Config, claim: str | None) -> Outcome:
    if not incident.is_resolved:
        return _unchanged(incident, now, claim)
    doc = incident.doc
    reopens = int(doc.get("reopens") or 0) + 1
    status = Status.ACKNOWLEDGED if doc.get("acknowledged_at") else Status.OPEN
    # its SLA clocks and escalation start again from the reopening, as for a new incident: the deadlines of its
    # first life have long passed, and would page the lead at once for a bug reopened days later
    fields = {"status": status.value, "active": True, "resolved_at": None, "invalid": False, "ttr_seconds": None,
              "sla_resolution_met": None, "reopens": reopens, "escalation_level": 1, "escalations": [],
              **clocks(incident.severity, incident.environment, now, now, cfg)}
    live = {"incident_id": incident.id, "generation": int(doc.get("generation") or 1),
            "id_length": len(incident.id) - len("INC-"), "environment": incident.environment,
            "opened_epoch": incident.created_at.timestamp(), "reopens": reopens,
            **{k: doc[k] for k in store.LIVE_FIELDS if doc.get(k) is not None},
            "pinned_rank": int(doc.get("pinned_rank") or 0)}
    entry = TimelineEntry(now, who, "reopened", detail).to_dict()
    try:
        alerts.reopen(incident.id, incident.key_doc, fields, live, entry, claim, now)
    except Conflict:
        log.info("GitHub issue reopened, but a newer incident of the same problem is open", incident=incident.id)
        return _unchanged(incident, now, claim)
    return Outcome(incident.id, "reopened")
