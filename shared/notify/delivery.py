"""Deliver outbox records: claim, render from the incident as it is now, send, record the outcome.

Every record is claimed under a lease before its send, so two senders (ingest and the sweep, or two
sweeps) never send the same record; a sender that dies mid-way leaves the lease to expire and the
record is tried again. Retryable failures back off exponentially with full jitter, or wait as long
as the server asked (429 retry_after). Permanent failures are recorded on the incident's timeline.
What a record's kind means for a channel is in KINDS below; what a channel does is the channel's own.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared import channels, log, oncall
from shared.channels import (
    ESCALATION,
    MILESTONE,
    OPENED,
    RAISED,
    RESOLVED,
    STEP,
    TEXT,
    Channel,
    Context,
    Message,
    preview,
)
from shared.channels.base import SUPERSEDED, Result
from shared.clock import clock
from shared.config import Config
from shared.config.settings import Settings
from shared.errors import Unavailable
from shared.model import Incident, OutboxStatus, TimelineEntry
from shared.notify import plan, render
from shared.notify import postmortem as postmortem_kinds
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


def _pause(channel: str, seconds: float) -> None:
    with _paused_lock:
        _paused[channel] = max(_paused.get(channel, 0.0), clock().monotonic() + seconds)


def _paused_for(channel: str) -> float:
    with _paused_lock:
        return max(_paused.get(channel, 0.0) - clock().monotonic(), 0.0)


def _channel_lock(channel: str) -> threading.Lock:
    with _paused_lock:
        return _locks.setdefault(channel, threading.Lock())


def reset_pacing() -> None:
    """Forget rate-limit pauses (tests start each case with fresh buckets)."""
    with _paused_lock:
        _paused.clear()


# ---------------------------------------------------------------- running deliveries

BACKGROUND_BUDGET = 25.0
_inflight: set[threading.Thread] = set()


def deliver_soon(record_ids: list[str], cfg: Config, settings: Settings, now: datetime, wait: float) -> None:
    """Deliver in a background thread, waiting at most `wait` seconds for it before returning.

    The webhook's answer must not wait for a slow vendor (Sentry gives 1 s), yet cutting the vendor call
    short would turn a slow success into a retry and a duplicate; so the send keeps its own timeout and
    finishes after the answer. Its lease keeps the sweep away meanwhile.
    """
    if not record_ids:
        return

    def run():
        try:
            deliver(record_ids, cfg, settings, now, BACKGROUND_BUDGET)
        except Exception as e:
            log.error("background delivery failed", error=type(e).__name__, reason=str(e)[:300])
        finally:
            _inflight.discard(thread)

    thread = threading.Thread(target=run, name="deliver", daemon=True)
    _inflight.add(thread)
    thread.start()
    clock().join(thread, wait)


def wait_idle(timeout: float = 60.0) -> None:
    """Wait for background deliveries to finish (tests, and a clean shutdown)."""
    for thread in list(_inflight):
        thread.join(timeout)


def deliver(record_ids: list[str], cfg: Config, settings: Settings, now: datetime, budget: float,
            stats: Stats | None = None) -> Stats:
    """Send the given records that are due, starting sends for `budget` seconds; what is left stays due.

    A send that has started always gets its whole send timeout (so the call returns within budget + the
    send timeout): cutting a vendor call short because the budget is nearly spent would turn a slow
    success into a timeout, a retry and a second message.

    Each channel's records go in a thread of their own, so a slow or hung vendor never holds up another
    channel (a Critical's email does not wait for Discord); within a channel they go one at a time.
    """
    stats = stats or Stats()
    timer = clock()
    started = timer.monotonic()
    by_channel: dict[str, list[str]] = {}
    for rid in record_ids:
        by_channel.setdefault(rid.rsplit(":", 1)[-1], []).append(rid)
    groups = [(ids, Stats()) for ids in by_channel.values()]
    threads = [threading.Thread(target=_deliver_channel, args=(ids, part, cfg, settings, now, started, budget),
                                name="deliver-channel", daemon=True) for ids, part in groups[1:]]
    for thread in threads:
        thread.start()
    if groups:
        _deliver_channel(*groups[0], cfg, settings, now, started, budget)
    for thread in threads:
        timer.join(thread, started + budget + settings.send_timeout - timer.monotonic())
    for _, part in groups:
        for name, value in part.as_dict().items():
            setattr(stats, name, getattr(stats, name) + value)
    return stats


def _deliver_channel(record_ids: list[str], stats: Stats, cfg: Config, settings: Settings, now: datetime,
                     started: float, budget: float) -> None:
    """Send one channel's records in order, paced by its rate-limit headers."""
    timer = clock()
    deadline = started + budget
    for rid in record_ids:
        remaining = deadline - timer.monotonic()
        channel = rid.rsplit(":", 1)[-1]
        if remaining <= 0.05 or _paused_for(channel) > remaining:
            stats.left += 1
            continue
        with _channel_lock(channel):  # one send at a time per channel in this process: pace by its headers
            timer.sleep(min(_paused_for(channel), max(deadline - timer.monotonic(), 0)))
            at = now + timedelta(seconds=timer.monotonic() - started)  # the run's clock, advanced as it goes on
            record = outbox.claim(rid, at, LEASE)
            if record is None:
                stats.skipped += 1
                continue
            settle(record, _attempt(record, cfg, settings, at, settings.send_timeout), at, stats)


@dataclass(frozen=True)
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
        return channels.kind_of(self.record["reason"])


def _attempt(record: dict, cfg: Config, settings: Settings, now: datetime, timeout: float) -> Result:
    incident = None
    if record.get("incident_id"):
        incident = store.get_incident(record["incident_id"])
        if incident is None:
            return INCIDENT_GONE
    job = Job(record, channels.build(record["channel"], settings), incident, cfg, settings, now, timeout)
    try:
        return KINDS[job.kind](job)
    except Unavailable:
        raise
    except Exception as e:  # a rendering bug must not block other notifications
        log.error("notification crashed", incident=record.get("incident_id"), outbox=record["id"],
                  error=type(e).__name__, reason=str(e)[:300])
        if incident is not None and record.get("attempts", 1) == 1:
            _report_crash(job, e)
        return Result(False, retryable=True, error=f"{type(e).__name__} while sending")


def _report_crash(job: Job, error: Exception) -> None:
    """A notification that cannot even be built is a bug: say so on the timeline and, once, in the incident's
    chat channel when that is not the broken one, so nobody mistakes silence for calm."""
    what = f"{job.channel.name} {job.record['reason']}: {type(error).__name__} while building the message"
    store.add_timeline(job.incident.id, TimelineEntry(job.now, "system", "notification crashed", what).to_dict())
    chat = next((name for name in routing.follow_up_channels(job.incident.environment, job.cfg)
                 if channels.REGISTRY[name].chat and name != job.channel.name), None)
    if chat is None:
        return
    text = f"⚠️ {job.incident.id}: the {what} (retrying; see the logs). {job.incident.severity.name}: " \
           f"{render.discord_text(job.incident.title[:200])}"
    reason = f"notice-{job.channel.name}"
    outbox.enqueue([plan.text_record(outbox.record_id(job.incident.id, reason, chat), reason, chat, text, job.now,
                                     incident_id=job.incident.id)])


def settle(record: dict, result: Result, now: datetime, stats: Stats) -> None:
    """Record how a send went: sent, superseded, retried later, or failed for good (on the timeline)."""
    rid, channel = record["id"], record["channel"]
    incident_id = record.get("incident_id") or "-"
    if result.pause:
        _pause(channel, result.pause)
    if result.superseded:
        outbox.finish(rid, OutboxStatus.SUPERSEDED, now)
        stats.skipped += 1
        return
    if result.ok:
        outbox.finish(rid, OutboxStatus.SENT, now, ref=result.ref, sent_at=now)
        stats.sent += 1
        return
    if result.retry_after:
        _pause(channel, result.retry_after)
    attempts = record.get("attempts", 1)
    if result.retryable and attempts < MAX_ATTEMPTS:
        wait = backoff(attempts, result.retry_after)
        outbox.retry_at(rid, now + timedelta(seconds=wait), result.error, progress=result.progress)
        log.warning("notification will be retried", incident=incident_id, outbox=rid, error=result.error,
                    attempts=attempts, retry_in_s=round(wait, 2))
        stats.retried += 1
        return
    outbox.finish(rid, OutboxStatus.FAILED, now, last_error=result.error)
    if record.get("incident_id") and result is not INCIDENT_GONE:  # a deleted incident has no timeline
        store.add_timeline(record["incident_id"], TimelineEntry(
            now, "system", "notification failed", f"{channel} {record['reason']}: {result.error}").to_dict())
    log.error("notification failed", incident=incident_id, outbox=rid, error=result.error, attempts=attempts)
    stats.failed += 1


def transmit(channel: Channel, message: Message, incident_id: str, reason: str, settings: Settings,
             timeout: float) -> Result:
    """Send a message, or show it on the local preview page when the channel has no credentials."""
    if channel.addressed and not message.recipients:
        return SUPERSEDED  # nobody to address
    if not channel.configured():
        return preview.show(channel.name, incident_id, reason, message, settings)
    return channel.send(message, timeout)


def opening_for(channel: str, incident: Incident, cfg: Config, now: datetime) -> routing.Delivery | None:
    """Return the opening this channel would get for the incident's current severity (on call now)."""
    on_call = oncall.primary_now(now, cfg)
    return next((d for d in routing.opening(incident.severity, incident.environment, now, cfg, on_call)
                 if d.channel == channel), None)


def _send(job: Job, kind: str, ctx: Context, ref: str | None = None) -> Result:
    message = job.channel.render(kind, job.incident, job.cfg, job.now, ctx)
    message = replace(message, ref=ref, attempt=job.record.get("attempts", 1), progress=job.record.get("progress", {}))
    return transmit(job.channel, message, job.incident.id if job.incident else "-", job.record["reason"], job.settings,
                    job.timeout)


# ---------------------------------------------------------------- what each kind of record does

def _opening(job: Job) -> Result:
    """The incident's first message on this channel, rendered for who is on call now."""
    current = opening_for(job.channel.name, job.incident, job.cfg, job.now)
    record = job.record
    template = current.template if current else record["template"]
    mentions = current.mentions if current else tuple(record.get("mentions", []))
    recipients = tuple(dict.fromkeys([*record.get("recipients", []), *(current.recipients if current else ())]))
    return _send(job, OPENED, Context(mentions, recipients, {"template": template}))


def _opened_record(job: Job) -> dict | None:
    return outbox.get(outbox.record_id(job.incident.id, "opened", job.channel.name))


def _raised(job: Job) -> Result:
    """A severity rise: open the incident here if this channel has not carried it yet, else follow up."""
    opened = _opened_record(job)
    silenced = job.incident.doc.get("silenced_by") or {}
    if silenced and not silenced.get("released_at"):
        return SUPERSEDED  # silenced: the opening, when the silence ends, is sent at the severity it has then
    if opened is None:  # this channel has not carried the incident yet: open it here
        fresh = {**job.record, "id": outbox.record_id(job.incident.id, "opened", job.channel.name), "reason": "opened"}
        if outbox.create_claimed(fresh, job.now, LEASE):
            settle(fresh, _opening(replace(job, record=fresh)), job.now, Stats())
        return SUPERSEDED  # the opening record now carries this news, and its own retries
    if opened["status"] in (OutboxStatus.HELD, OutboxStatus.PENDING):  # not out yet: send it now, at the new severity
        claimed = outbox.claim(opened["id"], job.now, LEASE, include_held=True)
        if claimed:
            settle(claimed, _opening(replace(job, record=claimed)), job.now, Stats())
        return SUPERSEDED
    return _follow_up(job, opened)


def _follow_up(job: Job, opened: dict | None = None) -> Result:
    """A change to an incident this channel carries: a short message, then the original shown as it is now."""
    opened = opened or _opened_record(job)
    if opened is None or opened.get("status") != OutboxStatus.SENT or job.kind not in job.channel.carries:
        return SUPERSEDED  # nothing went out here (the opening, if still coming, shows the state), or nothing to say
    current = opening_for(job.channel.name, job.incident, job.cfg, job.now)
    mentions = (current.mentions if current else tuple(job.record.get("mentions", []))) if job.kind == RAISED else ()
    extra = {"milestone": job.record["reason"].removeprefix("milestone-")} if job.kind == MILESTONE else {}
    result = _send(job, job.kind, Context(mentions, tuple(opened.get("recipients", [])), extra), opened.get("ref"))
    if result.ok and not result.superseded and job.channel.edits and job.channel.configured() and opened.get("ref") \
            and not opened.get("digest"):
        # the original card shows the state now; best effort, the short message above carries the news
        template = current.template if current else opened["template"]
        card = job.channel.render(OPENED, job.incident, job.cfg, job.now,
                                  Context(tuple(opened.get("mentions", [])), (), {"template": template}))
        edited = job.channel.edit(opened["ref"], card, job.timeout)
        if not edited.ok:
            log.warning("could not edit the original message", incident=job.incident.id, error=edited.error)
    return result


def _escalation(job: Job) -> Result:
    """Page the next level, unless the incident was acknowledged (or resolved) since the step was taken."""
    step = job.record["reason"].removeprefix("escalation-")
    if job.incident.is_resolved or (step != "sla-resolution" and job.incident.acknowledged_at):
        return SUPERSEDED
    if ESCALATION not in job.channel.carries:
        return SUPERSEDED
    extra = {"step": step, "level": job.record.get("level", 2)}
    return _send(job, ESCALATION, Context(tuple(job.record.get("mentions", [])),
                                          tuple(job.record.get("recipients", [])), extra))


def _text(job: Job) -> Result:
    """A message about no single incident (the on-call handoff), rendered when it was decided."""
    if TEXT not in job.channel.carries:
        return SUPERSEDED
    return _send(job, TEXT, Context(extra={"text": job.record["text"], "pings": job.record.get("pings", [])}))


def _step(job: Job) -> Result:
    """A workflow step (👀, 🔍, ...): a reply to the incident's alert here, once that alert is out."""
    opened = _opened_record(job) if STEP in job.channel.carries else None
    if opened is None or opened["status"] in (OutboxStatus.HELD, OutboxStatus.FAILED, OutboxStatus.SUPERSEDED,
                                              OutboxStatus.SILENCED):
        return SUPERSEDED  # no alert here (yet): the opening, when it goes out, shows the state; the timeline has it
    if opened["status"] != OutboxStatus.SENT:  # on its way: the reply must not come before the alert
        return Result(False, retryable=True, error="waiting for the alert to be sent first")
    ref = None if opened.get("digest") else opened.get("ref")  # a digest has no thread of its own
    extra = {"text": job.record["text"], "emoji": job.record.get("emoji", ""), "key": job.record["id"]}
    return _send(job, STEP, Context(extra=extra), ref)


KINDS = {OPENED: _opening, RAISED: _raised, RESOLVED: _follow_up, MILESTONE: _follow_up, ESCALATION: _escalation,
         TEXT: _text, STEP: _step, **postmortem_kinds.KINDS}
