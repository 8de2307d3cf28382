"""UptimeRobot's API v2 (getMonitors), for teams on the free plan, where webhook alert contacts do not exist.

Docs: https://uptimerobot.com/api/ (v2, "legacy"). POST /v2/getMonitors, form-encoded api_key, format=json,
logs=1, offset/limit (at most 50 a page). Errors come as HTTP 200 with {"stat": "fail", "error": {...}}; over
the plan's rate (free: 10 requests a minute) it answers 429 with Retry-After. Monitor status: 0 paused,
1 not checked yet, 2 up, 8 seems down, 9 down; log type: 1 down, 2 up, 98 started, 99 paused. A log's `duration` is
how long the state it starts lasted (so far, for the newest): a down log's duration is the downtime, an up log's the
time up since.
This module is the only one that knows the v2 shape; a v3 client can replace it behind `monitors()`.
"""
from __future__ import annotations

from dataclasses import field

from shared.channels.base import request
from shared.clock import clock
from shared.config.frozen import frozen
from shared.config.settings import Settings
from shared.lazy import httpx

CHANNEL = "uptimerobot"  # its own keep-alive client, so a cut-off poll never cuts a notification short
PAGE = 50               # "Default and max. is 50" (limit)
MAX_PAGES = 20          # 1,000 monitors in one poll at most (the free plan has 50)
LOGS_LIMIT = 10         # the newest logs of each monitor; more than a minute's changes
REQUEST_TIMEOUT = 8.0   # one page, connect to last byte
DOWN, UP = 1, 2
DOWN_STATUSES = (8, 9)


class PollFailed(Exception):
    """UptimeRobot did not answer usefully; the message says why (never the key)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@frozen
class Log:
    type: int
    at: int               # unix seconds
    duration: int = 0
    reason: str = ""


@frozen
class Monitor:
    id: str
    name: str
    url: str
    status: int
    logs: tuple[Log, ...] = field(default_factory=tuple)


def _int(value: object, default: int = 0) -> int:
    try:
        return int(float(str(value)))
    except (TypeError, ValueError):
        return default


def _log(item: dict) -> Log:
    reason = item.get("reason")
    if isinstance(reason, dict):
        reason = " ".join(str(reason.get(k) or "") for k in ("code", "detail")).strip()
    return Log(_int(item.get("type")), _int(item.get("datetime")), _int(item.get("duration")), str(reason or ""))


def downtime(logs: tuple[Log, ...], up: Log) -> int | None:
    """Return how long the monitor was down before the up log `up`, in seconds: the duration of the down log before
    it, at most the time between the two logs (the time between them when it has none); None when no down log
    precedes it (the logs read no further back)."""
    down = max((e for e in logs if e.type == DOWN and e.at <= up.at), key=lambda e: e.at, default=None)
    if down is None:
        return None
    between = up.at - down.at
    return min(down.duration, between) if down.duration > 0 else between


def monitors(settings: Settings, budget: float) -> list[Monitor]:
    """Return every monitor with its recent logs (one request a page), all within `budget` seconds, or raise
    PollFailed."""
    out: list[Monitor] = []
    timer = clock()
    deadline = timer.monotonic() + budget
    for page in range(MAX_PAGES):
        remaining = deadline - timer.monotonic()
        if remaining <= 0:
            raise PollFailed(f"UptimeRobot did not answer every page within {budget:g} s")
        body = _page(settings, page * PAGE, min(REQUEST_TIMEOUT, remaining))
        for m in body.get("monitors") or []:
            if isinstance(m, dict) and m.get("id") is not None:
                logs = tuple(_log(i) for i in m.get("logs") or [] if isinstance(i, dict))
                out.append(Monitor(str(m["id"]), str(m.get("friendly_name") or ""), str(m.get("url") or ""),
                                   _int(m.get("status")), logs))
        pagination = body.get("pagination") if isinstance(body.get("pagination"), dict) else {}
        if not body.get("monitors") or (page + 1) * PAGE >= _int(pagination.get("total"), 0):
            break
    return out


def _page(settings: Settings, offset: int, deadline: float) -> dict:
    """POST one getMonitors page; return its body when "stat" is "ok", else raise PollFailed."""
    form = {"api_key": settings.uptimerobot_api_key.reveal(), "format": "json", "logs": "1",
            "logs_limit": str(LOGS_LIMIT), "offset": str(offset), "limit": str(PAGE)}
    try:  # a total deadline (connect to last byte): httpx's own timeouts are per read
        response = request(CHANNEL, "POST", f"{settings.uptimerobot_api_url}/getMonitors", deadline, data=form)
    except (httpx.HTTPError, RuntimeError) as e:  # RuntimeError: the client was closed at the deadline
        raise PollFailed(f"UptimeRobot could not be reached ({type(e).__name__})") from None
    if response.status_code == 429:
        wait = _int(response.headers.get("Retry-After"), 60)
        raise PollFailed(f"UptimeRobot rate limit (429), retry after {wait} s", retry_after=wait)
    if response.status_code != 200:
        raise PollFailed(f"UptimeRobot answered {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise PollFailed("UptimeRobot's answer is not JSON") from None
    if not isinstance(body, dict) or body.get("stat") != "ok":
        error = body.get("error") if isinstance(body, dict) else None
        detail = (error.get("message") or error.get("type")) if isinstance(error, dict) else "stat: fail"
        raise PollFailed(f"UptimeRobot refused: {str(detail)[:200]}")
    return body
