"""Plain domain types: severities, statuses, alerts and timeline entries."""
from __future__ import annotations

import enum
from dataclasses import field, fields
from datetime import datetime, timezone
from typing import Any

from shared.config.frozen import frozen
from shared.rules import ids
from shared.rules.text import quoted, storable


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
    def parse(cls, value: str) -> Severity:
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {quoted(value)} (expected critical, high, medium or low)") from None


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


MAX_TEXT = 4000  # title, message, location and detail; each channel truncates further for its own limits
MAX_NAME = 200   # project, environment, actor: names, not prose
MAX_LINK = 2000
LIMITS = {"title": MAX_TEXT, "message": MAX_TEXT, "location": MAX_TEXT, "detail": MAX_TEXT, "level": 100,
          "project": MAX_NAME, "environment": MAX_NAME, "actor": MAX_NAME}


@frozen
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

    def __post_init__(self) -> None:
        """Bound every caller-controlled field, whatever the source, and make it storable: a stored incident stays
        far below Firestore's 1 MiB document limit, a listing stays small, and no lone surrogate reaches a write."""
        for name, limit in LIMITS.items():
            object.__setattr__(self, name, storable(getattr(self, name)[:limit]))
        object.__setattr__(self, "dedup_key", ids.bounded_key(storable(self.dedup_key)))
        object.__setattr__(self, "links", {storable(k[:100]): storable(v[:MAX_LINK])
                                           for k, v in list(self.links.items())[:20]})
        object.__setattr__(self, "tags", {storable(str(k)): storable(str(v)) for k, v in self.tags.items()})
        object.__setattr__(self, "extra", {k: storable(v[:MAX_TEXT]) if isinstance(v, str) else v
                                           for k, v in self.extra.items()})

    def golden(self) -> dict:
        """Return a JSON-ready view for golden-file tests."""
        out = {k: v for k, v in self.__dict__.items() if v not in ("", None, {}, [])}
        out["action"] = self.action.value
        if self.occurred_at:
            out["occurred_at"] = self.occurred_at.isoformat()
        return out


@frozen
class TimelineEntry:
    """One change to an incident: who, when, what."""

    at: datetime
    actor: str
    action: str
    detail: str = ""

    def to_dict(self) -> dict:
        return {"at": self.at, "actor": self.actor, "action": self.action, "detail": self.detail}


class OutboxStatus(str, enum.Enum):
    """Where one notification stands; only PENDING, HELD and SENDING still have work (a due time)."""

    PENDING = "pending"          # due now or at due_at
    HELD = "held"                # waiting for business hours (released as a digest at 09:00)
    SILENCED = "silenced"        # an opening held while a silence covers its incident (shared/silences.py releases it)
    SENDING = "sending"          # claimed under a lease by a sender
    SENT = "sent"
    FAILED = "failed"            # permanent error, or retries given up; on the incident's timeline
    SUPERSEDED = "superseded"    # another record carries the news (or there was nothing left to say)


def effective_rank(automatic: int, pinned: int | None) -> int:
    """Return the severity that counts: the team lead's pin wins over the automatic classification."""
    return pinned or automatic


@frozen
class Incident:
    """A stored incident as every reader sees it, live counters merged in and the severity the effective one."""

    id: str
    title: str
    status: str
    auto_severity_rank: int              # what the rules gave (rises only)
    service: str
    environment: str
    source: str
    dedup_key: str
    key_doc: str
    created_at: datetime
    occurrences: int = 1
    users_affected: int = 0
    pinned_rank: int = 0                 # the team lead's pin; 0: none
    severity_reasons: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    location: str = ""
    latest_message: str = ""
    active: bool = True
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    assignee: str | None = None
    owner: str | None = None
    phase: str = ""                      # the team's workflow after 👀: investigating, fixing, deploying
    invalid: bool = False                # closed as ❌ invalid (cannot reproduce): kept, left out of SLA metrics
    steps: int = 0                       # workflow steps taken (numbers each step's thread reply)
    previous_incident: str | None = None
    downtime_seconds: float | None = None
    respond_by: datetime | None = None
    resolve_by: datetime | None = None
    next_check_at: datetime | None = None
    escalation_level: int = 1
    escalations: tuple[str, ...] = ()
    tta_seconds: float | None = None
    ttr_seconds: float | None = None
    sla_response_met: bool | None = None
    sla_resolution_met: bool | None = None
    timeline: tuple[dict, ...] = ()        # the first entry and the newest (store/timeline.py)
    timeline_archived: int = 0             # older entries moved to incidents/{id}/timeline_archive
    doc: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # everything stored, as stored

    @property
    def severity_rank(self) -> int:
        return effective_rank(self.auto_severity_rank, self.pinned_rank)

    @property
    def severity(self) -> Severity:
        return Severity(self.severity_rank)

    @property
    def reason(self) -> str:
        """Why it has its (effective) severity."""
        return self.severity_reasons.get(self.severity.label, "")

    @property
    def is_resolved(self) -> bool:
        return self.status == Status.RESOLVED.value

    @classmethod
    def from_doc(cls, doc: dict) -> Incident:
        """Build from a stored document (unknown keys stay in `doc`; missing optional ones take defaults)."""
        names = {f.name for f in fields(cls)} - {"auto_severity_rank", "doc"}
        values = {k: v for k, v in doc.items() if k in names and v is not None}
        for name in ("escalations", "timeline"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(auto_severity_rank=int(doc["severity_rank"]), doc=doc, **values)


def iso(value: datetime | None) -> str | None:
    """Format a timestamp as ISO-8601 UTC with a Z, the way the API and the status page show every time."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
