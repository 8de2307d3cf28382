"""UptimeRobot on the free plan: the sweep polls the API and turns monitors' down/up logs into the alerts a
webhook would have brought.

At most one poll a minute (the free plan allows 10 requests a minute; a poll is one request per 50 monitors),
none before a 429's Retry-After, and BUDGET seconds in all, after the sweep's escalation work. Each event
(monitor, down or up, its log time) is claimed under the name the webhook path uses when polling is on
(uptimerobot.delivery_id), so it changes the incident once whichever way it arrives first. The newest log seen
per monitor is remembered (store/polling.py); the first poll takes only the current state (a monitor down now
opens one incident), never the history. A failed poll is logged and shown by GET /ingest/health; it never
fails the sweep.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from shared import log
from shared.clock import clock
from shared.config import Config
from shared.config.settings import Settings
from shared.errors import Refusal
from shared.incidents import ingest as incidents
from shared.incidents.webhook import claim_for
from shared.notify import delivery
from shared.sources import uptimerobot
from shared.store import polling as store
from shared.vendors import uptimerobot as uptimerobot_api

SOURCE = "uptimerobot"
EVERY = timedelta(minutes=1)
BUDGET = 10.0          # seconds one poll takes at most in all: the API's pages, ingesting, sending the pages
API_BUDGET = 7.0       # of which the API's pages; what is left sends the pages of what the poll opened
DELIVERY_BUDGET = 5.0  # at most; anything not sent goes with the next sweep (it is in the outbox)


def _fields(monitor: uptimerobot_api.Monitor, event: uptimerobot_api.Log) -> dict[str, object]:
    """The event as the webhook's fields (normalised names), so one builder makes both alerts. An up event's
    alertDuration is the downtime, as the webhook's is: the down log's duration (the up log's own duration is how
    long the monitor has been up since)."""
    up = event.type == uptimerobot_api.UP
    down_for = uptimerobot_api.downtime(monitor.logs, event) if up else None
    return {"monitorid": monitor.id, "monitorurl": monitor.url, "monitorfriendlyname": monitor.name,
            "alerttype": "2" if up else "1", "alertdetails": event.reason or ("OK" if up else "down"),
            "alertduration": str(down_for) if down_for is not None else "",
            "alertdatetime": str(event.at)}


def new_events(monitor: uptimerobot_api.Monitor, last: int | None, now: datetime) -> list[uptimerobot_api.Log]:
    """Return the monitor's down/up events after `last`, oldest first; on first sight (`last` None) only the
    down it is in now, if it is down (its newest down log, else one at `now`): the state, not the history."""
    events = sorted((e for e in monitor.logs if e.type in (uptimerobot_api.DOWN, uptimerobot_api.UP)),
                    key=lambda e: e.at)
    if last is not None:
        return [e for e in events if e.at > last]
    if monitor.status not in uptimerobot_api.DOWN_STATUSES:
        return []   # first sight of a monitor that is up (or paused): nothing to say
    latest = next((e for e in reversed(events) if e.type == uptimerobot_api.DOWN), None)
    return [latest or uptimerobot_api.Log(uptimerobot_api.DOWN, int(now.timestamp()))]


def poll(now: datetime, cfg: Config, settings: Settings, budget: float = BUDGET) -> dict:
    """Poll once if due, all within `budget` seconds (sends in flight included); return counts for the sweep's log
    ({} when polling is off or not due). Never raises."""
    if not settings.uptimerobot_api_key:
        return {}
    timer = clock()
    started = timer.monotonic()
    try:
        state = store.begin(SOURCE, now, now + EVERY)
        if state is None:
            return {}
        found = uptimerobot_api.monitors(settings, min(API_BUDGET, budget))
        counts, due = _ingest(found, dict(state.get("seen") or {}), cfg, now)
        if due:  # a send that starts may take its whole timeout; what is not sent goes with the next sweep
            sending = min(DELIVERY_BUDGET, budget - (timer.monotonic() - started) - settings.send_timeout)
            if sending > 0:
                delivery.deliver(due, cfg, settings, now, sending)
    except uptimerobot_api.PollFailed as e:
        return _failed(now, str(e), e.retry_after)
    except Exception as e:  # Firestore or a bug: the sweep's escalation work is done and must still be recorded
        return _failed(now, f"{type(e).__name__}: {str(e)[:200]}", None)
    return counts


def _ingest(found: list[uptimerobot_api.Monitor], seen: dict, cfg: Config, now: datetime) -> tuple[dict, list]:
    """Hand each monitor's new events to the ingest use case, each under the claim the webhook path uses too."""
    changes, due, cursors = 0, [], {}
    for monitor in found:
        last = seen.get(monitor.id)
        events = new_events(monitor, last, now)
        for event in events:
            claim = claim_for(uptimerobot.NAME, uptimerobot.event_id(monitor.id, str(event.type), str(event.at)))
            try:
                alerts = uptimerobot.alerts_from(_fields(monitor, event))
                outcomes = [incidents.ingest(alert, cfg, now, claim) for alert in alerts]
            except Refusal as e:  # an event the product cannot use: said in the log, the rest goes on
                log.warning("UptimeRobot event not ingested", monitor=monitor.id, reason=e.message[:200])
                continue
            changes += sum(o.status not in ("duplicate", "replayed", "ignored") for o in outcomes)
            due += [rid for o in outcomes for rid in o.notify]
        # stored once every event is in: a poll an error cuts short stores none, and the next one hands the same
        # events over again under the same claims, which changes nothing twice
        cursors[monitor.id] = max([last or 0] + [e.at for e in monitor.logs] + [e.at for e in events])
    store.finish_ok(SOURCE, now, cursors)
    return {"uptimerobot_monitors": len(found), "uptimerobot_changes": changes}, due


def _failed(now: datetime, error: str, retry_after: float | None) -> dict:
    log.warning("UptimeRobot poll failed", reason=error)
    try:
        store.finish_failed(SOURCE, now, error, now + max(EVERY, timedelta(seconds=retry_after or 0)))
    except Exception as e:  # Firestore down: the log line above is all there is
        log.error("UptimeRobot poll state not stored", error=type(e).__name__)
    return {"uptimerobot_poll_failed": 1}
