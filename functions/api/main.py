"""Cloud Function `api`: the incidents API (Authorization: Bearer API_TOKEN).

GET /api/incidents?status=open&limit=100
GET /api/incidents/<id>
"""
import functions_framework

from shared import api as incidents_api
from shared import web

web.preload()


@functions_framework.http
def api(request):
    parts = [p for p in request.path.split("/") if p]

    def handle():
        incidents_api.authenticate(request.headers.get("Authorization", ""))
        if parts[:1] != ["incidents"] or len(parts) > 2:
            raise web.HTTPError(404, "not found; try /api/incidents or /api/incidents/<id>")
        if request.method not in ("GET", "HEAD"):
            raise web.method_not_allowed("GET")
        if len(parts) == 1:
            args = request.args
            return web.json_response(incidents_api.list_incidents(args.get("status"), args.get("limit")))
        return web.json_response(incidents_api.get_incident(parts[1]))

    return web.guarded(handle, request)
