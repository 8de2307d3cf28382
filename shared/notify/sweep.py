"""The periodic sweep (escalate, every minute): release held notifications as digests, retry the rest."""
from __future__ import annotations

from datetime import datetime

from shared import channels, log
from shared.channels import DIGEST, Context
from shared.clock import clock
from shared.config import Config
from shared.config.channels import CAPABILITIES
from shared.config.settings import Settings
from shared.errors import Unavailable
from shared.model import OutboxStatus
from shared.notify import delivery, job
from shared.store import incidents as store
from shared.store import outbox

BATCH = 200


def sweep(cfg: Config, settings: Settings, now: datetime, budget: float, first: list[str] = ()) -> job.Stats:
    """Do every due outbox record (`first` before the rest), within `budget` seconds; what is left is still
    due next time."""
    stats = job.Stats()
    timer = clock()
    deadline = timer.monotonic() + budget
    records = outbox.due(now, BATCH)
    records.sort(key=lambda r: r["id"] not in first)  # pages just decided go out before older retries
    held: dict[str, list[dict]] = {}
    others = []
    for record in records:
        if record["status"] == OutboxStatus.SILENCED:
            continue  # shared/silences.py releases these (before this runs), or holds them on
        if record["status"] == OutboxStatus.HELD and DIGEST in CAPABILITIES[record["channel"]].carries:
            held.setdefault(record["channel"], []).append(record)
        else:
            others.append(record["id"])
    released = []
    for channel, group in held.items():
        if len(group) == 1:
            released.append(group[0]["id"])  # one held message goes out as itself
        else:
            _digest(channel, group, cfg, settings, now, stats)
    held_ids = {r["id"] for r in records if r["status"] == OutboxStatus.HELD}  # held, but not as part of a digest
    for rid in released + [r for r in others if r in held_ids]:
        outbox.retry_at(rid, now, "released at the start of business hours")
    delivery.deliver(released + others, cfg, settings, now, max(deadline - timer.monotonic(), 0), stats)
    return stats


def _digest(name: str, group: list[dict], cfg: Config, settings: Settings, now: datetime,
            stats: job.Stats) -> None:
    """Send one message for everything held for a channel, and settle each record with it."""
    claimed = [r for r in (outbox.claim(g["id"], now, job.LEASE, include_held=True) for g in group) if r]
    incidents = {r["incident_id"]: store.get_incident(r["incident_id"]) for r in claimed}
    for record in [r for r in claimed if incidents[r["incident_id"]] is None]:
        job.settle(record, job.INCIDENT_GONE, now, stats)
    claimed = [r for r in claimed if incidents[r["incident_id"]] is not None]
    if not claimed:
        return
    items = [incidents[i] for i in dict.fromkeys(r["incident_id"] for r in claimed)]
    try:
        openings = [job.opening_for(name, i, cfg, now) for i in items]  # on call now, not when held
        mentions = tuple(dict.fromkeys(m for o in openings if o for m in o.mentions))
        since = min(r["created_at"] for r in claimed)
        channel = channels.build(name, settings)
        message = channel.render(DIGEST, None, cfg, now, Context(mentions, extra={"items": items, "since": since}))
    except Unavailable:
        raise
    except Exception as e:  # a digest that cannot be built would fail the same way every hour: fail it once
        result = job.unbuildable(e, f"{name} digest", ",".join(i.id for i in items))
    else:
        result = job.transmit(channel, message, ",".join(i.id for i in items), "digest", settings,
                              settings.send_timeout)
    for record in claimed:   # each record as any send's: retried with backoff, paused, or failed for good
        job.settle(record, result, now, stats, digest=True)
    if result.ok:
        stats.digests += 1
        log.info("held notifications released as one digest", channel=name, count=len(claimed))
