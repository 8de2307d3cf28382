"""The API's use cases: incident views and queries, state changes (shared.actions), on-call, handoff, metrics.

Transport-neutral: refusals are shared.errors; the entry point maps them to HTTP.
"""
from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from shared import oncall, silences
from shared.config import config
from shared.config.settings import settings
from shared.errors import BadInput, NotFound, Unauthorized
from shared.incidents import actions
from shared.incidents import listing as incident_list
from shared.model import Incident
from shared.notify import delivery
from shared.oncall import handoff
from shared.rules import calendar
from shared.rules import metrics as metric_rules
from shared.rules.text import clean, quoted
from shared.store import incidents as store
from shared.store import oncall as store_oncall
from shared.web.http import iso

DELIVERY_WAIT = 0.25  # seconds an answer may wait for the notifications an action causes (they go on after)


def authenticate(authorization: str) -> None:
    """Accept only `Authorization: Bearer API_TOKEN`, compared in constant time."""
    expected = settings().api_token
    if not expected:
        raise Unauthorized("API_TOKEN is not configured on the server")
    if not authorization.lower().startswith("bearer "):
        raise Unauthorized("missing Authorization: Bearer <API_TOKEN>")
    if not hmac.compare_digest(authorization[7:].strip().encode(), expected.reveal().encode()):
        raise Unauthorized("wrong API token")


def incident_view(incident: Incident) -> dict:
    """Return the public JSON shape of a stored incident."""
    return {
        "id": incident.id,
        "title": incident.title,
        "status": incident.status,
        "severity": incident.severity.label,
        "severity_reason": incident.reason,
        "service": incident.service,
        "environment": incident.environment,
        "source": incident.source,
        "dedup_key": incident.dedup_key,
        "links": incident.links,
        "location": incident.location,
        "occurrences": incident.occurrences,
        "users_affected": incident.users_affected,
        "latest_message": incident.latest_message,
        "created_at": iso(incident.created_at),
        "first_seen": iso(incident.first_seen),
        "last_seen": iso(incident.last_seen),
        "acknowledged_at": iso(incident.acknowledged_at),
        "resolved_at": iso(incident.resolved_at),
        "assignee": incident.assignee,
        "previous_incident": incident.previous_incident,
        "downtime_seconds": incident.downtime_seconds,
        "owner": incident.owner,
        "phase": incident.phase or None,
        "invalid": incident.invalid,
        "silenced_by": incident.doc.get("silenced_by"),
        "severity_pinned": bool(incident.pinned_rank),
        "respond_by": iso(incident.respond_by),
        "resolve_by": iso(incident.resolve_by),
        "escalation_level": incident.escalation_level,
        "time_to_acknowledge_seconds": incident.tta_seconds,
        "time_to_resolve_seconds": incident.ttr_seconds,
        "sla_response_met": incident.sla_response_met,
        "sla_resolution_met": incident.sla_resolution_met,
        "timeline": [{"at": iso(e["at"]), "actor": e["actor"], "action": e["action"], "detail": e.get("detail", "")}
                     for e in incident.timeline],  # in the order the changes were stored
    }


def list_incidents(status: str | None, limit: str | None, query: Mapping[str, str] | None = None) -> dict:
    """GET /api/incidents?status=open[,acknowledged|active]&limit=N (&severity=&service=&environment=&from=&to=
    &cursor=, see shared.incident_list); `next`, only when more may follow, is the cursor of the following page."""
    docs, following = incident_list.page({**(query or {}), "status": status or "", "limit": limit or ""}, config())
    return {"incidents": [incident_view(d) for d in docs], "count": len(docs), **({"next": following} if following
                                                                                   else {})}


def get_incident(typed_id: str) -> dict:
    """GET /api/incidents/<id>; the id is case-insensitive."""
    return incident_view(actions.get(typed_id))


def _time(value: object, name: str) -> datetime:
    return calendar.given_time(value, name, config().team.zone)


def act(typed_id: str, action: str, body: dict, now: datetime) -> dict:
    """POST /api/incidents/<id>/<ack|resolve|severity|note>; return the incident (its notifications go out)."""
    use_case = actions.ACTIONS.get(action)
    if use_case is None:
        raise NotFound(f"unknown action {action[:40]!r}; use one of {', '.join(actions.ACTIONS)}")
    due = use_case(typed_id, body, now, config())
    delivery.deliver_soon(due, config(), settings(), now, DELIVERY_WAIT)
    return get_incident(typed_id)


def _person_view(pid: str) -> dict:
    person = config().person(pid)
    return {"id": person.id, "name": person.name, "email": person.email, "discord_id": person.discord_id}


def who_is_on_call(at: str | None, now: datetime) -> dict:
    """GET /api/oncall?at=<iso>: primary, backup, the override in force, next handover."""
    when = _time(at, "at") if at else now
    current = oncall.at(when, config())
    return {"at": iso(when), "primary": _person_view(current.primary),
            "rotation_primary": _person_view(current.rotation_primary), "backup": _person_view(current.backup),
            "override": _override_view(current.override) if current.override else None,
            "next_handover": iso(current.next_handover)}


def _override_view(o: dict) -> dict:
    return {"id": o["id"], "covering": o["covering"], "for": o.get("for"), "start": iso(o["start"]),
            "end": iso(o["end"]), "created_by": o.get("created_by"), "note": o.get("note", "")}


def add_override(body: dict, now: datetime) -> dict:
    """POST /api/oncall/overrides {"covering", "for"?, "start", "end", "actor", "note"?}."""
    cfg = config()
    covering = actions.person(body.get("covering"), cfg)
    for_whom = actions.person(body.get("for"), cfg) if body.get("for") else None
    start, end = _time(body.get("start") or now.isoformat(), "start"), _time(body.get("end"), "end")
    if end <= start:
        raise BadInput("end must be after start")
    created_by = actions.person(body.get("actor") or covering, cfg)
    override = store_oncall.add_override({"covering": covering, "for": for_whom, "start": start, "end": end,
                                          "created_by": created_by, "created_at": now,
                                          "note": clean(body.get("note"), 500)})
    oncall.forget()
    return _override_view(override)


def delete_override(override_id: str) -> None:
    if not store_oncall.delete_override(override_id):
        raise NotFound(f"no override {override_id[:40]!r}")
    oncall.forget()


def add_silence(body: dict, now: datetime) -> dict:
    """POST /api/silences: silence matching alerts for a while; its Discord notice goes out."""
    answer, due = silences.create(body, now, config())
    delivery.deliver_soon(due, config(), settings(), now, DELIVERY_WAIT)
    return answer


def delete_silence(silence_id: str, body: dict, now: datetime) -> dict:
    """DELETE /api/silences/<id>: end it now; the next sweep releases what it held."""
    return silences.delete(silence_id, body.get("actor"), now, config())


def handoff_now(now: datetime) -> dict:
    """GET /api/handoff: the handoff as it would be posted now."""
    composed = handoff.compose(now, config())
    return {**composed, "text": handoff.text(composed, config())[0]}


def add_handoff_note(body: dict, now: datetime) -> dict:
    """POST /api/handoff/notes {"actor", "text"}: a thing to watch for the next handoff."""
    actor = actions.person(body.get("actor"), config())
    text = clean(body.get("text"))
    if not text:
        raise BadInput("text is missing")
    note = store_oncall.add_handoff_note({"actor": actor, "text": text[:500], "at": now})
    return {"id": note["id"], "actor": actor, "text": note["text"], "at": iso(now)}


def metrics(start: str | None, end: str | None, now: datetime) -> dict:
    """GET /api/metrics?from=&to=: time to acknowledge / resolve and SLA kept, per severity."""
    since = _time(start, "from") if start else now - timedelta(days=1)
    until = _time(end, "to") if end else now
    incidents = [i for i in store.incidents_created_since(since, 2000) if i.created_at < until]
    return {"from": iso(since), "to": iso(until), "by_severity": metric_rules.summarize(incidents),
            "incidents": [{"id": i.id, "severity": i.severity.label, "status": i.status,
                           "sla_response_met": i.sla_response_met,
                           "sla_resolution_met": i.sla_resolution_met} for i in incidents]}


def report(day: str) -> dict:
    """GET /api/reports/<YYYY-MM-DD>: the daily report of that local day, as stored when it was posted."""
    from shared.store import reports
    try:
        date.fromisoformat(day)
    except ValueError:
        raise BadInput(f"expected a day as YYYY-MM-DD, got {quoted(day)}") from None
    stored = reports.get_report(day)
    if stored is None:
        raise NotFound(f"no report for {day}: the daily summary has not run for it (POST /daily_summary/?date={day})")
    return {k: v for k, v in stored.items() if k != "made_at"}


def postmortem(typed_id: str) -> dict:
    """GET /api/postmortems/<id>: the incident's postmortem (a draft until people complete it)."""
    from shared import postmortems
    return postmortems.get(actions.incident_id(typed_id))


def postmortem_markdown(typed_id: str) -> str:
    """GET /api/postmortems/<id>.md: the same as the team's Markdown template."""
    from shared.rules import postmortem as rules
    return rules.markdown(postmortem(typed_id), config())


def _postmortem_changed(changed: tuple[dict, list[str]], now: datetime) -> dict:
    """Return the changed postmortem; its issue's update goes out (and on in the background)."""
    postmortem, due = changed
    delivery.deliver_soon(due, config(), settings(), now, DELIVERY_WAIT)
    return postmortem


def edit_postmortem(typed_id: str, body: dict, now: datetime) -> dict:
    """PUT /api/postmortems/<id>: replace sections."""
    from shared import postmortems
    return _postmortem_changed(postmortems.edit(actions.incident_id(typed_id), body, now, config()), now)


def add_action_item(typed_id: str, body: dict, now: datetime) -> dict:
    from shared import postmortems
    return _postmortem_changed(postmortems.add_action_item(actions.incident_id(typed_id), body, now, config()), now)


def change_action_item(typed_id: str, n: str, body: dict, now: datetime) -> dict:
    from shared import postmortems
    if not n.isdigit():
        raise NotFound(f"no action item {n[:20]!r}")
    return _postmortem_changed(postmortems.change_action_item(actions.incident_id(typed_id), int(n), body, now,
                                                              config()), now)


def review_postmortem(typed_id: str, body: dict, now: datetime) -> dict:
    from shared import postmortems
    return postmortems.reviewed(actions.incident_id(typed_id), body, now, config())


def post_status_update(typed_id: str, body: dict, idempotency_key: str | None, now: datetime) -> tuple[dict, bool]:
    """POST /api/incidents/<id>/status-updates: a public update (True when new; a replay of the same id is not)."""
    from shared.status import updates as status_updates
    return status_updates.post(typed_id, body, idempotency_key, now, config())


def status_updates(typed_id: str) -> dict:
    """GET /api/incidents/<id>/status-updates."""
    from shared.status import updates
    return updates.listing(typed_id)
