"""Cloud Function `api`: incidents, on-call, handoff, metrics, silences, postmortems, reports and status updates
(Authorization: Bearer API_TOKEN). Its routes are the table in shared/web/api.py; docs/api.md lists them."""
import functions_framework

from shared.web import api as json_api
from shared.web import http

http.start()  # the team file and the environment are checked before the first request: a bad one stops the start


@functions_framework.http
def api(request):
    return json_api.serve(request)
