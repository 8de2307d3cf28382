"""Deliver outbox records: claim, render from the incident as it is now, send, record the outcome.

Every record is claimed under a lease before its send, so two senders (ingest and the sweep, or two
sweeps) never send the same record; a sender that dies mid-way leaves the lease to expire and the
record is tried again. Retryable failures back off exponentially with full jitter, or wait as long
as the server asked (429 retry_after). Permanent failures are recorded on the incident's timeline.
What a record's kind means for a channel is in kinds.py; what a channel does is the channel's own.
"""
from __future__ import annotations

import contextvars
import threading
from datetime import datetime, timedelta

from shared import channels, log
from shared.channels import render, words
from shared.channels.base import Result
from shared.clock import clock
from shared.config import Config
from shared.config.channels import CAPABILITIES
from shared.config.settings import Settings
from shared.errors import Unavailable
from shared.model import Incident
from shared.notify import plan
from shared.notify.job import (  # noqa: F401  (the engine's vocabulary, used by the sweep and the tests)
    INCIDENT_GONE,
    LEASE,
    Job,
    Stats,
    backoff,
    channel_lock,
    paused_for,
    reset_pacing,
    settle,
    transmit,
    unbuildable,
)
from shared.notify.kinds import KINDS
from shared.rules import routing
from shared.store import incidents as store
from shared.store import outbox

# ---------------------------------------------------------------- running deliveries

BACKGROUND_BUDGET = 25.0
_inflight: set[threading.Thread] = set()


def deliver_soon(record_ids: list[str | plan.Claimed], cfg: Config, settings: Settings, now: datetime,
                 wait: float) -> None:
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
        except Unavailable as e:  # Firestore: the sweep retries what is left
            log.error("background delivery failed", error=type(e).__name__, reason=str(e)[:300])
        except Exception as e:
            log.report(e, "background delivery failed")
        finally:
            _inflight.discard(thread)

    # the request's context goes with it: its log lines stay tied to the request's trace after the answer
    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), name="deliver", daemon=True)
    _inflight.add(thread)
    thread.start()
    clock().join(thread, wait)


def wait_idle(timeout: float = 60.0) -> None:
    """Wait for background deliveries to finish (tests, and a clean shutdown)."""
    for thread in list(_inflight):
        thread.join(timeout)


def deliver(record_ids: list[str | plan.Claimed], cfg: Config, settings: Settings, now: datetime, budget: float,
            stats: Stats | None = None) -> Stats:
    """Send the given records that are due, starting sends for `budget` seconds; what is left stays due. A record
    is given by its id (claimed here before its send), or as plan.Claimed when its creator claimed it.

    A send that has started always gets its whole send timeout (so the call returns within budget + the
    send timeout): cutting a vendor call short because the budget is nearly spent would turn a slow
    success into a timeout, a retry and a second message.

    Each channel's records go in a thread of their own, so a slow or hung vendor never holds up another
    channel (a Critical's email does not wait for Discord); within a channel they go one at a time.
    """
    stats = stats or Stats()
    timer = clock()
    started = timer.monotonic()
    by_channel: dict[str, list[str | plan.Claimed]] = {}
    for item in record_ids:
        by_channel.setdefault(_id(item).rsplit(":", 1)[-1], []).append(item)
    groups = [(ids, Stats()) for ids in by_channel.values()]
    threads = [threading.Thread(target=contextvars.copy_context().run,
                                args=(_deliver_channel, ids, part, cfg, settings, now, started, budget),
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


def _id(item: str | plan.Claimed) -> str:
    return item if isinstance(item, str) else item.record["id"]


def _deliver_channel(record_ids: list[str | plan.Claimed], stats: Stats, cfg: Config, settings: Settings, now: datetime,
                     started: float, budget: float) -> None:
    """Send one channel's records in order, paced by its rate-limit headers."""
    timer = clock()
    deadline = started + budget
    for item in record_ids:
        rid = _id(item)
        remaining = deadline - timer.monotonic()
        channel = rid.rsplit(":", 1)[-1]
        if remaining <= 0.05 or paused_for(channel) > remaining:
            stats.left += 1
            if isinstance(item, plan.Claimed):  # claimed by its creator: the sweep's now, not once the lease ends
                outbox.release(rid)
            continue
        with channel_lock(channel):  # one send at a time per channel in this process: pace by its headers
            timer.sleep(min(paused_for(channel), max(deadline - timer.monotonic(), 0)))
            at = now + timedelta(seconds=timer.monotonic() - started)  # the run's clock, advanced as it goes on
            claimed = item if isinstance(item, plan.Claimed) else None
            record = claimed.record if claimed else outbox.claim(rid, at, LEASE)
            if record is None:
                stats.skipped += 1
                continue
            result = _attempt(record, cfg, settings, at, settings.send_timeout, claimed and claimed.incident)
            settle(record, result, at, stats)


def _attempt(record: dict, cfg: Config, settings: Settings, now: datetime, timeout: float,
             known: Incident | None = None) -> Result:
    """Send one claimed record, rendered from its incident as it is now (read, unless its creator gave it)."""
    incident = None
    if record.get("incident_id"):
        incident = known or store.get_incident(record["incident_id"])
        if incident is None:
            return INCIDENT_GONE
    job = Job(record, channels.build(record["channel"], settings), incident, cfg, settings, now, timeout)
    try:
        handler = KINDS[job.kind]
    except KeyError:
        error: Exception = ValueError(f"no message kind {job.kind!r}")
    else:
        try:
            return handler(job)
        except Unavailable:
            raise
        except Exception as e:  # a rendering bug must not block other notifications
            error = e
    if incident is not None:
        _report_crash(job, error)
    return unbuildable(error, f"{record['channel']} {record['reason']}", record.get("incident_id") or "-")


def _report_crash(job: Job, error: Exception) -> None:
    """A notification that cannot even be built is a bug: say so, once, in the incident's chat channel when that
    is not the broken one, so nobody mistakes silence for calm (settle() puts the failure on the timeline)."""
    chat = next((name for name in routing.follow_up_channels(job.incident.environment, job.cfg)
                 if CAPABILITIES[name].chat and name != job.channel.name), None)
    if chat is None:
        return
    text = f"⚠️ {job.incident.id}: {words.what(job.record)} could not be built ({type(error).__name__}), so it " \
           f"was not sent; see the logs. {job.incident.severity.name}: {render.discord_text(job.incident.title[:200])}"
    reason = f"notice-{job.channel.name}"
    outbox.enqueue([plan.text_record(outbox.record_id(job.incident.id, reason, chat), reason, chat, text, job.now,
                                     incident_id=job.incident.id)])
