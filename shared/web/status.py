"""The status function's transport: the public status page (HTML, no JavaScript) and its Statuspage v2 JSON
documents under /api/v2/. Public and read-only: nothing internal is shown (shared/status/page.py decides what is).
"""
from __future__ import annotations

from shared.config import config
from shared.errors import NotFound
from shared.status import page as status_page
from shared.web import http

CACHE_CONTROL = "public, max-age=30"
API = "/api/v2/"


def serve(request) -> tuple:
    """GET / (the page) or GET /api/v2/<document>.json."""
    def handle():
        http.allow(request.method, "GET", "HEAD")
        path, url = request.path, request.url_root
        if path in ("", "/"):
            page = status_page.page(http.now(), config(), url)
            return page, 200, {"Content-Type": "text/html; charset=utf-8"}
        name = path[len(API):-len(".json")] if path.startswith(API) and path.endswith(".json") else None
        document = status_page.document(name, status_page.view(http.now(), config()), url) if name else None
        if document is None:
            raise NotFound(f"no status document at {path[:100]}")
        return status_page.json_text(document), 200, {"Content-Type": "application/json; charset=utf-8"}

    body, code, headers = http.guarded(handle, request)
    return body, code, {**headers, "Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
