"""UptimeRobot webhook alert contact: JSON, form or query parameters, whatever names the template uses.

The POST value is a template the team writes; UptimeRobot substitutes `*variable*` placeholders as
strings and leaves some unsubstituted (e.g. `*alertFriendlyDuration*` on a down alert). Example:

    {"monitorID": "*monitorID*", "monitorURL": "*monitorURL*", "monitorFriendlyName": "*monitorFriendlyName*",
     "alertType": "*alertType*", "alertDetails": "*alertDetails*", "alertDuration": "*alertDuration*"}

Field names are matched ignoring case, '_' and '-' (monitorID, monitor_id and monitor-id are one).
alertType: 1 down, 2 up, 3 SSL expiry. Docs: https://help.uptimerobot.com (Webhook Integration).
"""
from __future__ import annotations

import re

from shared.config.settings import Settings, settings
from shared.errors import BadInput
from shared.model import Action, Alert
from shared.rules.text import quoted
from shared.sources.common import MAX_INTEGER, InboundRequest, check_token, integer, tags, text, timestamp

NAME = "uptimerobot"
AUTH = "?token=INGEST_TOKEN"
# a contact with no POST value calls the URL (its query string carrying the *variables*) with GET
METHODS = ("POST", "GET")

ALERT_TYPES = {"1": "down", "2": "up", "3": "ssl_expiry", "down": "down", "up": "up",
               "sslexpiry": "ssl_expiry", "ssl": "ssl_expiry", "sslexpiration": "ssl_expiry"}


def authenticate(req: InboundRequest, settings: Settings) -> None:
    check_token(req, settings.ingest_token)


def delivery_id(req: InboundRequest) -> str | None:
    """With polling on (UPTIMEROBOT_API_KEY), the event's identity (monitor, type, time), which the poll claims
    too, so one down or up changes the incident once whichever way it arrives first. Without polling, None: a
    repeated body counts as one more occurrence, as UptimeRobot gives no delivery id. alertDateTime is the
    instant UptimeRobot logs the event (the log's `datetime` the poll reads); without it there is no identity."""
    if not settings().uptimerobot_api_key:
        return None
    try:
        f = fields(req)
    except BadInput:
        return None
    return event_id(_first(f, "monitorid", "id"), _first(f, "alerttype"), _first(f, "alertdatetime"))


def event_id(monitor_id: str, alert_type: str, at: str) -> str | None:
    """Return the identity of one monitor event ('793527-1-1795788950'), or None when a part is missing."""
    parts = [monitor_id, ALERT_TYPES.get(_key(alert_type), ""), at]
    return "-".join(parts) if all(parts) and at.isdigit() else None


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def fields(req: InboundRequest) -> dict[str, object]:
    """Merge query, form and JSON fields (later wins) under normalised names."""
    merged: dict[str, object] = {_key(k): v for k, v in req.query.items() if k != "token"}
    body = req.body.strip()
    if body:
        if req.content_type == "application/json" or body[:1] == b"{":
            merged.update({_key(k): v for k, v in req.json_object().items()})
        elif req.content_type in ("application/x-www-form-urlencoded", "text/plain", "") and b"=" in body:
            merged.update({_key(k): v for k, v in req.form().items()})
        else:
            kind = quoted(req.content_type or "unknown")
            raise BadInput(f"cannot read a body of type {kind}: send JSON, form fields or query parameters")
    return merged


def _first(values: dict[str, object], *names: str) -> str:
    for name in names:
        value = text(values.get(name))
        if value:
            return value
    return ""


def parse(req: InboundRequest) -> list[Alert]:
    """Turn one UptimeRobot notification into a trigger (down, SSL) or a resolve (up)."""
    return alerts_from(fields(req))


def alerts_from(f: dict[str, object]) -> list[Alert]:
    """Build the alert of one UptimeRobot event from its fields (lower-case names without separators), as a
    webhook sends them or as the API poll (shared/reports/polling.py) reconstructs them from a monitor's log."""
    raw_type = _first(f, "alerttype")
    kind = ALERT_TYPES.get(_key(raw_type)) if raw_type else None
    if kind is None:
        friendly = _key(_first(f, "alerttypefriendlyname"))
        kind = ALERT_TYPES.get(friendly)
    if kind is None:
        shown = raw_type or _first(f, "alerttypefriendlyname")
        raise BadInput(f"alertType {quoted(shown)} is not one of 1 (down), 2 (up), 3 (SSL expiry)" if shown
                       else "alertType is missing (expected 1 down, 2 up or 3 SSL expiry)")
    monitor_id = _first(f, "monitorid", "id")
    url = _first(f, "monitorurl", "url")
    name = _first(f, "monitorfriendlyname", "friendlyname", "monitorname", "name")
    ident = monitor_id or url or name
    if not ident:
        raise BadInput("the alert does not say which monitor: send monitorID (or monitorURL / monitorFriendlyName)")
    details = _first(f, "alertdetails", "details")
    duration = integer(_first(f, "alertduration", "duration"), "alertDuration")
    friendly_duration = _first(f, "alertfriendlyduration")
    key = f"uptimerobot:{ident}" + (":ssl" if kind == "ssl_expiry" else "")
    label = name or url or f"monitor {monitor_id}"
    extra: dict[str, object] = {}
    if kind == "up" and duration is not None:
        extra["downtime_seconds"] = duration
    if kind == "ssl_expiry":
        days = integer(_first(f, "sslexpirydaysleft"), "sslExpiryDaysLeft", minimum=-MAX_INTEGER)
        if days is not None:
            extra["ssl_days_left"] = days
    if kind == "up":
        down_for = friendly_duration or (f"{duration} s" if duration else "")
        detail = "monitor is up" + (f" after {down_for} down" if down_for else "")
    else:
        detail = details
    title = {"down": f"{label} is down", "up": f"{label} is up",
             "ssl_expiry": f"SSL certificate of {label} expires soon"}[kind]
    return [Alert(
        source=NAME, action=Action.RESOLVE if kind == "up" else Action.TRIGGER, dedup_key=key,
        title=title + (f": {details}" if details and kind == "down" else ""),
        message=details or title, level=kind if kind != "up" else "down", level_table="uptimerobot",
        project=name or url, location=url,   # an unmapped monitor is shown by the name the team gave it
        links={"monitor": f"https://dashboard.uptimerobot.com/monitors/{monitor_id}"} if monitor_id.isdigit() else {},
        occurred_at=timestamp(_first(f, "alertdatetime")),
        tags=tags({k: v for k, v in (("monitor_id", monitor_id), ("monitor_name", name)) if v}),
        actor="UptimeRobot", detail=detail, extra=extra,
    )]


