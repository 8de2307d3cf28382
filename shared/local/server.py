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
from werkzeug.serving import run_simple
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    run_simple(args.host, args.port, build_app(), threaded=True, use_reloader=False, request_handler=_QuietHandler)


from werkzeug.serving import WSGIRequestHandler  # noqa: E402


class _QuietHandler(WSGIRequestHandler):
    """Keep the access log, but as one short line per request."""

    def log_request(self, code="-", size="-"):
        if str(code) != "200" or not self.path.startswith("/ingest/"):
            super().log_request(code, size)


if __name__ == "__main__":
    main()
