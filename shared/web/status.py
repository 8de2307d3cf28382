"""The status function's transport: the public status page (HTML, no JavaScript) and its Statuspage v2 JSON
documents under /api/v2/. Public and read-only: nothing internal is shown (shared/status/page.py decides what is).

A shared cache keeps an answer under its URL alone, so no answer it may keep depends on a request header: the
links start at PUBLIC_URL (never at the request's Host or X-Forwarded-Host, which the sender chooses), and answers
that do depend on one (a 400 or 413 for the request's Content-Length, a 500 naming its Request-ID) are no-store.
"""
from __future__ import annotations

from shared.config import config
from shared.config.settings import settings
from shared.errors import NotFound
from shared.status import page as status_page
from shared.web import http

CACHE_CONTROL = "public, max-age=30"
NO_STORE = "no-store"
CACHEABLE = (200, 404, 405)   # answers that depend on the method and the path only
MOUNT = "/status/"            # where the function is served under PUBLIC_URL (Cloud Functions, ./deploy.sh local)
API = "/api/v2/"


def page_url() -> str:
    """Return the page's address: under PUBLIC_URL, else the path alone (relative to whatever host was asked)."""
    return settings().public_url + MOUNT


def serve(request) -> tuple:
    """GET / (the page) or GET /api/v2/<document>.json."""
    def handle():
        http.allow(request.method, "GET", "HEAD")
        path, url = request.path, page_url()
        if path in ("", "/"):
            page = status_page.page(http.now(), config(), url)
            return page, 200, {"Content-Type": "text/html; charset=utf-8"}
        name = path[len(API):-len(".json")] if path.startswith(API) and path.endswith(".json") else None
        document = status_page.document(name, status_page.view(http.now(), config()), url) if name else None
        if document is None:
            raise NotFound(f"no status document at {path[:100]}")
        return status_page.json_text(document), 200, {"Content-Type": "application/json; charset=utf-8"}

    body, code, headers = http.guarded(handle, request)
    cache = CACHE_CONTROL if code in CACHEABLE else NO_STORE
    return body, code, {**headers, "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
