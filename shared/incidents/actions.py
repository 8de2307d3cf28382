"""What people do to incidents, whatever the transport (the API, Discord, the console): acknowledge, resolve,
re-classify, note.

Every change goes on the timeline with its actor. The first acknowledgement makes the actor the owner and
stops escalation. The on-call may raise or lower the severity; the team lead's change pins it (final:
the on-call cannot change a pinned severity and automatic rises never override it). Each returns the
outbox records that are due now; the caller delivers them (notify.delivery.deliver_soon).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from shared import oncall
from shared.channels.render import local_time
from shared.config import Config
from shared.errors import AlreadyAcknowledged, BadInput, Closed, Forbidden, NotFound
from shared.model import Incident, Severity, Status, TimelineEntry
from shared.notify import plan
from shared.rules import ids
from shared.rules.sla import clocks
from shared.rules.text import clean
from shared.rules.workflow import PHASES, STEPS, step_text
from shared.store import alerts, changes
from shared.store import incidents as store
from shared.store.client import Conflict, claim_once, release

T = TypeVar("T")


def incident_id(typed: object) -> str:
    """Return the canonical id for what a person typed ('inc-7k3qxd', '7K3QXD'); NotFound when it cannot be one."""
    canonical = ids.normalize(str(typed or ""))
    if not ids.is_valid(canonical):
        raise NotFound(f"no incident {str(typed)[:40]!r}")
    return canonical


def get(typed_id: object) -> Incident:
    """Return an incident by what a person typed; NotFound when there is none."""
    canonical = incident_id(typed_id)
    incident = store.get_incident(canonical)
    if incident is None:
        raise NotFound(f"no incident {str(typed_id)[:40]!r}")
    return incident


def _entry(now: datetime, actor: str, action: str, detail: str = "") -> dict:
    return TimelineEntry(now, actor, action, detail[:2000]).to_dict()


def _step_records(incident: Incident, number: int, step: str, who: str, now: datetime, cfg: Config,
                  detail: str = "") -> list[dict]:
    return plan.on_step(incident.id, incident.severity, incident.environment, number, step,
                        step_text(step, who, now, cfg, detail), now, cfg)


def _already(done: dict, iid: str, cfg: Config) -> AlreadyAcknowledged:
    owner = cfg.person(done["owner"]).name if done["owner"] in {p.id for p in cfg.people} else done["owner"]
    said = f"{iid} is already acknowledged by {owner} at {local_time(done['at'], cfg)}; nothing changed"
    return AlreadyAcknowledged(said, {"error": said, "owner": done["owner"], "acknowledged_at": done["at"]})


def acknowledge(typed_id: object, actor: object, now: datetime, cfg: Config, detail: str = "") -> list[str]:
    """Acknowledge; the first acknowledgement sets the owner and stops escalation. Another person's later one
    changes nothing and is AlreadyAcknowledged (409, naming who and when); the owner's own again is done."""
    who, iid = cfg.person_id(actor), incident_id(typed_id)
    done = changes.take_step(iid, who, now, _entry(now, who, "acknowledged", detail or "👀 investigating"),
                           acknowledge=True, phase=None,
                           outbox_for=lambda i: _step_records(i, i.steps + 1, "ack", who, now, cfg, detail))
    if not done["first"] and done["owner"] != who:  # the same person again (a retry) is simply done
        raise _already(done, iid, cfg)
    return done["notify"]


def progress(typed_id: object, phase: str, actor: object, now: datetime, cfg: Config, detail: str = "") -> list[str]:
    """Mark the team's progress (investigating, fixing, deploying). A step on an unacknowledged incident
    acknowledges it first (the actor becomes the owner); the phase it is already in changes nothing."""
    if phase not in PHASES:
        raise BadInput(f"unknown step {str(phase)[:40]!r}; use one of {', '.join(PHASES)}")
    who, iid = cfg.person_id(actor), incident_id(typed_id)
    done = changes.take_step(iid, who, now, _entry(now, who, phase, detail or f"{STEPS[phase][0]} {STEPS[phase][1]}"),
                           acknowledge=True, phase=phase,
                           outbox_for=lambda i: _step_records(i, i.steps + 1, phase, who, now, cfg, detail))
    return done["notify"]


def resolve(typed_id: object, actor: object, now: datetime, cfg: Config, detail: str = "",
            invalid: bool = False) -> list[str]:
    """Resolve by hand, or close as invalid (❌ cannot reproduce: kept, left out of SLA metrics); Closed when it
    is already resolved."""
    who, incident = cfg.person_id(actor), get(typed_id)
    if incident.is_resolved:
        raise Closed(f"{incident.id} is resolved")
    step = "invalid" if invalid else "resolve"
    records = plan.on_resolve(incident.id, incident.environment, now, cfg, incident.dedup_key) + \
        _step_records(incident, incident.steps + 1, step, who, now, cfg, detail)
    records = plan.next_round(records, incident.doc.get("reopens") or 0)   # reopened on GitHub: resolved again
    fields = {"resolved_at": now, "active": False, "steps": incident.steps + 1, "phase": ""}
    if invalid:
        fields["invalid"] = True
    entry = _entry(now, who, "invalid" if invalid else "resolved",
                   detail or ("❌ cannot reproduce" if invalid else "✅ resolved"))
    try:
        alerts.change_status(incident.id, incident.key_doc, Status.RESOLVED.value, fields, entry, None, now,
                            close=True, outbox=records)
    except Conflict:
        raise Closed(f"{incident.id} is resolved") from None
    return plan.due_now(records)


def set_severity(typed_id: object, severity: object, actor: object, now: datetime, cfg: Config,
                 reason: str = "") -> list[str]:
    """Change the severity by hand (a rise notifies like an automatic one)."""
    who, iid = cfg.person_id(actor), incident_id(typed_id)
    try:
        new = Severity.parse(str(severity))
    except ValueError as e:
        raise BadInput(str(e)) from None
    lead = who == cfg.team_lead
    if not lead and who != oncall.at(now, cfg).primary:
        raise Forbidden(f"only the on-call or the team lead may change the severity, not {who}")
    role = "team lead (final)" if lead else "on-call"
    why = f"set by {cfg.person(who).name}, {role}" + (f": {reason}" if reason else "")

    def fields_for(incident: Incident) -> dict:
        return clocks(new, incident.environment, incident.created_at, now, cfg) | {"next_check_at": now}

    def outbox_for(incident: Incident) -> list[dict]:
        if new <= incident.severity:
            return []
        return plan.on_raise(iid, new, incident.environment, now, cfg, oncall.primary_now(now, cfg))

    entry = _entry(now, who, "severity", f"-> {new.label} ({role})" + (f": {reason}" if reason else ""))
    return changes.set_severity(iid, int(new), new.label, lead, lead, why, entry, now, fields_for, outbox_for)["notify"]


def note(typed_id: object, actor: object, text: object, now: datetime, cfg: Config) -> list[str]:
    """Add a note to the timeline."""
    who = cfg.person_id(actor)
    body = clean(text)
    if not body:
        raise BadInput("text is missing")
    changes.add_note(incident_id(typed_id), _entry(now, who, "note", body))
    return []


FLAGS = ("data_loss", "security")


def flag(typed_id: object, actor: object, which: object, now: datetime, cfg: Config) -> list[str]:
    """Flag an incident as data loss or a security issue (it then needs a postmortem)."""
    who, incident = cfg.person_id(actor), get(typed_id)
    if which not in FLAGS:
        raise BadInput(f"flag: expected one of {', '.join(FLAGS)}, got {str(which)[:40]!r}")
    # flagged_at: the postmortem sweep looks at recently flagged incidents too (one flagged after it resolved)
    alerts.annotate(incident.id, {f"flags.{which}": True, "flagged_at": now},
                   _entry(now, who, "flagged", str(which).replace("_", " ")), None, now)
    return []


# name in the API path (/api/incidents/<id>/<name>) -> the use case and the body fields it takes
ACTIONS = {
    "ack": lambda iid, body, now, cfg: acknowledge(iid, body.get("actor"), now, cfg, clean(body.get("detail"), 500)),
    **{phase: (lambda p: lambda iid, body, now, cfg: progress(iid, p, body.get("actor"), now, cfg,
                                                             clean(body.get("detail"), 500)))(phase)
       for phase in PHASES},
    "resolve": lambda iid, body, now, cfg: resolve(iid, body.get("actor"), now, cfg, clean(body.get("detail"))),
    "invalid": lambda iid, body, now, cfg: resolve(iid, body.get("actor"), now, cfg, clean(body.get("detail")),
                                                   invalid=True),
    "severity": lambda iid, body, now, cfg: set_severity(iid, body.get("severity"), body.get("actor"), now, cfg,
                                                         clean(body.get("reason"), 500)),
    "note": lambda iid, body, now, cfg: note(iid, body.get("actor"), body.get("text"), now, cfg),
    "flag": lambda iid, body, now, cfg: flag(iid, body.get("actor"), body.get("flag"), now, cfg),
}


def act(typed_id: object, action: str, body: dict, now: datetime, cfg: Config) -> list[str]:
    """Take the action a path names (ack, investigating, ..., resolve, severity, note, flag) with its JSON body;
    NotFound for an unknown one. Return the outbox records to deliver now."""
    use_case = ACTIONS.get(action)
    if use_case is None:
        raise NotFound(f"unknown action {action[:40]!r}; use one of {', '.join(ACTIONS)}")
    return use_case(typed_id, body, now, cfg)


def first_use(key: str, now: datetime) -> bool:
    """True the first time `key` is used (a one-time sign-in code, a delivery's id), False ever after."""
    return claim_once(key, now)


def once(key: str, now: datetime, change: Callable[[], T]) -> T | None:
    """Run a person's change once per delivery `key` (an interaction's id: Discord may deliver it twice): None when
    that delivery was already handled. A change that fails leaves the key free, so a new delivery may try again."""
    if not claim_once(key, now):
        return None
    try:
        return change()
    except BaseException:
        release(key)  # nothing was done
        raise
