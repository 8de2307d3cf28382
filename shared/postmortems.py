"""Postmortems: a draft for every incident that needs one, made by the sweep once it resolves; read and edited
through the API. (Reminders, action items and the GitHub issue come next.)"""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.channels import REGISTRY
from shared.config import Config
from shared.errors import BadInput, NotFound
from shared.notify import plan, render
from shared.rules import postmortem, routing
from shared.store import outbox
from shared.store import postmortems as store
from shared.store.incidents import get_incident

LOOKBACK = timedelta(hours=6)   # a sweep makes drafts for incidents resolved this recently (missed runs too)
EDITABLE = ("summary", "root_cause", "resolution", "prevention", "went_well", "went_wrong", "lucky", "author")


REMINDERS = (24, 44)   # hours after resolution: the owner and the lead are reminded of an unreviewed postmortem


def _chat(environment: str, cfg: Config) -> str | None:
    return next((c for c in routing.follow_up_channels(environment, cfg) if REGISTRY[c].chat), None)


def _mentions(pids: list[str], cfg: Config) -> tuple[str, list[str]]:
    people = render.people(tuple(p for p in dict.fromkeys(pids) if p in {x.id for x in cfg.people}), cfg)
    return people.shown, list(people.discord_ids)


def sweep(now: datetime, cfg: Config) -> int:
    """Make the drafts of recently resolved incidents that need one (each announced once in the chat channel),
    and remind the owner and the lead of unreviewed ones 24 h and 44 h after resolution; return drafts made."""
    made = 0
    for incident in store.resolved_since(now - LOOKBACK, 200):
        if not postmortem.reasons(incident) or store.get(incident.id) is not None:
            continue
        draft = postmortem.draft(incident, cfg)
        doc = {**draft, "created_at": now, "resolved_at": incident.resolved_at, "environment": incident.environment,
               "owner": postmortem.owner(incident, cfg), "reviewed_at": None, "updated_at": now}
        if not store.create(incident.id, doc):
            continue
        made += 1
        chat = _chat(incident.environment, cfg)
        if chat:
            shown, pings = _mentions([doc["owner"] or "", cfg.team_lead], cfg)
            text = (f"📝 Postmortem needed for {incident.id} ({', '.join(draft['reasons'])}): the draft is at "
                    f"/api/postmortems/{incident.id}.md; review by {draft['review_by']}. {shown}")
            outbox.enqueue([plan.text_record(outbox.record_id(incident.id, "postmortem-draft", chat),
                                             "postmortem-draft", chat, text, now, incident_id=incident.id,
                                             pings=pings)])
    for pm in store.unreviewed(100):
        chat = _chat(pm.get("environment") or cfg.default_environment, cfg)
        resolved = pm.get("resolved_at")
        for hours in REMINDERS:
            due = chat and resolved and now >= resolved + timedelta(hours=hours)
            if due and hours not in (pm.get("reminded") or []):
                shown, pings = _mentions([pm.get("owner") or "", cfg.team_lead], cfg)
                reason = f"postmortem-{hours}h"
                text = (f"⏰ The postmortem of {pm['incident']} is not reviewed yet ({hours} h since it was resolved; "
                        f"review by {pm['review_by']}). {shown}")
                outbox.enqueue([plan.text_record(outbox.record_id(pm["incident"], reason, chat), reason, chat, text,
                                                 now, incident_id=pm["incident"], pings=pings)])
                store.update(pm["incident"], {"reminded": sorted({*(pm.get("reminded") or []), hours})})
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
