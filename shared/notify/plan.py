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


def on_open(incident_id: str, severity: Severity, environment: str, now: datetime, cfg: Config) -> list[dict]:
    return [record(incident_id, d, now) for d in routing.opening(severity, environment, now, cfg)]


def on_raise(incident_id: str, severity: Severity, environment: str, now: datetime, cfg: Config) -> list[dict]:
    return [record(incident_id, d, now) for d in routing.raised(severity, environment, now, cfg)]


def on_resolve(incident_id: str, environment: str, now: datetime, cfg: Config) -> list[dict]:
    """One 'resolved' record per channel the incident may have reached; the sender skips the others."""
    return [record(incident_id, routing.Delivery(channel, "resolved", "resolved"), now)
            for channel in routing.follow_up_channels(environment, cfg)]


def on_milestone(incident_id: str, count: int, environment: str, now: datetime, cfg: Config) -> list[dict]:
    channels = [c for c in routing.follow_up_channels(environment, cfg) if c.startswith("discord")]
    return [record(incident_id, routing.Delivery(c, f"milestone-{count}", "milestone"), now) for c in channels]
