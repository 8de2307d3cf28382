"""Serve every function's real entry point under /<function>/ on one port.

Each functions/<name>/main.py is loaded with functions_framework.create_app(target=<name>), exactly as
Cloud Functions loads it, and mounted so that the function sees the same request.path it would see
deployed (/ingest/sentry -> "/sentry").
"""
from __future__ import annotations

import argparse
import contextlib
import html
import json
from pathlib import Path

import functions_framework
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

ROOT = Path(__file__).resolve().parents[2]


def function_names(root: Path = ROOT) -> list[str]:
    """Return the functions present in functions/ (a new folder is mounted with no code change)."""
    return sorted(p.parent.name for p in (root / "functions").glob("*/main.py"))


def build_app(root: Path = ROOT):
    """Return one WSGI app with each function mounted under /<name>."""
    names = function_names(root)
    mounts = {f"/{name}": functions_framework.create_app(target=name, source=str(root / "functions" / name / "main.py"))
              for name in names}

    @Request.application
    def index(request: Request) -> Response:
        if request.path == "/_local/notifications":
            return Response(notifications_page(), content_type="text/html; charset=utf-8")
        if request.path != "/":
            return Response(json.dumps({"error": f"no function at {request.path}", "functions": names}), 404,
                            content_type="application/json")
        return Response(json.dumps({"functions": {n: f"{request.host_url}{n}/" for n in names},
                                    "notifications": f"{request.host_url}_local/notifications"}),
                        content_type="application/json")

    return DispatcherMiddleware(index, mounts)


class _Handler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive, as Cloud Functions' front end gives; one access-log line per non-200 answer."""

    protocol_version = "HTTP/1.1"
    quiet = False

    def log_request(self, code="-", size="-"):
        if not self.quiet and str(code) != "200":
            super().log_request(code, size)


def notifications_page() -> str:
    """Render the messages channels without credentials would have sent, newest first."""
    from shared.config import config
    from shared.notify.render import local_time
    from shared.store.outbox import list_previews

    rows = []
    for p in list_previews(200):
        rows.append(f"<article><header><b>{html.escape(p['channel'])}</b> · {html.escape(p['reason'])} · "
                    f"{html.escape(p['incident_id'])} · {html.escape(local_time(p['at'], config()))}</header>"
                    f"<pre>{html.escape(p['text'])}</pre></article>")
    body = "\n".join(rows) or "<p>No notifications yet. Send an alert (see README) and reload.</p>"
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Notifications (local preview)</title>"
            "<meta http-equiv='refresh' content='5'>"
            "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}"
            "article{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}"
            "pre{white-space:pre-wrap;font-family:inherit}</style></head><body>"
            "<h1>Notifications (local preview)</h1><p>Channels with no credentials configured show their messages "
            f"here instead of sending them.</p>{body}</body></html>")


def warm_emulator() -> None:
    """Exercise the kinds of call an alert makes, so a fresh emulator's JIT is not paid by the first alert."""
    from datetime import datetime, timezone

    from google.cloud import firestore

    from shared.store.client import client
    db = client()
    ref = db.collection("_warm_up").document("ping")
    for _ in range(3):
        list(db.get_all([ref, db.collection("_warm_up").document("pong")]))
        batch = db.batch()
        batch.set(ref, {"at": datetime.now(timezone.utc)})
        batch.commit()
        firestore.transactional(lambda tx: ref.get(transaction=tx))(db.transaction())
        list(db.collection("_warm_up").where(filter=firestore.FieldFilter("at", "<=", datetime.now(timezone.utc)))
             .limit(1).stream())
        ref.delete()


def make_local_server(host: str = "127.0.0.1", port: int = 0, quiet: bool = False, app=None):
    """Return a threaded HTTP server for build_app(); port 0 picks a free one (server.server_port)."""
    handler = type("Handler", (_Handler,), {"quiet": quiet})
    return make_server(host, port, app or build_app(), threaded=True, request_handler=handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    server = make_local_server(args.host, args.port)
    warm_emulator()
    print(f"serving {', '.join(function_names())} on http://{args.host}:{server.server_port}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
