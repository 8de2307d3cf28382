"""Cloud Function `ingest`: alert webhooks in, deduplicated incidents out.

GET  /ingest/                 the sources it accepts (liveness)
GET  /ingest/health           the alerting system's own health: 503 when the sweep stalls or notifications wait
POST /ingest/<source>         one webhook delivery; answers {"incident", "status"} (UptimeRobot: GET too)
"""
import functions_framework

from shared.web import http
from shared.web import ingest as transport

http.start()  # the team file and the environment are checked before the first request: a bad one stops the start


@functions_framework.http
def ingest(request):
    return transport.serve(request)
