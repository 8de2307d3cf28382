"""The JSON API (Authorization: Bearer API_TOKEN): a table of routes, each a thin adapter over a use case.

A route reads the request, calls one use case and shapes its answer as JSON; refusals are shared.errors, mapped
to HTTP once (shared/web/http.py). The paths and fields are in docs/api.md.
"""
from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from datetime import datetime

from shared import errors, oncall, postmortems, silences
from shared.config import Config, config
from shared.config.frozen import frozen
from shared.config.settings import settings
from shared.incidents import actions, listing, smoke
from shared.model import Incident, iso
from shared.oncall import handoff
from shared.reports import daily, metrics
from shared.rules.calendar import given_time
from shared.rules.text import quoted
from shared.status import updates as status_updates
from shared.web import http

DELIVERY_WAIT = 0.25  # seconds an answer may wait for the notifications an action causes (they go on after)
FIRESTORE_DEADLINE = 3.0  # seconds before a person's request is answered 503 when Firestore cannot be reached


def authenticate(authorization: str) -> None:
    """Accept only `Authorization: Bearer API_TOKEN`, compared in constant time."""
    expected = settings().api_token
    if not expected:
        raise errors.Unauthorized("API_TOKEN is not configured on the server")
    if not authorization.lower().startswith("bearer "):
        raise errors.Unauthorized("missing Authorization: Bearer <API_TOKEN>")
    if not hmac.compare_digest(authorization[7:].strip().encode(), expected.reveal().encode()):
        raise errors.Unauthorized("wrong API token")


# ---------------------------------------------------------------- views: what the JSON says

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
        "timeline_archived": incident.timeline_archived,  # older entries kept apart (the first stays above)
    }


def person_view(pid: str, cfg: Config) -> dict:
    person = cfg.person(pid)
    return {"id": person.id, "name": person.name, "email": person.email, "discord_id": person.discord_id}


def override_view(o: dict) -> dict:
    return {"id": o["id"], "covering": o["covering"], "for": o.get("for"), "start": iso(o["start"]),
            "end": iso(o["end"]), "created_by": o.get("created_by"), "note": o.get("note", "")}


def on_call_view(when: datetime, cfg: Config) -> dict:
    """GET /api/oncall?at=<iso>: primary, backup, the override in force, next handover."""
    current = oncall.at(when, cfg)
    return {"at": iso(when), "primary": person_view(current.primary, cfg),
            "rotation_primary": person_view(current.rotation_primary, cfg), "backup": person_view(current.backup, cfg),
            "override": override_view(current.override) if current.override else None,
            "next_handover": iso(current.next_handover)}


def handoff_view(now: datetime, cfg: Config) -> dict:
    """GET /api/handoff: the handoff as it would be posted now."""
    composed = handoff.compose(now, cfg)
    return {**composed, "text": handoff.text(composed, cfg)[0]}


# ---------------------------------------------------------------- routes

@frozen
class Call:
    """One request as the routes see it."""

    request: object
    parts: tuple[str, ...]     # the path's segments after /api
    now: datetime
    cfg: Config

    def body(self) -> dict:
        return http.read_json(self.request)

    def arg(self, name: str) -> str | None:
        return self.request.args.get(name)


def _delivered(due: list[str], call: Call) -> None:
    """Send what the change decided now; the answer waits a moment for it (the sweep retries what is left)."""
    http.deliver(due, call.cfg, call.now, DELIVERY_WAIT)


def _act(call: Call):
    _delivered(actions.act(call.parts[1], call.parts[2], call.body(), call.now, call.cfg), call)
    return incident_view(actions.get(call.parts[1]))


def notification_view(record: dict) -> dict:
    """Return one notification of an incident: its channel, what for, and how its delivery went."""
    return {"channel": record.get("channel"), "reason": record.get("reason"), "kind": record.get("kind"),
            "status": str(record.get("status") or ""), "attempts": record.get("attempts") or 0,
            "preview": record.get("ref") == "preview",   # no credentials: shown on the local preview page
            "error": record.get("last_error") or "", "sent_at": iso(record.get("sent_at")),
            "created_at": iso(record.get("created_at"))}


def _remove_smoke_test(call: Call):
    smoke.remove(call.parts[1])
    return "", 204


def _incidents(call: Call):
    found, following = listing.page({**call.request.args, "status": call.arg("status") or "",
                                     "limit": call.arg("limit") or ""}, call.cfg)
    return {"incidents": [incident_view(i) for i in found], "count": len(found),
            **({"next": following} if following else {})}


def _post_status_update(call: Call):
    update, new = status_updates.post(call.parts[1], call.body(), call.request.headers.get("Idempotency-Key"),
                                      call.now, call.cfg)
    return update, 201 if new else 200


def _add_silence(call: Call):
    answer, due = silences.create(call.body(), call.now, call.cfg)
    _delivered(due, call)
    return answer, 201


def _changed_postmortem(change: Callable[[str, Call], tuple[dict, list[str]]], status: int = 200):
    def route(call: Call):
        postmortem, due = change(actions.incident_id(call.parts[1]), call)
        _delivered(due, call)
        return postmortem, status
    return route


def _postmortem_markdown(call: Call):
    text = postmortems.markdown(actions.incident_id(call.parts[1].removesuffix(".md")), call.cfg)
    return text, 200, {"Content-Type": "text/markdown; charset=utf-8"}


def _action_item(iid: str, call: Call):
    n = call.parts[3]
    if not (n.isascii() and n.isdigit() and len(n) <= 4):   # a postmortem holds at most ITEMS_MAX items
        raise errors.NotFound(f"no action item {quoted(n, 20)}")
    return postmortems.change_action_item(iid, int(n), call.body(), call.now, call.cfg)


def _remove_override(call: Call):
    oncall.remove_override(call.parts[2])
    return "", 204


def _when(call: Call) -> datetime:
    at = call.arg("at")
    return given_time(at, "at", call.cfg.team.zone) if at else call.now


# (method, path pattern, route): the path is matched against /api/<...> without the prefix; {id} is one segment
ROUTES: list[tuple[str, str, Callable[[Call], object]]] = [
    ("GET", "incidents", _incidents),
    ("GET", "incidents/{id}", lambda c: incident_view(actions.get(c.parts[1]))),
    ("DELETE", "incidents/{id}", _remove_smoke_test),
    ("GET", "incidents/{id}/notifications",
     lambda c: {"notifications": [notification_view(r) for r in listing.notifications(actions.get(c.parts[1]).id)]}),
    ("GET", "incidents/{id}/status-updates", lambda c: status_updates.listing(c.parts[1])),
    ("POST", "incidents/{id}/status-updates", _post_status_update),
    ("POST", "incidents/{id}/{action}", _act),
    ("GET", "oncall", lambda c: on_call_view(_when(c), c.cfg)),
    ("POST", "oncall/overrides", lambda c: (override_view(oncall.add_override(c.body(), c.now, c.cfg)), 201)),
    ("DELETE", "oncall/overrides/{id}", _remove_override),
    ("GET", "silences", lambda c: silences.listing(c.arg("state"), c.now, c.arg("limit"), c.arg("cursor"))),
    ("POST", "silences", _add_silence),
    ("DELETE", "silences/{id}", lambda c: silences.delete(c.parts[1], c.body().get("actor"), c.now, c.cfg)),
    ("GET", "handoff", lambda c: handoff_view(c.now, c.cfg)),
    ("POST", "handoff/notes", lambda c: (_note_view(oncall.add_handoff_note(c.body(), c.now, c.cfg)), 201)),
    ("GET", "postmortems/{id}.md", _postmortem_markdown),
    ("GET", "postmortems/{id}", lambda c: postmortems.get(actions.incident_id(c.parts[1]))),
    ("PUT", "postmortems/{id}", _changed_postmortem(lambda iid, c: postmortems.edit(iid, c.body(), c.now, c.cfg))),
    ("POST", "postmortems/{id}/action-items",
     _changed_postmortem(lambda iid, c: postmortems.add_action_item(iid, c.body(), c.now, c.cfg)[1:], 201)),
    ("PATCH", "postmortems/{id}/action-items/{n}", _changed_postmortem(_action_item)),
    ("POST", "postmortems/{id}/reviewed", lambda c: postmortems.reviewed(actions.incident_id(c.parts[1]), c.body(),
                                                                          c.now, c.cfg)),
    ("GET", "reports/{day}", lambda c: daily.stored(c.parts[1])),
    ("GET", "metrics", lambda c: metrics.between(c.arg("from"), c.arg("to"), c.now, c.cfg)),
]


def _note_view(note: dict) -> dict:
    return {"id": note["id"], "actor": note["actor"], "text": note["text"], "at": iso(note["at"])}


def _pattern(path: str) -> re.Pattern:
    """A route's path as a regular expression: each {name} is one segment (one that is not a Markdown name,
    which only a route ending in .md takes)."""
    segment = r"(?:(?!\.md$)[^/])+"
    return re.compile("^" + re.sub(r"\\\{\w+\\\}", segment.replace("\\", "\\\\"), re.escape(path)) + "$")


_TABLE = [(method, _pattern(path), path, route) for method, path, route in ROUTES]


def route(method: str, path: str) -> Callable[[Call], object]:
    """Return the route for a method and a path (without /api); 404 for an unknown path, 405 (with Allow) for a
    known path and another method. HEAD is GET without the body."""
    methods: dict[str, Callable[[Call], object]] = {}
    for method_, pattern, _, handler in _TABLE:   # the first route that matches a method wins
        if pattern.match(path):
            methods.setdefault(method_, handler)
    if not methods:
        raise errors.NotFound("not found; the API's paths are in docs/api.md")
    if "GET" in methods:   # HEAD is GET without the body, listed beside it
        methods = {"GET": methods["GET"], "HEAD": methods["GET"], **methods}
    http.allow(method, *methods)
    return methods[method]


def serve(request) -> tuple:
    """Answer one API request."""
    path = "/".join(p for p in request.path.split("/") if p)
    call = Call(request, tuple(path.split("/")) if path else (), http.now(), config())

    def handle():
        authenticate(request.headers.get("Authorization", ""))
        answer = route(request.method, path)(call)
        if isinstance(answer, tuple) and isinstance(answer[0], str):   # text with its status and headers
            return answer
        payload, status = answer if isinstance(answer, tuple) else (answer, 200)
        return http.json_response(payload, status) if status != 204 else ("", 204)

    return http.guarded(handle, request, FIRESTORE_DEADLINE)
