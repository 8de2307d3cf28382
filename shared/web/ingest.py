"""The ingest function's transport: alert webhooks in (POST /ingest/<source>), the accepted sources and the
alerting system's own health out."""
from __future__ import annotations

from shared.incidents import webhook
from shared.reports import health
from shared.web import http

FIRESTORE_DEADLINE = 0.8  # Sentry gives a webhook 1 s: when Firestore cannot be reached, say 503 before that


def serve(request) -> tuple:
    """GET / (the sources), GET /health (the system's health), POST /<source> (one delivery; GET too for a
    source that sends its fields in the query string)."""
    path = request.path.strip("/")

    def handle():
        if not path:
            http.allow(request.method, "GET", "HEAD")
            return http.json_response(webhook.listing())
        if path == "health":
            http.allow(request.method, "GET", "HEAD")
            return http.json_response(*health.check(http.now()))
        http.allow(request.method, *webhook.methods(path))
        body = http.read_body(request)
        return http.json_response(*webhook.handle(path, http.inbound(request, body), http.now()))

    return http.guarded(handle, request, FIRESTORE_DEADLINE)
