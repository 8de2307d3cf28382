"""Cloud Function `status`: the public, read-only status page (no auth; nothing internal is shown).

GET /status/                               the page (HTML, no JavaScript)
GET /status/api/v2/summary.json            Atlassian Statuspage v2 shape; also status.json, components.json,
                                           incidents.json, incidents/unresolved.json, scheduled-maintenances.json,
                                           scheduled-maintenances/upcoming.json, scheduled-maintenances/active.json
"""
import functions_framework

from shared.config import config
from shared.errors import NotFound
from shared.status import page as status_page
from shared.web import http as web

web.start()
CACHE_CONTROL = "public, max-age=30"
API = "/api/v2/"


@functions_framework.http
def status(request):
    def handle():
        web.allow(request.method, "GET", "HEAD")
        path, url = request.path, request.url_root
        if path in ("", "/"):
            page = status_page.page(web.now(), config(), url)
            return page, 200, {"Content-Type": "text/html; charset=utf-8"}
        name = path[len(API):-len(".json")] if path.startswith(API) and path.endswith(".json") else None
        document = status_page.document(name, status_page.view(web.now(), config()), url) if name else None
        if document is None:
            raise NotFound(f"no status document at {path[:100]}")
        return status_page.json_text(document), 200, {"Content-Type": "application/json; charset=utf-8"}

    body, code, headers = web.guarded(handle, request)
    return body, code, {**headers, "Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
