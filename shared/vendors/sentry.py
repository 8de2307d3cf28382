"""Sentry's usage stats for the daily summary: accepted errors and transactions in a time window.

Docs: https://docs.sentry.io/api/organizations/retrieve-event-counts-for-an-organization-v2/
GET /api/0/organizations/{org}/stats_v2/?field=sum(quantity)&groupBy=category&category=error
    &category=transaction&outcome=accepted&start=...&end=...&interval=1d      (Authorization: Bearer <token>)
The answer has one group per category with `totals: {"sum(quantity)": n}`. Counts are for the whole
organization (grouping by project would give one sum per project, not a series).
"""
from __future__ import annotations

from datetime import datetime, timezone

from shared.clock import clock
from shared.config.settings import Settings
from shared.lazy import httpx

TIMEOUT = 10.0
MAX_RETRY_AFTER = 5.0   # a 429 asking for longer is reported, not waited for


class StatsUnavailable(Exception):
    """Sentry could not tell (not configured, refused, rate limited, unreadable); the message says why."""


def counts(settings: Settings, organization: str, start: datetime, end: datetime) -> dict[str, int]:
    """Return {"error": n, "transaction": n} accepted in [start, end), or raise StatsUnavailable."""
    if not settings.sentry_api_token or not organization:
        raise StatsUnavailable("no source configured")
    url = f"{settings.sentry_api_url}/api/0/organizations/{organization}/stats_v2/"
    params = [("field", "sum(quantity)"), ("groupBy", "category"), ("category", "error"),
              ("category", "transaction"), ("outcome", "accepted"), ("interval", "1d"),
              ("start", _utc(start)), ("end", _utc(end))]
    headers = {"Authorization": f"Bearer {settings.sentry_api_token.reveal()}"}
    for attempt in range(2):
        try:
            response = httpx.get(url, params=params, headers=headers, timeout=TIMEOUT)
        except httpx.HTTPError as e:
            raise StatsUnavailable(f"Sentry could not be reached ({type(e).__name__})") from None
        if response.status_code == 429 and attempt == 0:
            wait = _seconds(response.headers.get("Retry-After"))
            if wait is not None and wait <= MAX_RETRY_AFTER:
                clock().sleep(wait)
                continue
        break
    if response.status_code != 200:
        raise StatsUnavailable(f"Sentry answered {response.status_code}")
    try:
        groups = response.json().get("groups") or []
        totals = {str(g["by"]["category"]): int(g["totals"]["sum(quantity)"]) for g in groups}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise StatsUnavailable("Sentry's answer could not be read") from None
    return {"error": totals.get("error", 0), "transaction": totals.get("transaction", 0)}


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None
