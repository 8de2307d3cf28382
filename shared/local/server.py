"""Serve every function's real entry point under /<function>/ on one port.

Each functions/<name>/main.py is loaded with functions_framework.create_app(target=<name>), exactly as
Cloud Functions loads it, and mounted so that the function sees the same request.path it would see
deployed (/ingest/sentry -> "/sentry").
"""
from __future__ import annotations

import argparse
import contextlib
import json
import re
import threading
from pathlib import Path

import functions_framework
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

ROOT = Path(__file__).resolve().parents[2]
READ_TIMEOUT = 10.0        # seconds a client may leave the server waiting for its request (or its body) to arrive
DRAIN_LIMIT = 1024 * 1024  # bytes of a body nobody read that are discarded after the answer, before closing


def function_names(root: Path = ROOT) -> list[str]:
    """Return the functions present in functions/ (a new folder is mounted with no code change)."""
    return sorted(p.parent.name for p in (root / "functions").glob("*/main.py"))


# What production serves without a token or IAM: the only functions the public port serves. Everything else
# (the API, the console, the sweep, the daily summary, the notification preview) stays on the private port.
PUBLIC_FUNCTIONS = ("ingest", "interactions", "status")


def build_app(root: Path = ROOT, public: bool = False):
    """Return one WSGI app with each function mounted under /<name> (public: only PUBLIC_FUNCTIONS, no preview)."""
    names = [n for n in function_names(root) if not public or n in PUBLIC_FUNCTIONS]
    mounts = {f"/{name}": functions_framework.create_app(target=name, source=str(root / "functions" / name / "main.py"))
              for name in names}

    @Request.application
    def public_index(request: Request) -> Response:
        return Response(json.dumps({"error": f"not served on the public port: {request.path[:100]}",
                                    "served": [f"/{n}/" for n in names]}), 404, content_type="application/json")

    if public:
        return DispatcherMiddleware(public_index, mounts)

    @Request.application
    def index(request: Request) -> Response:
        if request.path == "/_local/notifications":
            from shared.local import preview_page  # reads the team file and Firestore: only when asked for
            return Response(preview_page.render_page(), content_type="text/html; charset=utf-8",
                            headers=preview_page.HEADERS)
        if request.path != "/":
            return Response(json.dumps({"error": f"no function at {request.path}", "functions": names}), 404,
                            content_type="application/json")
        return Response(json.dumps({"functions": {n: f"{request.host_url}{n}/" for n in names},
                                    "notifications": f"{request.host_url}_local/notifications"}),
                        content_type="application/json")

    return DispatcherMiddleware(index, mounts)


class _DrainLimit:
    """The connection's input once the request is handed to the app: only werkzeug reads it from then on.

    After each answer werkzeug's dev server reads and discards whatever the client is still sending,
    10 MB at a time, up to 10 GB (so that the client sees the answer rather than a reset). For a body
    refused unread (413, a lying Content-Length) that is the whole hostile body: here the discarding
    stops after DRAIN_LIMIT bytes, read in small pieces, and the connection is closed (it always is).
    """

    def __init__(self, rfile, limit: int):
        self._rfile, self._left = rfile, limit

    def read(self, size: int | None = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size is None or size < 0 else size
        try:
            data = self._rfile.read1(min(size, self._left, 64 * 1024))
        except (OSError, ValueError):  # reset, timed out, closed: nothing more to discard
            return b""
        self._left -= len(data)
        return data

    def __getattr__(self, name: str):
        return getattr(self._rfile, name)


_QUERY_VALUE = re.compile(r"([?&;][^=&;\s]{0,60}=)[^&;\s]*")
_SECRET_VALUE = re.compile(r"(?i)((?:token|secret|password|key|signature)[\w-]{0,30}\s*[=:]\s*)[^&;\s]+")
_CONTROL = str.maketrans({c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]})


def loggable(text: str, limit: int = 400) -> str:
    """Return a log-safe form of text holding a request target: every query value masked (`token=***`:
    an ingest token travels as ?token=), control characters escaped, at most `limit` characters."""
    text = _SECRET_VALUE.sub(r"\1***", _QUERY_VALUE.sub(r"\1***", text)).translate(_CONTROL)
    return text if len(text) <= limit else text[:limit] + "..."


class _Handler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive, as Cloud Functions' front end gives; one access-log line per non-200 answer.

    The access log shows paths with their query values masked, never a token; a request whose body
    does not arrive within READ_TIMEOUT is answered (400) instead of holding a thread forever.
    """

    protocol_version = "HTTP/1.1"
    quiet = False
    timeout = READ_TIMEOUT  # socketserver.StreamRequestHandler applies it to the connection

    def make_environ(self):
        environ = super().make_environ()
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1:  # werkzeug keeps only the last one; the app refuses a list (400)
            environ["CONTENT_LENGTH"] = ", ".join(v.strip() for v in lengths)
        self.rfile = _DrainLimit(self.rfile, DRAIN_LIMIT)  # environ["wsgi.input"] keeps the real one
        return environ

    def log_request(self, code="-", size="-"):
        if self.quiet or str(code) == "200":
            return
        if getattr(self, "path", None) is None:  # the request line could not be parsed
            line = self.requestline
        else:
            line = f"{self.command} {self.path} {self.request_version}"
        self.log("info", '"%s" %s %s', line, code, size)

    def log(self, type: str, message: str, *args) -> None:
        super().log(type, "%s", loggable(message % args if args else message))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer a request http.server could not parse in JSON, without echoing its request line."""
        self.log_error("code %d, message %s", code, message or "")
        what = (message or self.responses.get(code, ("error",))[0]).split(" (")[0][:80]
        body = json.dumps({"error": what}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)


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


def make_local_server(host: str = "127.0.0.1", port: int = 0, quiet: bool = False, app=None,
                      read_timeout: float = READ_TIMEOUT):
    """Return a threaded HTTP server for build_app(); port 0 picks a free one (server.server_port)."""
    handler = type("Handler", (_Handler,), {"quiet": quiet, "timeout": read_timeout})
    return make_server(host, port, app or build_app(), threaded=True, request_handler=handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--public-port", type=int, default=8081,
                        help="the port a tunnel may expose: only " + ", ".join(f"/{n}/" for n in PUBLIC_FUNCTIONS))
    args = parser.parse_args()
    server = make_local_server(args.host, args.port)
    public = make_local_server(args.host, args.public_port, app=build_app(public=True))
    threading.Thread(target=public.serve_forever, name="public-port", daemon=True).start()
    warm_emulator()
    print(f"serving {', '.join(function_names())} on http://{args.host}:{server.server_port}/; "
          f"only {', '.join(n for n in function_names() if n in PUBLIC_FUNCTIONS)} on the public port "
          f"http://{args.host}:{public.server_port}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
