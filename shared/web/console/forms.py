"""The console's action forms: each form's fields as the body the API's use case takes (the same use cases the API
and Discord call), and what the pages holding the bigger forms show: a public status update and its preview, a
silence, a postmortem's sections and action items.

A form is urlencoded text, so the few fields the API takes as JSON values are read here: a checkbox is "1", a
lesson list is one line per item, minutes are digits. Closing an incident (resolve, invalid) asks first: the form
answers with a confirmation page, whose own submit carries confirm=1.
"""
from __future__ import annotations

import secrets
from dataclasses import field
from datetime import datetime

from shared import oncall, postmortems, silences
from shared.channels.render import local_time
from shared.config import Config
from shared.config.frozen import frozen
from shared.config.units import MATCHER_KEYS, MAX_PATTERN
from shared.errors import NotFound
from shared.incidents import actions
from shared.model import Incident
from shared.rules import postmortem as postmortem_rules
from shared.rules import status_page as page_rules
from shared.rules import status_updates as update_rules
from shared.rules.text import quoted
from shared.rules.workflow import PHASES, STEPS
from shared.status import updates as status_updates

CONFIRM = {"resolve": ("Resolve", "It closes for everyone: escalation stops, the resolution is announced, and a "
                                  "postmortem is drafted if it needs one."),
           "invalid": ("Close as invalid", "It closes as “cannot reproduce”: kept, but left out of the SLA "
                                           "metrics and the public status page.")}
FLAGS = {"data_loss": "Data loss", "security": "Security"}
SECTIONS = {"summary": "Summary", "root_cause": "Root cause", "resolution": "Resolution",
            "prevention": "Prevention", "went_well": "What went well", "went_wrong": "What went wrong",
            "lucky": "Where we got lucky", "author": "Author"}
LESSONS = ("went_well", "went_wrong", "lucky")   # sections kept as lists of lines
PROMPT_START = postmortem_rules.PROMPT.split("{")[0]   # a draft's "_To be written: ..._" is not text to edit
DONE = {"ack": "Acknowledged.", "resolve": "Resolved.", "invalid": "Closed as invalid.",
        "severity": "Severity changed.", "note": "Note added.", "flag": "Flagged: it needs a postmortem.",
        **{phase: f"{STEPS[phase][0]} {STEPS[phase][1]}." for phase in PHASES},
        "status-update": "Status update posted.", "silenced": "Silence created.",
        "silenced-critical": "Silence created. Open Critical incidents match it: a silence does not quiet what is "
                             "already open.",
        "silence-ended": "Silence ended.", "postmortem": "Postmortem saved.", "item-added": "Action item added.",
        "item-changed": "Action item changed.", "item-done": "Action item done.",
        "item-reopened": "Action item reopened.", "reviewed": "Postmortem marked reviewed.",
        "handoff-note": "Handoff note added.", "override": "Override added.", "removed": "Override removed."}


@frozen
class Done:
    """A form that changed something: the console page to show next (after the base path) and what to deliver."""

    location: str
    due: list[str] = field(default_factory=list)


@frozen
class Page:
    """A form answered with a page while nothing changed: the confirmation a closing action asks for, a preview."""

    template: str
    context: dict


def submit(parts: list[str], body: dict, now: datetime, cfg: Config) -> Done | Page:
    """Take what the form at `parts` (its path under the console) asks, with its fields as `body` (the actor in it)."""
    if len(parts) == 3 and parts[0] == "incidents":
        return _incident(actions.get(parts[1]), parts[2], body, now, cfg)
    if parts == ["silences"]:
        made, due = silences.create(silence_body(body), now, cfg)
        return Done(f"silences?done={'silenced-critical' if made.get('warning') else 'silenced'}", due)
    if len(parts) == 3 and parts[0] == "silences" and parts[2] == "end":
        silences.delete(parts[1], body.get("actor"), now, cfg)
        return Done("silences?done=silence-ended")
    if len(parts) >= 2 and parts[0] == "postmortems":
        return _postmortem(actions.incident_id(parts[1]), parts[2:], body, now, cfg)
    if parts == ["oncall", "overrides"]:
        oncall.add_override({k: v for k, v in body.items() if v}, now, cfg)
        return Done("oncall?done=override")
    if len(parts) == 4 and parts[:2] == ["oncall", "overrides"] and parts[3] == "delete":
        oncall.remove_override(parts[2])
        return Done("oncall?done=removed")
    if parts == ["handoff", "notes"]:
        oncall.add_handoff_note(body, now, cfg)
        return Done("handoff?done=handoff-note")
    raise NotFound(f"no console form at {'/'.join(parts)[:100]}")


def origin(parts: list[str]) -> tuple[list[str], str] | None:
    """The page a form at `parts` is on (where its refusal is shown, the form filled in again), and the form's
    name on that page; None for a path no page holds."""
    if len(parts) == 3 and parts[0] == "incidents":
        return (parts, "status-update") if parts[2] == "status-updates" else (parts[:2], parts[2])
    if parts[:1] == ["silences"]:
        return ["silences"], "silence" if len(parts) == 1 else "end"
    if len(parts) >= 2 and parts[0] == "postmortems":
        return parts[:2], "/".join(parts[2:]) or "sections"
    if parts[:1] in (["oncall"], ["handoff"]):
        return parts[:1], "/".join(parts[1:])
    return None


# ---------------------------------------------------------------- incidents

def _incident(incident: Incident, action: str, body: dict, now: datetime, cfg: Config) -> Done | Page:
    if action == "status-updates":
        return _status_update(incident, body, now, cfg)
    if action in CONFIRM and body.get("confirm") != "1":
        label, meaning = CONFIRM[action]
        return Page("confirm.html.j2", {"iid": incident.id, "title": incident.title, "action": action,
                                        "label": label, "meaning": meaning,
                                        "kept": [(k, v) for k, v in body.items() if k != "confirm"]})
    due = actions.act(incident.id, action, {k: v for k, v in body.items() if k != "confirm"}, now, cfg)
    return Done(f"incidents/{incident.id}?done={action}", due)


def incident_page(incident: Incident, cfg: Config) -> dict:
    """What the incident page's forms offer beyond its fields."""
    flags = incident.doc.get("flags") or {}
    return {"phases": [(p, f"{STEPS[p][0]} {p.capitalize()}") for p in PHASES], "confirm": CONFIRM,
            "flags": [(k, label, bool(flags.get(k))) for k, label in FLAGS.items()],
            "public": page_rules.is_public(incident, cfg)}


# ---------------------------------------------------------------- public status updates

def status_body(form: dict) -> dict:
    """The API's status update body from the form: blank fields left out, minutes as a number, the actor as `by`."""
    body = {k: v for k, v in form.items() if k in update_rules.FIELDS and k != "by" and v.strip()}
    every = body.get("next_update_minutes", "")
    if every.strip().isascii() and every.strip().isdigit():
        body["next_update_minutes"] = int(every)
    return {**body, "by": form.get("actor")}


def _status_update(incident: Incident, form: dict, now: datetime, cfg: Config) -> Done | Page:
    body = status_body(form)
    if form.get("preview"):
        shown = status_updates.preview(incident.id, body, cfg)
        return Page("status_update.html.j2", {**status_update_page(incident.id, cfg), "preview": shown,
                                              "typed": {"status-update": form}})
    status_updates.post(incident.id, body, None, now, cfg)
    return Done(f"incidents/{incident.id}/status-updates?done=status-update")


def status_update_page(typed_id: str, cfg: Config) -> dict:
    """The form (with a fresh idempotency key: a form sent twice posts once) and the updates posted so far."""
    incident = actions.get(typed_id)
    summary = incident.doc.get("status_page") or {}
    names = {p.id: p.name for p in cfg.people}
    posted = status_updates.listing(incident.id)["status_updates"]
    return {"iid": incident.id, "title": incident.title, "service": incident.service,
            "public": page_rules.is_public(incident, cfg), "first": not summary.get("count"),
            "public_title": summary.get("title") or "", "statuses": update_rules.STATUSES,
            "components": [(c, page_rules.COMPONENT_LABEL[c]) for c in update_rules.COMPONENT_OVERRIDES],
            "held": page_rules.COMPONENT_LABEL.get(summary.get("component_status") or "", ""),
            "every": (update_rules.EVERY_MIN, update_rules.EVERY_MAX), "key": secrets.token_hex(12),
            "preview": None,
            "updates": [{**u, "by": names.get(u["by"], u["by"]),
                         "at": local_time(datetime.fromisoformat(u["created_at"]), cfg)} for u in reversed(posted)]}


# ---------------------------------------------------------------- silences

def silence_body(form: dict) -> dict:
    """The API's silence body from the form: a field per matcher (blank: not matched on), include_critical a
    checkbox, start/end/duration/incident left out when blank."""
    body = {"actor": form.get("actor"), "comment": form.get("comment", ""),
            "matchers": {k: form[k] for k in MATCHER_KEYS if form.get(k, "").strip()},
            "include_critical": form.get("include_critical") == "1"}
    return body | {k: form[k] for k in ("start", "end", "duration", "incident") if form.get(k, "").strip()}


def silence_form(args, cfg: Config) -> dict:
    """The new silence's form: blank, or from an incident (?incident=<id>) matching its service and title."""
    if not args.get("incident"):
        return {"silence_from": {}}
    incident = actions.get(args["incident"])
    title = incident.title if len(incident.title) <= MAX_PATTERN else incident.title[:MAX_PATTERN - 1] + "*"
    return {"silence_from": {"incident": incident.id, "service": incident.service, "title": title}}


# ---------------------------------------------------------------- postmortems

def _postmortem(iid: str, rest: list[str], body: dict, now: datetime, cfg: Config) -> Done:
    if not rest:
        _, due = postmortems.edit(iid, section_body(body), now, cfg)
        done = "postmortem"
    elif rest == ["action-items"]:
        _, _, due = postmortems.add_action_item(iid, body, now, cfg)
        done = "item-added"
    elif len(rest) == 2 and rest[0] == "action-items":
        n = rest[1]
        if not (n.isascii() and n.isdigit() and len(n) <= 4):   # a postmortem holds at most ITEMS_MAX items
            raise NotFound(f"no action item {quoted(n, 20)}")
        _, due = postmortems.change_action_item(iid, int(n), item_body(body), now, cfg)
        done = {"1": "item-done", "0": "item-reopened"}.get(body.get("done", ""), "item-changed")
    elif rest == ["reviewed"]:
        postmortems.reviewed(iid, body, now, cfg)
        due, done = [], "reviewed"
    else:
        raise NotFound(f"no console form at postmortems/{iid}/{'/'.join(rest)[:60]}")
    return Done(f"postmortems/{iid}?done={done}", due)


def section_body(form: dict) -> dict:
    """The API's edit body: the sections the form holds (a lesson list one line per item), and the actor."""
    sections = {k: ([line.strip() for line in v.splitlines() if line.strip()] if k in LESSONS else v)
                for k, v in form.items() if k in SECTIONS}
    return sections | ({"actor": form["actor"]} if form.get("actor") else {})


def item_body(form: dict) -> dict:
    """The API's action item change: done ("1" or "0"), owner and deadline when given, and the actor."""
    body = {k: form[k] for k in ("owner", "deadline", "actor") if form.get(k, "").strip()}
    if form.get("done") in ("1", "0"):
        body["done"] = form["done"] == "1"
    elif "done" in form:
        body["done"] = form["done"]   # neither: the use case says what it expects
    return body


def _editable(value: object) -> str:
    """A section's text to edit: the draft's prompts are left out (they are the field's placeholder)."""
    lines = value if isinstance(value, list) else [str(value or "")]
    return "\n".join(str(v) for v in lines if not str(v).startswith(PROMPT_START))


def postmortem_page(iid: str, cfg: Config) -> dict:
    """The postmortem's sections to edit, its action items to change and tick, and whether it was reviewed."""
    pm = postmortems.get(iid)
    names = {p.id: p.name for p in cfg.people}
    sections = [{"name": k, "label": label, "value": _editable(pm.get(k)), "lines": k in LESSONS}
                for k, label in SECTIONS.items()]
    items = [{**a, "owner_name": names.get(a.get("owner"), a.get("owner") or "—"),
              "done_by": names.get(a.get("done_by"), a.get("done_by") or "")} for a in pm.get("action_items") or []]
    reviewed = {"at": local_time(pm["reviewed_at"], cfg), "by": names.get(pm.get("reviewed_by"), "")} \
        if pm.get("reviewed_at") else None
    return {"sections": sections, "items": items, "reviewed": reviewed}
