"""Cloud Function `ingest`: alert webhooks in, deduplicated incidents out.

GET  /ingest/                 the sources it accepts (health check)
POST /ingest/<source>         one webhook delivery; answers {"incident", "status"}
"""
import functions_framework

from shared import ingestion, web

web.preload("shared.notify.delivery")  # before the first alert: team file, Firestore, notifiers


@functions_framework.http
def ingest(request):
    path = request.path.strip("/")

    def handle():
        if not path:
            if request.method not in ("GET", "HEAD"):
                raise web.method_not_allowed("GET")
            return web.json_response(ingestion.listing())
        if request.method != "POST":
            raise web.method_not_allowed("POST")
        body = web.read_body(request)
        return web.json_response(*ingestion.handle(path, web.inbound(request, body), web.now()))

    return web.guarded(handle, request)
