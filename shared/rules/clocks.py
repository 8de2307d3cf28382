"""How long ago, how long left: ages and SLA clocks as the console shows them (pure)."""
from __future__ import annotations

from datetime import datetime, timedelta


def span(delta: timedelta) -> str:
    """Return a duration in the two largest units a person reads at a glance: 2d 3h, 1h 05m, 12m, <1m."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "<1m"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins:02d}m"
    return f"{mins}m"


def sla_clock(due: datetime | None, done_at: datetime | None, now: datetime) -> dict | None:
    """Return an SLA clock's state and words: running (time left), breached (how long ago), met or missed
    (once done); None when there is no clock."""
    if due is None:
        return None
    if done_at is not None:
        return {"state": "met", "text": "met"} if done_at <= due else \
            {"state": "missed", "text": f"missed by {span(done_at - due)}"}
    if now <= due:
        return {"state": "running", "text": f"{span(due - now)} left"}
    return {"state": "breached", "text": f"breached {span(now - due)} ago"}
