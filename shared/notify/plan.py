"""Outbox records for each incident event (pure: the incidents layer stores them with the change)."""
from __future__ import annotations

from datetime import datetime

from shared.config import Config
from shared.model import Severity
from shared.rules import routing


def record(incident_id: str, delivery: routing.Delivery, now: datetime) -> dict:
    """Return the outbox record for one delivery; its id makes it exactly-once per incident/reason/channel."""
    held = delivery.not_before is not None and delivery.not_before > now
    return {
        "id": f"{incident_id}:{delivery.reason}:{delivery.channel}", "incident_id": incident_id,
        "reason": delivery.reason, "channel": delivery.channel, "template": delivery.template,
        "mentions": list(delivery.mentions), "recipients": list(delivery.recipients),
        "status": "held" if held else "pending", "due_at": delivery.not_before if held else now,
        "created_at": now, "attempts": 0,
    }


def on_open(incident_id: str, severity: Severity, environment: str, now: datetime, cfg: Config,
            on_call: str | None = None) -> list[dict]:
    return [record(incident_id, d, now) for d in routing.opening(severity, environment, now, cfg, on_call)]


def on_raise(incident_id: str, severity: Severity, environment: str, now: datetime, cfg: Config,
             on_call: str | None = None) -> list[dict]:
    return [record(incident_id, d, now) for d in routing.raised(severity, environment, now, cfg, on_call)]


def on_resolve(incident_id: str, environment: str, now: datetime, cfg: Config) -> list[dict]:
    """One 'resolved' record per channel the incident may have reached; the sender skips the others."""
    return [record(incident_id, routing.Delivery(channel, "resolved", "resolved"), now)
            for channel in routing.follow_up_channels(environment, cfg)]


def on_milestone(incident_id: str, count: int, environment: str, now: datetime, cfg: Config) -> list[dict]:
    channels = [c for c in routing.follow_up_channels(environment, cfg) if c.startswith("discord")]
    return [record(incident_id, routing.Delivery(c, f"milestone-{count}", "milestone"), now) for c in channels]


def on_escalation(incident: dict, steps, now: datetime, cfg: Config) -> list[dict]:
    """Records for escalation steps: a Discord message naming the people paged, and an email for Critical."""
    channel = next((d.channel for d in routing.opening(Severity(incident["severity_rank"]), incident["environment"],
                                                        now, cfg) if d.channel.startswith("discord")), "discord")
    out = []
    for step in steps:
        people: list[str] = []
        for target in step.targets:
            for pid in (cfg.stakeholders if target == "stakeholders" else [cfg.team_lead]):
                if pid not in people:
                    people.append(pid)
        deliveries = [routing.Delivery(channel, f"escalation-{step.name}", "escalation", tuple(people))]
        emails = tuple(e for e in (cfg.person(p).email for p in people) if e)
        if Severity(incident["severity_rank"]) is Severity.CRITICAL and emails:
            deliveries.append(routing.Delivery("email", f"escalation-{step.name}", "escalation", tuple(people), emails))
        out += [{**record(incident["id"], d, now), "level": step.level} for d in deliveries]
    return out
