"""Cloud Function `status`: the public, read-only status page (no auth; nothing internal is shown).

GET /status/                               the page (HTML, no JavaScript)
GET /status/api/v2/summary.json            Atlassian Statuspage v2 shape; also status.json, components.json,
                                           incidents.json, incidents/unresolved.json, scheduled-maintenances.json,
                                           scheduled-maintenances/upcoming.json, scheduled-maintenances/active.json
"""
import functions_framework

from shared.web import http
from shared.web import status as transport

http.start()


@functions_framework.http
def status(request):
    return transport.serve(request)
