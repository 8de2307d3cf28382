"""Postmortems: a draft for every incident that needs one, made by the sweep once it resolves; read and edited
through the API. (Reminders, action items and the GitHub issue come next.)"""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.config import Config
from shared.errors import BadInput, NotFound
from shared.rules import postmortem
from shared.store import postmortems as store
from shared.store.incidents import get_incident

LOOKBACK = timedelta(hours=6)   # a sweep makes drafts for incidents resolved this recently (missed runs too)
EDITABLE = ("summary", "root_cause", "resolution", "prevention", "went_well", "went_wrong", "lucky", "author")


def sweep(now: datetime, cfg: Config) -> int:
    """Make the drafts of recently resolved incidents that need one; return how many were made."""
    made = 0
    for incident in store.resolved_since(now - LOOKBACK, 200):
        if postmortem.reasons(incident) and store.get(incident.id) is None:
            made += store.create(incident.id, {**postmortem.draft(incident, cfg), "created_at": now,
                                               "reviewed_at": None, "updated_at": now})
    return made


def get(incident_id: str) -> dict:
    found = store.get(incident_id)
    if found is None:
        incident = get_incident(incident_id)
        if incident is None:
            raise NotFound(f"no incident {incident_id[:40]!r}")
        raise NotFound(f"{incident.id} has no postmortem" + (
            "" if postmortem.reasons(incident) else " (it meets none of the criteria)"))
    return found


def edit(incident_id: str, body: dict, now: datetime) -> dict:
    """PUT /api/postmortems/<id>: replace sections (text, or lists of lines for the lessons)."""
    current = get(incident_id)
    unknown = sorted(set(body) - set(EDITABLE))
    if unknown:
        raise BadInput(f"cannot edit {', '.join(unknown)[:80]}; editable: {', '.join(EDITABLE)}")
    fields = {}
    for key, value in body.items():
        if key in ("went_well", "went_wrong", "lucky"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BadInput(f"{key}: expected a list of lines")
            fields[key] = [v[:500] for v in value][:30]
        elif not isinstance(value, str) or not value.strip():
            raise BadInput(f"{key}: expected text")
        else:
            fields[key] = value.strip()[:5000]
    store.update(incident_id, {**fields, "updated_at": now})
    return {**current, **fields}


def add_action_item(incident_id: str, body: dict, now: datetime, cfg: Config) -> dict:
    """POST /api/postmortems/<id>/action-items {"action", "owner", "deadline"}: an item with an owner and a
    deadline (both required: an item nobody owns is not followed through)."""
    from shared.actions import person
    current = get(incident_id)
    action = str(body.get("action") or "").strip()[:500]
    if not action:
        raise BadInput("action: expected what is to be done")
    owner = person(body.get("owner"), cfg)
    deadline = _day(body.get("deadline"))
    items = list(current.get("action_items") or [])
    if len(items) >= 50:
        raise BadInput("a postmortem holds at most 50 action items")
    items.append({"n": len(items) + 1, "action": action, "owner": owner, "deadline": deadline, "done": False,
                  "done_at": None})
    store.update(incident_id, {"action_items": items, "updated_at": now})
    return {**current, "action_items": items}


def change_action_item(incident_id: str, n: int, body: dict, now: datetime, cfg: Config) -> dict:
    """PATCH /api/postmortems/<id>/action-items/<n> {"done"?, "owner"?, "deadline"?}."""
    from shared.actions import person
    current = get(incident_id)
    items = list(current.get("action_items") or [])
    if not 1 <= n <= len(items):
        raise NotFound(f"no action item {n} (there are {len(items)})")
    item = dict(items[n - 1])
    if "done" in body:
        if not isinstance(body["done"], bool):
            raise BadInput("done: expected true or false")
        item["done"], item["done_at"] = body["done"], now if body["done"] else None
    if "owner" in body:
        item["owner"] = person(body["owner"], cfg)
    if "deadline" in body:
        item["deadline"] = _day(body["deadline"])
    items[n - 1] = item
    store.update(incident_id, {"action_items": items, "updated_at": now})
    return {**current, "action_items": items}


def reviewed(incident_id: str, body: dict, now: datetime, cfg: Config) -> dict:
    """POST /api/postmortems/<id>/reviewed {"actor"}: the review happened (reminders stop)."""
    from shared.actions import person
    current = get(incident_id)
    who = person(body.get("actor"), cfg)
    store.update(incident_id, {"reviewed_at": now, "reviewed_by": who, "updated_at": now})
    return {**current, "reviewed_at": now, "reviewed_by": who}


def _day(value: object) -> str:
    from datetime import date
    try:
        day = date.fromisoformat(str(value or ""))
    except ValueError:
        raise BadInput(f"deadline: expected YYYY-MM-DD, got {str(value)[:40]!r}") from None
    if not 2000 <= day.year <= 2099:
        raise BadInput("deadline: expected a day from 2000 to 2099")
    return day.isoformat()
