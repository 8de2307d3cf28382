"""UptimeRobot on the free plan: the sweep polls the API and turns monitors' down/up logs into the alerts a
webhook would have brought.

At most one poll a minute (the free plan allows 10 requests a minute; a poll is one request per 50 monitors),
and none before a 429's Retry-After. Each event (monitor, down or up, time) is claimed under the same name the
webhook path uses when polling is on (uptimerobot.delivery_id), so it changes the incident once whichever way
it arrives first. The newest event seen per monitor is remembered; the first poll takes only the current state
(a monitor down now opens one incident), never the history. A failed poll is logged and shown by
GET /ingest/health; it never fails the sweep.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from shared import incidents, log, uptimerobot_api
from shared.config import Config
from shared.errors import Refusal
from shared.ingestion import claim_for
from shared.notify import delivery
from shared.settings import Settings
from shared.sources import uptimerobot
from shared.store import status

STATE = "uptimerobot_poll"
EVERY = timedelta(minutes=1)
TIMEOUT = 8.0          # per request; a poll is one request per 50 monitors
DELIVERY_BUDGET = 5.0  # the pages of what a poll opened; the rest goes with the next sweep


def _fields(monitor: uptimerobot_api.Monitor, event: uptimerobot_api.Log) -> dict[str, object]:
    """The event as the webhook's fields (normalised names), so one builder makes both alerts."""
    up = event.type == uptimerobot_api.UP
    return {"monitorid": monitor.id, "monitorurl": monitor.url, "monitorfriendlyname": monitor.name,
            "alerttype": "2" if up else "1", "alertdetails": event.reason or ("OK" if up else "down"),
            "alertduration": str(event.duration) if up and event.duration else "",
            "alertdatetime": str(event.at)}


def _new_events(monitor: uptimerobot_api.Monitor, last: int | None, now: datetime) -> list[uptimerobot_api.Log]:
    events = sorted((e for e in monitor.logs if e.type in (uptimerobot_api.DOWN, uptimerobot_api.UP)),
                    key=lambda e: e.at)
    if last is not None:
        return [e for e in events if e.at > last]
    if monitor.status not in uptimerobot_api.DOWN_STATUSES:
        return []   # first sight of a monitor that is up: nothing to say
    latest = next((e for e in reversed(events) if e.type == uptimerobot_api.DOWN), None)
    return [latest or uptimerobot_api.Log(uptimerobot_api.DOWN, int(now.timestamp()))]


def poll(now: datetime, cfg: Config, settings: Settings) -> dict:
    """Poll once if due; return counts for the sweep's log ({} when polling is off or not due)."""
    if not settings.uptimerobot_api_key:
        return {}
    state = status.get_status(STATE) or {}
    if state.get("next_poll_at") and state["next_poll_at"] > now:
        return {}
    try:
        found = uptimerobot_api.monitors(settings, TIMEOUT)
    except uptimerobot_api.PollFailed as e:
        log.warning("UptimeRobot poll failed", reason=str(e))
        wait = max(EVERY, timedelta(seconds=e.retry_after or 0))
        status.set_status(STATE, {**state, "next_poll_at": now + wait, "last_error": str(e), "last_error_at": now,
                                  "failing_since": state.get("failing_since") or now})
        return {"uptimerobot_poll_failed": 1}
    seen = dict(state.get("seen") or {})
    changes, due = 0, []
    for monitor in found:
        last = seen.get(monitor.id)
        for event in _new_events(monitor, last, now):
            claim = claim_for(uptimerobot.NAME, uptimerobot.event_id(monitor.id, str(event.type), str(event.at)))
            for alert in uptimerobot.alerts_from(_fields(monitor, event)):
                try:
                    outcome = incidents.ingest(alert, cfg, now, claim)
                except Refusal as e:  # an event the product cannot use: said in the log, the rest goes on
                    log.warning("UptimeRobot event not ingested", monitor=monitor.id, reason=e.message[:200])
                    continue
                changes += outcome.status not in ("duplicate", "replayed", "ignored")
                due += list(outcome.notify)
        newest = max((e.at for e in monitor.logs), default=0)
        seen[monitor.id] = max(last or 0, newest, int(now.timestamp()) if last is None else 0)
    status.set_status(STATE, {"seen": seen, "last_ok_at": now, "next_poll_at": now + EVERY, "failing_since": None,
                              "last_error": state.get("last_error"), "last_error_at": state.get("last_error_at")})
    if due:
        delivery.deliver(due, cfg, settings, now, DELIVERY_BUDGET)
    return {"uptimerobot_monitors": len(found), "uptimerobot_changes": changes}
