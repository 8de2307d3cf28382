"""Serve every function's real entry point under /<function>/ on one port.

Each functions/<name>/main.py is loaded with functions_framework.create_app(target=<name>), exactly as
Cloud Functions loads it, and mounted so that the function sees the same request.path it would see
deployed (/ingest/sentry -> "/sentry").
"""
from __future__ import annotations

import argparse
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
        if request.path != "/":
            return Response(json.dumps({"error": f"no function at {request.path}", "functions": names}), 404,
                            content_type="application/json")
        return Response(json.dumps({"functions": {n: f"{request.host_url}{n}/" for n in names}}),
                        content_type="application/json")

    return DispatcherMiddleware(index, mounts)


class _Handler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive, as Cloud Functions' front end gives; one access-log line per non-200 answer."""

    protocol_version = "HTTP/1.1"
    quiet = False

    def log_request(self, code="-", size="-"):
        if not self.quiet and str(code) != "200":
            super().log_request(code, size)


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
    print(f"serving {', '.join(function_names())} on http://{args.host}:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
