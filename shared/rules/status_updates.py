"""Public status updates as pure rules: what a person may write, how it reads in the team's external template,
and when the promised next update is overdue (`now` is a parameter; no I/O).

The team's external template:

    ## Status Update - petties-backend
    **Status:** 🔴 Investigating
    **Issue:** Some payments fail at checkout.
    **Impact:** About 1 in 10 payments fails; retrying usually works.
    **ETA:** within the hour
    **Updates:** We're working on this and will update every 30 minutes.

Statuses are Atlassian Statuspage's incident statuses (https://www.githubstatus.com/api); the component status a
person sets is one of its component statuses (under_maintenance comes from the team file's windows) and holds, as
on Statuspage, until a later update sets another or the incident is resolved: "operational" gives the service
back its normal state while the incident stays open.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from shared.errors import BadInput
from shared.rules.text import clean, quoted

STATUSES = ("investigating", "identified", "monitoring", "resolved")
# The template's 🔴 / 🟡 / 🟢; monitoring (a fix is out, being watched) sits between identified and resolved.
EMOJI = {"investigating": "🔴", "identified": "🟡", "monitoring": "🔵", "resolved": "🟢"}
COMPONENT_OVERRIDES = ("operational", "degraded_performance", "partial_outage", "major_outage")
FIELDS = ("id", "status", "title", "message", "impact", "eta", "next_update_minutes", "component_status", "by")
MAX_TITLE, MAX_MESSAGE, MAX_IMPACT, MAX_ETA = 200, 2000, 500, 100
EVERY_MIN, EVERY_MAX = 5, 1440
KEY = re.compile(r"[A-Za-z0-9_.:-]{1,100}")   # a client's idempotency key


def _text(body: dict, name: str, limit: int, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise BadInput(f"{name} is missing")
        return None
    if not isinstance(value, str):
        raise BadInput(f"{name}: expected text, got {type(value).__name__}")
    text = clean(value)
    if not text:
        raise BadInput(f"{name} is empty")
    if len(text) > limit:
        raise BadInput(f"{name}: at most {limit} characters, got {len(text)}")
    return text


def _choice(body: dict, name: str, allowed: tuple[str, ...], required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise BadInput(f"{name} is missing: use one of {', '.join(allowed)}")
        return None
    if value not in allowed:
        raise BadInput(f"{name}: expected one of {', '.join(allowed)}, got {quoted(value)}")
    return value


def idempotency_key(body: dict, header: str | None) -> str | None:
    """Return the client's key for this update (body "id" or the Idempotency-Key header), or None."""
    given = [k for k in (body.get("id"), header) if k not in (None, "")]
    for key in given:
        if not isinstance(key, str) or not KEY.fullmatch(key):
            raise BadInput(f"id: expected 1-100 letters, digits, '_', '.', ':' or '-', got {quoted(key)}")
    if len(set(given)) > 1:
        raise BadInput("id and the Idempotency-Key header differ; send one of them")
    return given[0] if given else None


def validate(body: dict, first: bool) -> dict:
    """Return the update's fields from a request body, or BadInput naming the first wrong field. `first`: the
    incident has no update yet, so the public title is required."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise BadInput(f"unknown field {quoted(unknown[0])}; the fields are {', '.join(FIELDS)}")
    status = _choice(body, "status", STATUSES, required=True)
    title = _text(body, "title", MAX_TITLE)
    if first and title is None:
        raise BadInput("title is missing: the first status update gives the incident its public title")
    every = body.get("next_update_minutes")
    if every is not None:
        if isinstance(every, bool) or not isinstance(every, int):
            raise BadInput(f"next_update_minutes: expected a whole number of minutes, got {quoted(every)}")
        if not EVERY_MIN <= every <= EVERY_MAX:
            raise BadInput(f"next_update_minutes: expected {EVERY_MIN} to {EVERY_MAX}, got {every}")
        if status == "resolved":
            raise BadInput("next_update_minutes: a resolved update promises no further update")
    return {"status": status, "title": title, "message": _text(body, "message", MAX_MESSAGE, required=True),
            "impact": _text(body, "impact", MAX_IMPACT), "eta": _text(body, "eta", MAX_ETA),
            "next_update_minutes": every, "component_status": _choice(body, "component_status", COMPONENT_OVERRIDES)}


def lines(update: dict, service: str) -> list[tuple[str, str]]:
    """Return the update as the template's (label, text) lines, heading first."""
    out = [("Status Update", service), ("Status", f"{EMOJI[update['status']]} {update['status'].capitalize()}"),
           ("Issue", update["message"])]
    if update.get("impact"):
        out.append(("Impact", update["impact"]))
    if update.get("eta"):
        out.append(("ETA", update["eta"]))
    if update["status"] != "resolved":
        every = update.get("next_update_minutes")
        out.append(("Updates", f"We're working on this and will update every {every} minutes." if every
                    else "We're working on this."))
    return out


def markdown(update: dict, service: str) -> str:
    """Return the update in the team's external template (Markdown, for people to paste elsewhere)."""
    heading, *rest = lines(update, service)
    return "\n\n".join([f"## {heading[0]} - {heading[1]}", *(f"**{k}:** {v}" for k, v in rest)])


def body(update: dict) -> str:
    """Return the update as plain text for Statuspage's `body` (the template's lines without the heading)."""
    return "\n".join(f"{k}: {v}" for k, v in lines(update, "")[1:])


def due_at(update: dict) -> datetime | None:
    """Return when the next update is owed (the promised interval after this one), or None."""
    every = update.get("next_update_minutes")
    return update["created_at"] + timedelta(minutes=every) if every and update["status"] != "resolved" else None


def overdue(due: datetime | None, incident_open: bool, latest_status: str | None, now: datetime) -> bool:
    """True when a promised update is late: its time has passed, the incident is open and not publicly resolved."""
    return due is not None and due <= now and incident_open and latest_status != "resolved"
