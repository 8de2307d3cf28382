"""Postmortems: a draft for every incident that needs one, made by the sweep once it resolves (announced in the
incident's thread, with a GitHub issue where the team files issues); read and edited through the API and Discord;
reminders while unreviewed and a daily ping for each overdue action item.

Every change to a postmortem bumps its `version` and, in the same commit, adds an outbox record that brings its
issue up to date (shared/notify/postmortem_kinds.py renders the postmortem as it is when that record is delivered):
postmortem_sync-<version> for a change to its sections, postmortem_sync-item<n>.<revision> for one to an action
item (each item is a document of its own, so changes to different items never collide: shared/store/postmortems.py).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from shared import oncall
from shared.channels import POSTMORTEM, POSTMORTEM_ISSUE, POSTMORTEM_SYNC, render
from shared.config import Config
from shared.config.channels import CAPABILITIES
from shared.errors import BadInput, NotFound
from shared.notify import plan
from shared.rules import postmortem, routing
from shared.store import outbox
from shared.store import postmortems as store
from shared.store.client import claim_once, is_claimed
from shared.store.incidents import get_incident, whole_timeline

LOOKBACK = timedelta(hours=6)   # a sweep makes drafts for incidents resolved (or flagged) this recently
EDITABLE = ("summary", "root_cause", "resolution", "prevention", "went_well", "went_wrong", "lucky", "author")
REMINDERS = (24, 44)   # hours after resolution: the owner and the lead are reminded of an unreviewed postmortem
ITEMS_MAX = 50
CONSOLE_PAGE = "/console/postmortems/"   # the console's postmortem page (shared/web/console/routes.py)


def _chat(environment: str, cfg: Config) -> str | None:
    return next((c for c in routing.follow_up_channels(environment, cfg) if CAPABILITIES[c].chat), None)


def _tracker(environment: str, cfg: Config) -> str | None:
    """The issue tracker the team's routes use for this environment (GitHub), if any."""
    return next((c for c in routing.follow_up_channels(environment, cfg)
                 if POSTMORTEM_ISSUE in CAPABILITIES[c].carries), None)


def _mentions(pids: list[str], cfg: Config) -> tuple[str, list[str]]:
    people = render.people(tuple(p for p in dict.fromkeys(pids) if p in {x.id for x in cfg.people}), cfg)
    return people.shown, list(people.discord_ids)


def _notice(incident_id: str, reason: str, chat: str, text: str, now: datetime, pings: list[str]) -> dict:
    """A notice in the incident's thread (else its chat channel): its reason starts with `postmortem-`."""
    return plan.text_record(outbox.record_id(incident_id, reason, chat), reason, chat, text, now,
                            incident_id=incident_id, pings=pings, kind=POSTMORTEM)


def _issue_record(incident_id: str, tracker: str, now: datetime, reason: str = "postmortem_issue") -> dict:
    """The postmortem's issue (reason postmortem_issue), or bringing it up to date after a change
    (postmortem_sync-<the change>)."""
    kind = POSTMORTEM_ISSUE if reason == "postmortem_issue" else POSTMORTEM_SYNC
    record = plan.text_record(outbox.record_id(incident_id, reason, tracker), reason, tracker, "", now,
                              incident_id=incident_id, kind=kind)
    return {**record, "template": reason.split("-")[0]}


def _sync_records(incident_id: str, stored: dict, change: str, now: datetime, cfg: Config) -> list[dict]:
    """The record that brings the postmortem's issue up to date after `change`, where the team files issues."""
    tracker = _tracker(_environment(stored, cfg), cfg)
    return [_issue_record(incident_id, tracker, now, f"postmortem_sync-{change}")] if tracker else []


def _environment(pm: dict, cfg: Config) -> str:
    return pm.get("environment") or cfg.default_environment


def page(incident_id: str, public_url: str) -> str:
    """The postmortem's page in the console: under PUBLIC_URL, else its path (the functions' address unknown)."""
    return f"{public_url.rstrip('/')}{CONSOLE_PAGE}{incident_id}"


# ---------------------------------------------------------------- the sweep (every minute)

def sweep(now: datetime, cfg: Config, public_url: str = "") -> int:
    """Make the drafts of recently resolved incidents that need one (announced with a link to the console's page
    under `public_url`), remind the owner and the lead of unreviewed ones 24 h and 44 h after resolution, ping
    overdue action items once a day; return drafts made."""
    made = 0
    candidates = {i.id: i for i in store.resolved_since(now - LOOKBACK, 200) + store.flagged_since(now - LOOKBACK, 50)}
    for incident in candidates.values():
        if incident.is_resolved and postmortem.reasons(incident) and store.get(incident.id) is None:
            made += _draft(incident, now, cfg, public_url)
    for pm in store.unreviewed(100):
        _remind(pm, now, cfg)
    _ping_overdue(now, cfg)
    return made


def _draft(incident, now: datetime, cfg: Config, public_url: str) -> bool:
    """Store the draft with its announcement and its issue, in one commit; False when it existed already."""
    on_call = oncall.at(incident.resolved_at, cfg).primary   # owns it when nobody took the incident
    draft = postmortem.draft(replace(incident, timeline=tuple(whole_timeline(incident))), cfg, on_call)
    deadline = postmortem.review_deadline(incident.resolved_at)
    doc = {**draft, "created_at": now, "resolved_at": incident.resolved_at, "environment": incident.environment,
           "owner": postmortem.owner(incident, cfg, on_call), "reviewed_at": None, "updated_at": now, "version": 1,
           "next_deadline": None, "github_issue": None,
           # flagged long after it was resolved: reminders already past are not sent all at once
           "reminded": [h for h in REMINDERS if now >= incident.resolved_at + timedelta(hours=h)]}
    records = []
    tracker = _tracker(incident.environment, cfg)
    if tracker:
        records.append(_issue_record(incident.id, tracker, now))
    chat = _chat(incident.environment, cfg)
    if chat:
        shown, pings = _mentions([doc["owner"] or "", cfg.team_lead], cfg)
        issue = ", and as a GitHub issue" if tracker else ""
        text = (f"📝 Postmortem needed for {incident.id} ({', '.join(draft['reasons'])}): "
                f"{render.discord_text(incident.title[:200])}; review by {render.local_time(deadline, cfg)} (48 h "
                f"after it was resolved). The draft is at {page(incident.id, public_url)}{issue}. {shown}")
        records.append(_notice(incident.id, "postmortem-draft", chat, text, now, pings))
    return store.create(incident.id, doc, records)


def _remind(pm: dict, now: datetime, cfg: Config) -> None:
    chat = _chat(_environment(pm, cfg), cfg)
    resolved = pm.get("resolved_at")
    due = [h for h in REMINDERS if resolved and now >= resolved + timedelta(hours=h)
           and h not in (pm.get("reminded") or [])]
    if not chat or not due:
        return
    hours = due[-1]   # after missed runs, only the latest reminder
    shown, pings = _mentions([pm.get("owner") or "", cfg.team_lead], cfg)
    deadline = render.local_time(postmortem.review_deadline(resolved), cfg)
    text = (f"⏰ The postmortem of {pm['incident']} is not reviewed yet ({hours} h since it was resolved; review by "
            f"{deadline}). {shown}")
    store.update(pm["incident"], {"reminded": sorted({*(pm.get("reminded") or []), *due})},
                 [_notice(pm["incident"], f"postmortem-{hours}h", chat, text, now, pings)])


def _ping_overdue(now: datetime, cfg: Config) -> int:
    """Once per local day, from the daily report's time on: ping each overdue action item's owner."""
    local = now.astimezone(cfg.team.zone)
    day = local.date()
    key = f"postmortem-overdue-{day.isoformat()}"
    if local.strftime("%H:%M") < cfg.daily_summary.time or is_claimed(key):
        return 0
    records = []
    for pm in store.with_overdue_items(day.isoformat(), 200):
        chat = _chat(_environment(pm, cfg), cfg)
        for item in postmortem.overdue(pm.get("action_items") or [], day) if chat else []:
            shown, pings = _mentions([item["owner"]], cfg)
            text = (f"⏳ Overdue postmortem action item {item['n']} of {pm['incident']}: "
                    f"{render.discord_text(item['action'][:300])} (due {item['deadline']}). {shown} When it is done: "
                    f"`/postmortem done incident:{pm['incident']} item:{item['n']}`")
            records.append(_notice(pm["incident"], f"postmortem-overdue-{item['n']}-{day.isoformat()}", chat, text,
                                   now, pings))
    pinged = sum(outbox.enqueue(records))   # ids name the item and the day: a repeated run adds nothing
    claim_once(key, now)
    return pinged


# ---------------------------------------------------------------- what people do (the API and Discord)

def _view(pm: dict) -> dict:
    """The postmortem as the API shows it: with the earliest deadline of its open action items."""
    return {**pm, "next_deadline": postmortem.next_deadline(pm.get("action_items") or [])}


def get(incident_id: str) -> dict:
    found = store.get(incident_id)
    if found is None:
        incident = get_incident(incident_id)
        if incident is None:
            raise NotFound(f"no incident {incident_id[:40]!r}")
        raise NotFound(f"{incident.id} has no postmortem" + (
            "" if postmortem.reasons(incident) else " (it meets none of the criteria)"))
    return _view(found)


def markdown(incident_id: str, cfg: Config) -> str:
    """The incident's postmortem as the team's Markdown template."""
    return render.postmortem_markdown(get(incident_id), cfg)


def find(incident_id: str) -> dict | None:
    """Return the incident's stored postmortem, or None while it has none."""
    found = store.get(incident_id)
    return None if found is None else _view(found)


def _changed(incident_id: str, changed: dict | None, due: list[str]) -> tuple[dict, list[str]]:
    """The postmortem as changed and the ids of the records to deliver now; NotFound saying why there is none."""
    if changed is None:
        get(incident_id)   # says why there is none
    return (None if changed is None else _view(changed)), due


def _change(incident_id: str, fields: dict, now: datetime, cfg: Config) -> tuple[dict, list[str]]:
    """Set the postmortem's own fields as a new version, with the record that brings its issue up to date."""
    due: list[str] = []

    def run(stored: dict):
        version = int(stored.get("version") or 1) + 1
        records = _sync_records(incident_id, stored, str(version), now, cfg)
        due[:] = [r["id"] for r in records]
        return {**fields, "version": version, "updated_at": now}, records

    return _changed(incident_id, store.change(incident_id, run), due)


def edit(incident_id: str, body: dict, now: datetime, cfg: Config) -> tuple[dict, list[str]]:
    """PUT /api/postmortems/<id>: replace sections (text, or lists of lines for the lessons); `actor`, when given,
    is recorded as who changed it last (updated_by)."""
    body = dict(body)
    actor = body.pop("actor", None)
    unknown = sorted(set(body) - set(EDITABLE))
    if unknown:
        raise BadInput(f"cannot edit {', '.join(unknown)[:80]}; editable: {', '.join(EDITABLE)}")
    fields = {"updated_by": cfg.person_id(actor)} if actor else {}
    for key, value in body.items():
        if key in ("went_well", "went_wrong", "lucky"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BadInput(f"{key}: expected a list of lines")
            fields[key] = [v[:500] for v in value][:30]
        elif not isinstance(value, str) or not value.strip():
            raise BadInput(f"{key}: expected text")
        else:
            fields[key] = value.strip()[:5000]
    return _change(incident_id, fields, now, cfg)


def add_action_item(incident_id: str, body: dict, now: datetime, cfg: Config) -> tuple[dict, dict, list[str]]:
    """POST /api/postmortems/<id>/action-items {"action", "owner", "deadline"}: an item with an owner and a
    deadline (both required: an item nobody owns is not followed through), numbered after the last one; return
    the item, the postmortem as changed and the ids of the records to deliver now."""
    action = " ".join(str(body.get("action") or "").split())[:500]
    if not action:
        raise BadInput("action: expected what is to be done")
    owner = cfg.person_id(body.get("owner"))
    deadline = _day(body.get("deadline"))
    by = {"created_by": cfg.person_id(body["actor"])} if body.get("actor") else {}
    due: list[str] = []

    def write(stored: dict, n: int) -> tuple[dict, list[dict]]:
        if n > ITEMS_MAX:
            raise BadInput(f"a postmortem holds at most {ITEMS_MAX} action items")
        records = _sync_records(incident_id, stored, f"item{n}.1", now, cfg)
        due[:] = [r["id"] for r in records]
        return {"n": n, "action": action, "owner": owner, "deadline": deadline, "done": False,
                "done_at": None, "created_at": now, **by}, records

    added = store.add_item(incident_id, now, write)
    item, changed = added if added else (None, None)
    return item, *_changed(incident_id, changed, due)


def change_action_item(incident_id: str, n: int, body: dict, now: datetime, cfg: Config) -> tuple[dict, list[str]]:
    """PATCH /api/postmortems/<id>/action-items/<n> {"done"?, "owner"?, "deadline"?, "actor"?}: `actor`, when
    given, is recorded as who changed it (changed_by) and who ticked it (done_by)."""
    changes = {}
    who = cfg.person_id(body["actor"]) if body.get("actor") else None
    if who:
        changes["changed_by"] = who
    if "done" in body:
        if not isinstance(body["done"], bool):
            raise BadInput("done: expected true or false")
        changes["done"], changes["done_at"] = body["done"], now if body["done"] else None
        if who:
            changes["done_by"] = who if body["done"] else None
    if "owner" in body:
        changes["owner"] = cfg.person_id(body["owner"])
    if "deadline" in body:
        changes["deadline"] = _day(body["deadline"])

    due: list[str] = []

    def write(stored: dict, item: dict | None) -> tuple[dict, list[dict]]:
        if item is None:
            raise NotFound(f"no action item {n} (there are {len(store.action_items(incident_id))})")
        fields = dict(changes)
        if "done" in changes and item.get("done") == changes["done"]:
            fields["done_at"] = item.get("done_at")   # done twice: still done since the first time
            if "done_by" in fields:
                fields["done_by"] = item.get("done_by")   # ... and by whoever ticked it first
        records = _sync_records(incident_id, stored, f"item{n}.{item['revision'] + 1}", now, cfg)
        due[:] = [r["id"] for r in records]
        return fields, records

    return _changed(incident_id, store.change_item(incident_id, n, now, write), due)


def reviewed(incident_id: str, body: dict, now: datetime, cfg: Config) -> dict:
    """POST /api/postmortems/<id>/reviewed {"actor"}: the review happened (reminders stop)."""
    current = get(incident_id)
    who = cfg.person_id(body.get("actor"))
    if current.get("reviewed_at"):
        return current   # reviewed once; a repeated request changes nothing
    store.update(incident_id, {"reviewed_at": now, "reviewed_by": who, "updated_at": now})
    return {**current, "reviewed_at": now, "reviewed_by": who}


def _day(value: object) -> str:
    try:
        day = date.fromisoformat(str(value or ""))
    except ValueError:
        raise BadInput(f"deadline: expected YYYY-MM-DD, got {str(value)[:40]!r}") from None
    if not 2000 <= day.year <= 2099:
        raise BadInput("deadline: expected a day from 2000 to 2099")
    return day.isoformat()
