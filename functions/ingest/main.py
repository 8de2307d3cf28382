"""Cloud Function `ingest`: alert webhooks in, deduplicated incidents out.

GET  /ingest/                 the sources it accepts (liveness)
GET  /ingest/health           the alerting system's own health: 503 when the sweep stalls or notifications wait
POST /ingest/<source>         one webhook delivery; answers {"incident", "status"}
"""
import functions_framework

from shared.incidents import webhook as ingestion
from shared.reports import health
from shared.web import http as web

web.start()  # the team file and the environment are checked before the first request: a bad one stops the start
FIRESTORE_DEADLINE = 0.8  # Sentry gives a webhook 1 s: when Firestore cannot be reached, say 503 before that


@functions_framework.http
def ingest(request):
    path = request.path.strip("/")

    def handle():
        if not path:
            web.allow(request.method, "GET", "HEAD")
            return web.json_response(ingestion.listing())
        if path == "health":
            web.allow(request.method, "GET", "HEAD")
            return web.json_response(*health.check(web.now()))
        web.allow(request.method, "POST")
        body = web.read_body(request)
        return web.json_response(*ingestion.handle(path, web.inbound(request, body), web.now()))

    return web.guarded(handle, request, FIRESTORE_DEADLINE)
