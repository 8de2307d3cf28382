"""Listing incidents a page at a time with filters (GET /api/incidents and the console's list).

Filters: status (open, acknowledged, resolved, ignored, or active = open + acknowledged; comma-separated),
severity, service, environment, from/to (a local day YYYY-MM-DD, to inclusive, or an ISO-8601 time). A page
ends with `next`, an opaque cursor for the following page (None on the last). Refusals are shared.errors.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from shared.config import Config
from shared.errors import BadInput
from shared.model import MAX_NAME, Incident, Severity, Status
from shared.rules import ids, paging
from shared.rules.calendar import given_time
from shared.rules.text import quoted
from shared.store import incidents as store
from shared.store import outbox

STATUS_GROUPS = {"active": [Status.OPEN.value, Status.ACKNOWLEDGED.value]}
MAX_LIMIT = 500


def statuses(text: str | None) -> tuple[str, ...]:
    """Return the stored statuses a status filter names (none: any)."""
    names: list[str] = []
    for name in filter(None, (s.strip().lower() for s in (text or "").split(","))):
        if name in STATUS_GROUPS:
            names += STATUS_GROUPS[name]
        elif name in {s.value for s in Status}:
            names.append(name)
        else:
            raise BadInput(f"unknown status {quoted(name)}; use open, acknowledged, resolved, ignored or active")
    return tuple(sorted(set(names)))


def _moment(text: str, name: str, cfg: Config, end: bool) -> datetime:
    """A local day (the end of a `to` day is the next midnight) or an ISO-8601 time."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return given_time(text, name, cfg.team.zone)
    if end:
        day += timedelta(days=1)
    return given_time(datetime.combine(day, time(), tzinfo=cfg.team.zone).isoformat(), name, cfg.team.zone)


def filters(args: Mapping[str, str], cfg: Config) -> store.Filters:
    """Return the filters a query string asks for; BadInput names what is wrong."""
    def given(name: str) -> str | None:
        value = (args.get(name) or "").strip()
        return value or None

    severity = given("severity")
    try:
        rank = int(Severity.parse(severity)) if severity else None
    except ValueError as e:
        raise BadInput(str(e)) from None
    service, environment = given("service"), given("environment")
    for name, value in (("service", service), ("environment", environment)):
        if value and len(value) > MAX_NAME:  # any name: a source's own project or environment is kept as it is
            raise BadInput(f"{name} is longer than {MAX_NAME} characters")
    since = _moment(given("from"), "from", cfg, end=False) if given("from") else None
    until = _moment(given("to"), "to", cfg, end=True) if given("to") else None
    if since and until and until <= since:
        raise BadInput("to must be after from")
    return store.Filters(statuses(args.get("status")), service, environment, rank, since, until)


def cursor_of(incident: Incident) -> str:
    """Return the opaque cursor of the page that follows `incident`."""
    return paging.cursor(incident.created_at, incident.id)


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    return paging.after(cursor, ids.is_valid)


def notifications(incident_id: str) -> list[dict]:
    """Return the incident's outbox records: each notification, its channel and how its delivery went."""
    return outbox.for_incident(incident_id)


def active(limit: int) -> list[Incident]:
    """Return the open and acknowledged incidents, newest first (autocomplete, /incident list)."""
    return store.list_incidents(["open", "acknowledged"], limit)


def page(args: Mapping[str, str], cfg: Config, default_limit: int = 100) -> tuple[list[Incident], str | None]:
    """Return one page of incidents matching the query string's filters, newest first, and the next cursor."""
    limit = args.get("limit")
    try:
        count = int(limit) if limit else default_limit
    except ValueError:
        raise BadInput(f"limit must be a whole number, got {quoted(limit)}") from None
    if not 1 <= count <= MAX_LIMIT:
        raise BadInput(f"limit must be between 1 and {MAX_LIMIT}")
    wanted = filters(args, cfg)
    incidents, more = store.list_page(wanted, count, _after(args.get("cursor")))
    return incidents, cursor_of(incidents[-1]) if more and incidents else None
