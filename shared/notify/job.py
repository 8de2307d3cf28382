"""What the delivery engine and each kind of message share: the job being sent, how a send is made (or shown on the
preview page), how its outcome is recorded (settle: sent, superseded, retried later with backoff, or failed for
good), and the per-channel pacing that rate limits ask for. A leaf of notify: delivery.py and kinds.py build on it.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared import log
from shared.channels import Channel, Context, Message, kind_of_record, preview, words
from shared.channels.base import Result, superseded
from shared.clock import clock
from shared.config import Config
from shared.config.frozen import frozen
from shared.config.settings import Settings
from shared.model import Incident, OutboxStatus, TimelineEntry
from shared.notify import oncall
from shared.rules import routing
from shared.store import incidents as store
from shared.store import outbox

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 12               # about 9 hours of backoff before a notification is given up
BACKOFF_BASE, BACKOFF_CAP = 5.0, 3600.0
INCIDENT_GONE = Result(False, error="incident not found")  # permanent: nothing to render from


@dataclass
class Stats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    digests: int = 0
    left: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


_rng = random.Random()


def backoff(attempts: int, retry_after: float | None, rng: random.Random = _rng) -> float:
    """Seconds to wait before the next attempt: the server's word, else capped exponential with full jitter."""
    if retry_after is not None:
        return min(retry_after + rng.uniform(0, 0.25), BACKOFF_CAP)
    return rng.uniform(BACKOFF_BASE / 2, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0)))


# ---------------------------------------------------------------- pacing (per channel, per process)

_paused: dict[str, float] = {}  # channel -> monotonic time its rate-limit bucket refills
_locks: dict[str, threading.Lock] = {}
_paused_lock = threading.Lock()


def pause(channel: str, seconds: float) -> None:
    with _paused_lock:
        _paused[channel] = max(_paused.get(channel, 0.0), clock().monotonic() + seconds)


def paused_for(channel: str) -> float:
    with _paused_lock:
        return max(_paused.get(channel, 0.0) - clock().monotonic(), 0.0)


def channel_lock(channel: str) -> threading.Lock:
    with _paused_lock:
        return _locks.setdefault(channel, threading.Lock())


def reset_pacing() -> None:
    """Forget rate-limit pauses (tests start each case with fresh buckets)."""
    with _paused_lock:
        _paused.clear()


@frozen
class Job:
    """One claimed record being sent, with everything its kind's handler needs."""

    record: dict
    channel: Channel
    incident: Incident | None
    cfg: Config
    settings: Settings
    now: datetime
    timeout: float

    @property
    def kind(self) -> str:
        """The message this record is (stored on it; records written before kinds were stored: from the reason)."""
        return kind_of_record(self.record)


def unbuildable(error: Exception, what: str, incident_id: str) -> Result:
    """The outcome of a message that could not even be built (a bug, or a record this version cannot read): failed
    for good at once, since building it again fails again; settle() puts it on the timeline."""
    log.report(error, "notification cannot be built", incident=incident_id, what=what)
    return Result(False, retryable=False, error=f"{type(error).__name__} while building the message")


def settle(record: dict, result: Result, now: datetime, stats: Stats, digest: bool = False) -> None:
    """Record how a send went: sent, superseded, retried later, or failed for good (on the timeline). A record
    sent as part of a digest is marked so, and waits held (for the next digest) when it is retried."""
    rid, channel = record["id"], record["channel"]
    incident_id = record.get("incident_id") or "-"
    if result.pause:
        pause(channel, result.pause)
    if result.superseded:
        outbox.finish(rid, OutboxStatus.SUPERSEDED, now, **({"note": result.note[:300]} if result.note else {}))
        stats.skipped += 1
        return
    if result.ok:
        outbox.finish(rid, OutboxStatus.SENT, now, ref=result.ref, sent_at=now, **({"digest": True} if digest else {}))
        stats.sent += 1
        return
    if result.retry_after:
        pause(channel, result.retry_after)
    attempts = record.get("attempts", 1)
    if result.retryable and attempts < MAX_ATTEMPTS:
        wait = backoff(attempts, result.retry_after)
        outbox.retry_at(rid, now + timedelta(seconds=wait), result.error, progress=result.progress,
                        status=OutboxStatus.HELD if digest else OutboxStatus.PENDING)
        log.warning("notification will be retried", incident=incident_id, outbox=rid, error=result.error,
                    attempts=attempts, retry_in_s=round(wait, 2))
        stats.retried += 1
        return
    outbox.finish(rid, OutboxStatus.FAILED, now, last_error=result.error)
    if record.get("incident_id") and result is not INCIDENT_GONE:  # a deleted incident has no timeline
        store.add_timeline(record["incident_id"], TimelineEntry(
            now, "system", "notification failed",
            f"{words.what(record)}{' (in a digest)' if digest else ''}: {result.error}").to_dict())
    log.error("notification failed", incident=incident_id, outbox=rid, error=result.error, attempts=attempts)
    stats.failed += 1


def transmit(channel: Channel, message: Message, incident_id: str, reason: str, settings: Settings,
             timeout: float) -> Result:
    """Send a message, or show it on the local preview page when the channel has no credentials."""
    if channel.addressed and not message.recipients:
        return superseded("nobody to address")
    why = channel.skips(message)
    if why:
        return superseded(why)   # never shown on the preview page either: it shows what would be sent
    if not channel.configured():
        return preview.show(channel.name, incident_id, reason, message, settings)
    return channel.send(message, timeout)


def opening_for(channel: str, incident: Incident, cfg: Config, now: datetime) -> routing.Delivery | None:
    """Return the opening this channel would get for the incident's current severity (on call now)."""
    on_call = oncall.primary_now(now, cfg)
    return next((d for d in routing.opening(incident.severity, incident.environment, now, cfg, on_call)
                 if d.channel == channel), None)


def send(job: Job, kind: str, ctx: Context, ref: str | None = None) -> Result:
    message = job.channel.render(kind, job.incident, job.cfg, job.now, ctx)
    message = replace(message, ref=ref, attempt=job.record.get("attempts", 1), progress=job.record.get("progress", {}))
    return transmit(job.channel, message, job.incident.id if job.incident else "-", job.record["reason"], job.settings,
                    job.timeout)
