"""Cloud Function `api`: incidents and on-call (Authorization: Bearer API_TOKEN).

GET    /api/incidents?status=open&limit=100        GET /api/incidents/<id>
POST   /api/incidents/<id>/ack|resolve|severity|note   {"actor": ..., "severity"/"text"/"reason"/"detail": ...}
GET    /api/incidents/<id>/status-updates          POST /api/incidents/<id>/status-updates  (public updates)
GET    /api/oncall?at=<iso>                        POST /api/oncall/overrides   DELETE /api/oncall/overrides/<id>
GET    /api/handoff                                POST /api/handoff/notes      GET /api/metrics?from=&to=
GET    /api/reports/<YYYY-MM-DD>
GET    /api/silences?state=                   POST /api/silences           DELETE /api/silences/<id>
"""
import functions_framework

from shared import silences
from shared.web import api as incidents_api
from shared.web import http as web

web.start()
FIRESTORE_DEADLINE = 3.0  # seconds before a person's request is answered 503 when Firestore cannot be reached


@functions_framework.http
def api(request):
    parts = [p for p in request.path.split("/") if p]
    method, now = request.method, web.now()

    def handle():
        incidents_api.authenticate(request.headers.get("Authorization", ""))
        route = (parts[0] if parts else "", len(parts))
        if route == ("incidents", 3) and parts[2] == "status-updates":
            web.allow(method, "GET", "HEAD", "POST")
            if method == "POST":
                update, new = incidents_api.post_status_update(parts[1], web.read_json(request),
                                                               request.headers.get("Idempotency-Key"), now)
                return web.json_response(update, 201 if new else 200)
            return web.json_response(incidents_api.status_updates(parts[1]))
        if route == ("incidents", 3):
            web.allow(method, "POST")
            return web.json_response(incidents_api.act(parts[1], parts[2], web.read_json(request), now))
        if route in (("incidents", 1), ("incidents", 2)):
            web.allow(method, "GET", "HEAD")
            if len(parts) == 1:
                return web.json_response(incidents_api.list_incidents(request.args.get("status"),
                                                                      request.args.get("limit"), request.args))
            return web.json_response(incidents_api.get_incident(parts[1]))
        if route == ("oncall", 1):
            web.allow(method, "GET", "HEAD")
            return web.json_response(incidents_api.who_is_on_call(request.args.get("at"), now))
        if route == ("oncall", 2) and parts[1] == "overrides":
            web.allow(method, "POST")
            return web.json_response(incidents_api.add_override(web.read_json(request), now), 201)
        if route == ("oncall", 3) and parts[1] == "overrides":
            web.allow(method, "DELETE")
            incidents_api.delete_override(parts[2])
            return "", 204
        if route == ("silences", 1):
            web.allow(method, "GET", "HEAD", "POST")
            if method == "POST":
                return web.json_response(incidents_api.add_silence(web.read_json(request), now), 201)
            return web.json_response(silences.listing(request.args.get("state"), now))
        if route == ("silences", 2):
            web.allow(method, "DELETE")
            return web.json_response(incidents_api.delete_silence(parts[1], web.read_json(request), now))
        if route == ("handoff", 1):
            web.allow(method, "GET", "HEAD")
            return web.json_response(incidents_api.handoff_now(now))
        if route == ("handoff", 2) and parts[1] == "notes":
            web.allow(method, "POST")
            return web.json_response(incidents_api.add_handoff_note(web.read_json(request), now), 201)
        if route == ("postmortems", 2):
            name = parts[1]
            if name.endswith(".md"):
                web.allow(method, "GET", "HEAD")
                text = incidents_api.postmortem_markdown(name[:-3])
                return text, 200, {"Content-Type": "text/markdown; charset=utf-8"}
            web.allow(method, "GET", "HEAD", "PUT")
            if method == "PUT":
                return web.json_response(incidents_api.edit_postmortem(name, web.read_json(request), now))
            return web.json_response(incidents_api.postmortem(name))
        if route == ("postmortems", 3) and parts[2] in ("action-items", "reviewed"):
            web.allow(method, "POST")
            handler = incidents_api.add_action_item if parts[2] == "action-items" else incidents_api.review_postmortem
            return web.json_response(handler(parts[1], web.read_json(request), now), 201 if parts[2] == "action-items"
                                     else 200)
        if route == ("postmortems", 4) and parts[2] == "action-items":
            web.allow(method, "PATCH")
            return web.json_response(incidents_api.change_action_item(parts[1], parts[3], web.read_json(request),
                                                                      now))
        if route == ("reports", 2):
            web.allow(method, "GET", "HEAD")
            return web.json_response(incidents_api.report(parts[1]))
        if route == ("metrics", 1):
            web.allow(method, "GET", "HEAD")
            return web.json_response(incidents_api.metrics(request.args.get("from"), request.args.get("to"), now))
        raise web.errors.NotFound("not found; see the README for the API's paths")

    return web.guarded(handle, request, FIRESTORE_DEADLINE)
