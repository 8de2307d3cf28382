"""Plain domain types: severities, statuses, alerts and timeline entries."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Severity(enum.IntEnum):
    """Incident severity; a higher value is more urgent."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> "Severity":
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {value!r} (expected critical, high, medium or low)") from None


class Status(str, enum.Enum):
    """Lifecycle of an incident."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    IGNORED = "ignored"

    @property
    def is_active(self) -> bool:
        """True while a trigger for the same problem counts as an occurrence."""
        return self is not Status.RESOLVED


class Action(str, enum.Enum):
    """What an inbound alert asks of its incident."""

    TRIGGER = "trigger"      # a problem happened (again)
    RESOLVE = "resolve"      # the source says it is fixed
    ASSIGN = "assign"        # someone took it in the source tool
    IGNORE = "ignore"        # muted in the source tool
    REOPEN = "reopen"        # unmuted / unresolved in the source tool
    ACKNOWLEDGE = "acknowledge"  # someone took it in the source tool (PagerDuty Events acknowledge)


@dataclass(frozen=True)
class Alert:
    """One normalised alert from any source."""

    source: str
    action: Action
    dedup_key: str
    title: str = ""
    message: str = ""
    level: str = ""                      # the source's own level, e.g. "error", "down"
    level_table: str = ""                # which severity.levels table reads `level`
    project: str = ""                    # source project / monitor, used to find service and env
    environment: str = ""                # as the source names it; mapped through config
    location: str = ""                   # culprit, endpoint or URL
    links: dict[str, str] = field(default_factory=dict)
    users: int | None = None
    occurred_at: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)
    actor: str = ""                      # who did it, for the timeline
    detail: str = ""                     # timeline detail for non-trigger actions
    extra: dict[str, object] = field(default_factory=dict)

    def golden(self) -> dict:
        """Return a JSON-ready view for golden-file tests."""
        out = {k: v for k, v in self.__dict__.items() if v not in ("", None, {}, [])}
        out["action"] = self.action.value
        if self.occurred_at:
            out["occurred_at"] = self.occurred_at.isoformat()
        return out


@dataclass(frozen=True)
class TimelineEntry:
    """One change to an incident: who, when, what."""

    at: datetime
    actor: str
    action: str
    detail: str = ""

    def to_dict(self) -> dict:
        return {"at": self.at, "actor": self.actor, "action": self.action, "detail": self.detail}
