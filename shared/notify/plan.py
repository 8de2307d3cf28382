"""Outbox records for each incident event (pure: the incidents layer stores them with the change)."""
from __future__ import annotations

from datetime import datetime

from shared.channels import ESCALATION, MILESTONE, OPENED, RAISED, RESOLVED, STEP, TEXT
from shared.config import Config
from shared.config.channels import CAPABILITIES
from shared.config.frozen import frozen
from shared.model import Incident, OutboxStatus, Severity
from shared.rules import oncall, routing
from shared.rules.workflow import STEPS


def record(incident_id: str, delivery: routing.Delivery, now: datetime, kind: str) -> dict:
    """Return the outbox record for one delivery; its id makes it exactly-once per incident/reason/channel, its
    kind says which message it is (notify/kinds.py), whatever its reason is called."""
    held = delivery.not_before is not None and delivery.not_before > now
    return {
        "id": f"{incident_id}:{delivery.reason}:{delivery.channel}", "incident_id": incident_id, "kind": kind,
        "reason": delivery.reason, "channel": delivery.channel, "template": delivery.template,
        "mentions": list(delivery.mentions), "recipients": list(delivery.recipients),
        "status": (OutboxStatus.HELD if held else OutboxStatus.PENDING).value,
        "due_at": delivery.not_before if held else now, "created_at": now, "attempts": 0,
    }


@frozen
class Claimed:
    """An outbox record its creator stored claimed (claim_due) and sends itself, with the incident as that change
    stored it when the creator has it at hand (an opening: rendered without reading the incident back)."""

    record: dict
    incident: Incident | None = None


def claim_due(records: list[dict], lease_until: datetime) -> list[dict]:
    """Return the records with those due now claimed by their creator: sending under a lease until `lease_until`,
    on their first attempt. The change that creates them stores them so and sends them at once, without a
    claim's read and write (notify/delivery.py); a creator that stops first leaves the lease to run out, and the
    sweep sends them then, as it does any send cut short."""
    return [{**r, "status": OutboxStatus.SENDING.value, "lease_until": lease_until, "attempts": 1}
            if r["status"] == OutboxStatus.PENDING.value else r for r in records]


def claimed(records: list[dict]) -> list[dict]:
    """Return the records claim_due claimed: the ones their creator sends."""
    return [r for r in records if r["status"] == OutboxStatus.SENDING.value]


def text_record(rid: str, reason: str, channel: str, text: str, now: datetime, incident_id: str | None = None,
                pings: list[str] = (), kind: str = TEXT) -> dict:
    """Return the outbox record for a message whose text is decided now (the handoff, a notice)."""
    return {"id": rid, "incident_id": incident_id, "kind": kind, "reason": reason, "channel": channel,
            "template": "text",
            "text": text, "pings": list(pings), "mentions": [], "recipients": [],
            "status": OutboxStatus.PENDING.value, "due_at": now, "created_at": now, "attempts": 0}


def step_record(incident_id: str, number: int, step: str, channel: str, text: str, emoji: str,
                now: datetime) -> dict:
    """Return the outbox record of one workflow step (the `number`-th on this incident), for the alert's thread:
    reason "step-<number>-<step>", so a step taken again later is posted again, and a retried request is not."""
    reason = f"step-{number}-{step}"
    return {**text_record(f"{incident_id}:{reason}:{channel}", reason, channel, text, now,
                          incident_id=incident_id, kind=STEP), "template": "step", "emoji": emoji}


def on_step(incident_id: str, severity: Severity, environment: str, number: int, step: str, text: str,
            now: datetime, cfg: Config) -> list[dict]:
    """Records for one workflow step: a reply in the thread of the incident's alert, in the chat channel its route
    uses (none when the route has no chat channel that carries steps, e.g. a Low that only files an issue)."""
    opening = routing.opening(severity, environment, now, cfg)
    chat = next((d.channel for d in opening
                 if CAPABILITIES[d.channel].chat and STEP in CAPABILITIES[d.channel].carries), None)
    emoji = STEPS[step][0]
    return [step_record(incident_id, number, step, chat, text, emoji, now)] if chat else []


def due_now(records: list[dict]) -> list[str]:
    """Return the ids of the records to deliver at once (not held for business hours)."""
    return [r["id"] for r in records if r["status"] == OutboxStatus.PENDING]


def on_open(incident_id: str, severity: Severity, environment: str, now: datetime, cfg: Config,
            on_call: str | None = None) -> list[dict]:
    return [record(incident_id, d, now, OPENED) for d in routing.opening(severity, environment, now, cfg, on_call)]


def on_raise(incident_id: str, severity: Severity, environment: str, now: datetime, cfg: Config,
             on_call: str | None = None) -> list[dict]:
    return [record(incident_id, d, now, RAISED) for d in routing.raised(severity, environment, now, cfg, on_call)]


def on_resolve(incident_id: str, environment: str, now: datetime, cfg: Config, dedup_key: str = "") -> list[dict]:
    """One 'resolved' record per channel the incident may have reached (the sender skips the others), and, for an
    incident resolved here (pass its dedup_key), one per channel keeping its source in step (its Sentry issue). A
    source that resolved the incident itself passes none: nothing is sent back to it."""
    return [record(incident_id, routing.Delivery(channel, "resolved", "resolved"), now, RESOLVED)
            for channel in routing.follow_up_channels(environment, cfg) + in_step(dedup_key)]


def in_step(dedup_key: str) -> list[str]:
    """Return the channels that keep the source of an incident with this dedup key in step (sentry for sentry:<id>)."""
    return [name for name, can in CAPABILITIES.items() if can.in_step and dedup_key.startswith(can.in_step)]


def on_milestone(incident_id: str, count: int, environment: str, now: datetime, cfg: Config) -> list[dict]:
    channels = [c for c in routing.follow_up_channels(environment, cfg) if MILESTONE in CAPABILITIES[c].carries]
    return [record(incident_id, routing.Delivery(c, f"milestone-{count}", "milestone"), now, MILESTONE)
            for c in channels]


def on_escalation(incident: Incident, steps, now: datetime, cfg: Config, on_call: str | None = None) -> list[dict]:
    """Records for escalation steps: a message in the incident's chat channel naming the people paged, and
    for Critical a message to each addressed channel of its route (email, ntfy). The team lead's level pages the
    on-call's backup: the lead, or in the lead's own week the next person of the rotation."""
    opening = routing.opening(incident.severity, incident.environment, now, cfg)
    chat = next((d.channel for d in opening if CAPABILITIES[d.channel].chat), "discord")
    addressed = [d.channel for d in opening if CAPABILITIES[d.channel].addressed]
    backup = oncall.backup(on_call or oncall.primary(now, cfg), cfg)
    out = []
    for step in steps:
        people: list[str] = []
        for target in step.targets:
            for pid in (cfg.stakeholders if target == "stakeholders" else [backup]):
                if pid not in people:
                    people.append(pid)
        deliveries = [routing.Delivery(chat, f"escalation-{step.name}", "escalation", tuple(people))]
        if incident.severity is Severity.CRITICAL:   # each addressed channel reaches them its own way (email, topic)
            reached = {c: routing.addresses(c, people, cfg) for c in addressed or ["email"]}
            deliveries += [routing.Delivery(c, f"escalation-{step.name}", "escalation", tuple(people), recipients)
                           for c, recipients in reached.items() if recipients]
        out += [{**record(incident.id, d, now, ESCALATION), "level": step.level} for d in deliveries]
    return out


def next_round(records: list[dict], reopens: int) -> list[dict]:
    """Return an incident's resolved records for its resolve after `reopens` reopenings (its GitHub issue reopened,
    shared/incidents/issues.py): reason "resolved-<round>", so they are new records, sent again, not the first
    resolve's."""
    if not reopens:
        return records
    reason = f"resolved-{int(reopens) + 1}"
    return [{**r, "id": f"{r['incident_id']}:{reason}:{r['channel']}", "reason": reason}
            if r.get("kind") == RESOLVED and r.get("reason") == "resolved" else r for r in records]
