"""Ingest benchmark: latency through the real HTTP server against the Firestore emulator.

Run with ./deploy.sh bench (or ./deploy.sh bench hot notify ... for some of them). Prints, for 1,000 warm requests each:
  - one bare Firestore write (the yardstick, measured in the same run),
  - the new-incident path and the duplicate path (Sentry, signed, with Request-ID claims),
  - the UptimeRobot duplicate path (no Request-ID),
with Firestore reads and writes per request counted on the wire to the emulator (in a pass of 100 requests of
their own: the tap's forwarding would slow the timed ones); and the cold start of a fresh server process
(process start to first answered alert).
"""
from __future__ import annotations

import contextlib
import copy
import http.client
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
N = int(os.environ.get("BENCH_N", "1000"))
WARM = 20
COUNTED = 100   # requests per path counted through the tap, after the timed ones
SECRET = "bench-sentry-secret"
os.environ.update({"SENTRY_CLIENT_SECRET": SECRET, "INGEST_TOKEN": "bench-token", "API_TOKEN": "bench-api",
                   "LOG_LEVEL": "ERROR"})  # one log line per request would measure the terminal, not ingest
# figures only: the SMTP test server says "Session.login_data is deprecated" at every login, and prints the
# traceback of a session whose client hung up (the email channel retries; the figures count what arrived)
logging.getLogger("mail.log").setLevel(logging.CRITICAL)
warnings.filterwarnings("ignore", category=DeprecationWarning)

from shared.sources.common import hmac_sha256  # noqa: E402
from shared.store.client import client as firestore_client  # noqa: E402
from tests.bench import interactions as interactions_bench  # noqa: E402  (sets its environment first)
from tests.fakes.firestore_tap import tapped  # noqa: E402

ISSUE = json.loads((ROOT / "tests/fixtures/sentry_issue_created.json").read_text())


def signed(payload: dict) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    return body, {"Content-Type": "application/json", "Request-ID": uuid.uuid4().hex, "Sentry-Hook-Resource": "issue",
                  "Sentry-Hook-Timestamp": str(int(time.time())),
                  "Sentry-Hook-Signature": hmac_sha256(SECRET, body)}


def issue(issue_id: str) -> dict:
    payload = copy.deepcopy(ISSUE)
    payload["data"]["issue"]["id"] = issue_id
    return payload


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def row(name: str, samples: list[float], reads: float | None = None, writes: float | None = None, extra: str = ""):
    rw = f"{reads:6.2f} {writes:7.2f}" if reads is not None else " " * 14
    print(f"  {name:<40} {pct(samples, .5):8.2f} {pct(samples, .99):8.2f} {max(samples) * 1000:8.2f} {rw}  {extra}")


def bare_write_function():
    """A function that does one bare Firestore write: the yardstick measured through the same server."""
    import flask

    app = flask.Flask("bench_bare")

    @app.post("/")
    def write():
        firestore_client().collection("bench_bare_http").document(uuid.uuid4().hex).set({"at": time.time()})
        return {"ok": True}
    return app


def serve() -> tuple[int, object]:
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from shared.local.server import build_app, make_local_server

    app = DispatcherMiddleware(build_app(), {"/bench_bare": bare_write_function()})
    server = make_local_server(quiet=True, app=app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_port, server


class Http:
    """A lean keep-alive HTTP/1.1 client, so the figures are the server's, not the client library's."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def post(self, path: str, body: bytes, headers: dict) -> dict:
        self.conn.request("POST", path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        assert response.status == 200, (response.status, data)
        return json.loads(data)


@contextlib.contextmanager
def alone(target: str, env: dict | None = None, python: tuple[str, ...] = (), stderr=subprocess.DEVNULL,
          source: str = "", folder: Path = ROOT):
    """Start one function alone as Cloud Functions does (the functions-framework CLI) in `folder` (the repository,
    or a folder the deploy staged); yield (port, seconds until it accepted connections), and stop it after.
    `python`: interpreter options (then the CLI's script runs under sys.executable with them); `source`: its
    main.py when not functions/{target}/main.py."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    cli = [str(Path(sys.executable).parent / "functions-framework")]
    if python:
        cli = [sys.executable, *python, *cli]
    proc = subprocess.Popen([*cli, "--target", target, "--source", source or f"functions/{target}/main.py",
                             "--host", "127.0.0.1", "--port", str(port)], cwd=folder,
                            env={**os.environ, "PYTHONPATH": str(folder), **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"{target} exited with status {proc.returncode} before it listened") from None
                time.sleep(0.005)
        yield port, time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def staged_ingest():
    """Yield ingest's folder as `./deploy.sh gcp` stages it (main.py, shared/, the team file and its checked form)
    and the environment it runs with there."""
    from deploy import stage
    from deploy.target import TEAM_FILE
    from shared.config import DEFAULT_CONFIG

    with tempfile.TemporaryDirectory() as dest:
        team_file = Path(os.environ.get("INCIDENT_CONFIG") or DEFAULT_CONFIG)
        yield stage.stage("ingest", team_file, Path(dest)), {"INCIDENT_CONFIG": TEAM_FILE}


def cold_start(env: dict | None = None, floor: bool = False, folder: Path = ROOT) -> tuple[float, float]:
    """Start the ingest function alone (gunicorn under the CLI) in `folder`, or with `floor` the yardstick beside
    it (tests/bench/floor/main.py); return (seconds until it accepts connections, seconds its first request
    takes: an alert that opens an incident, or the yardstick's one stored document)."""
    target, source = (("floor", str(ROOT / "tests/bench/floor/main.py")) if floor
                      else ("ingest", "functions/ingest/main.py" if folder == ROOT else "main.py"))
    with (alone(target, env, source=source, folder=folder) as (port, ready),
          httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client):
        body, headers = signed(issue(f"cold-{uuid.uuid4().hex[:8]}"))
        first = time.perf_counter()
        r = client.post("/sentry", content=body, headers=headers)  # deployed alone: the function is at /
        assert r.status_code == 200, r.text
        return ready, time.perf_counter() - first


# what the imports of a cold start are, by whose they are (the first match of a module's top-level name)
IMPORT_GROUPS = (("the product's own modules", ("shared",)),
                 ("pydantic and PyYAML (the team file's checks)", ("pydantic", "pydantic_core", "annotated_types",
                                                                   "typing_inspection", "yaml")),
                 ("functions-framework, Flask, gunicorn", ("functions_framework", "flask", "werkzeug", "click",
                                                           "gunicorn", "jinja2", "cloudevents", "markupsafe",
                                                           "itsdangerous", "blinker", "watchdog")),
                 ("Firestore's client (gRPC, protobuf, google-auth, api-core)", ("google", "grpc", "proto",
                                                                                "requests", "urllib3", "cryptography",
                                                                                "charset_normalizer", "idna",
                                                                                "certifi", "pyasn1", "rsa",
                                                                                "cachetools", "pyasn1_modules")),
                 ("httpx (the channels' HTTP client)", ("httpx", "httpcore", "h11", "anyio", "sniffio")))


def import_breakdown(env: dict, folder: Path) -> dict[str, float]:
    """Start the ingest function once under `python -X importtime` and answer one alert; return the seconds of
    import each group took (self times summed over every module, in master and worker: the tool adds some
    time of its own, so these are shares more than exact figures)."""
    with tempfile.TemporaryFile("w+") as log:
        with (alone("ingest", env, python=("-X", "importtime"), stderr=log, source="main.py", folder=folder)
              as (port, _ready),
              httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client):
            body, headers = signed(issue(f"cold-{uuid.uuid4().hex[:8]}"))
            assert client.post("/sentry", content=body, headers=headers).status_code == 200
        log.seek(0)
        groups: dict[str, float] = {}
        for line in log:
            parts = line.split("|")
            if not line.startswith("import time:") or len(parts) != 3 or not parts[0].split(":")[1].strip().isdigit():
                continue
            top = parts[2].strip().split(".")[0]
            name = next((label for label, names in IMPORT_GROUPS if top in names), "Python's standard library")
            groups[name] = groups.get(name, 0.0) + max(int(parts[0].split(":")[1]), 0) / 1e6
        return groups


def main() -> None:
    from google.cloud import firestore

    db = firestore_client()
    yardstick = firestore.Client(project=db.project).collection("bench_bare")  # a second client
    port, server = serve()
    client = Http(port)
    run = uuid.uuid4().hex[:8]
    print(f"ingest benchmark: {N} warm requests per path, one at a time over HTTP/1.1 keep-alive, each interleaved "
          "with the two yardsticks so all see the same emulator state")
    print(f"  {'path':<40} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'reads':>6} {'writes':>7}")

    def sentry(issue_id: str) -> None:
        body, headers = signed(issue(issue_id))
        client.post("/ingest/sentry", body, headers)

    def uptime(_i: int) -> None:
        body = json.dumps({"monitorID": f"bench-{run}", "alertType": "1", "alertDetails": "timeout"}).encode()
        client.post("/ingest/uptimerobot?token=bench-token", body, {"Content-Type": "application/json"})

    def bare_http(_i: int) -> None:
        client.post("/bench_bare/", b"{}", {"Content-Type": "application/json"})

    figures = {}

    def phase(name: str, request, note: str = "") -> None:
        for i in range(WARM * 10):  # JIT-warm the emulator and this process on every kind of call
            yardstick.document(f"warm{i}").set({"i": i})
            bare_http(i)
            request(-1 - i)
        bare, bare_over_http, samples = [], [], []
        for i in range(N):
            start = time.perf_counter()
            yardstick.document(f"w{i}").set({"i": i, "at": time.time()})
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            bare_http(i)
            bare_over_http.append(time.perf_counter() - start)
            start = time.perf_counter()
            request(i)
            samples.append(time.perf_counter() - start)
        with tapped() as counts:   # what the product's client reads and writes, on the wire
            for i in range(COUNTED):
                request(N + i)
            reads, writes = counts.snapshot()
        row("  bare write, in process", bare, 0.0, 1.0)
        row("  bare write, through the same server", bare_over_http, 0.0, 1.0)
        row(name, samples, reads / COUNTED, writes / COUNTED, note)
        figures[name] = (samples, bare, bare_over_http)

    phase("Sentry alert, new incident", lambda i: sentry(f"new-{run}-{i}"))
    sentry(f"dup-{run}")
    phase("Sentry alert, duplicate", lambda i: sentry(f"dup-{run}"), "(writes incl. the Request-ID claim)")
    uptime(0)
    phase("UptimeRobot alert, duplicate", uptime)

    for name in ("Sentry alert, duplicate", "UptimeRobot alert, duplicate"):
        samples, bare, bare_over_http = figures[name]
        print(f"  {name}: p50 {pct(samples, .5) / pct(bare, .5):.2f}x the in-process bare write, "
              f"{pct(samples, .5) / pct(bare_over_http, .5):.2f}x the bare write through the same server "
              f"(p99: {pct(samples, .99) / pct(bare, .99):.2f}x, {pct(samples, .99) / pct(bare_over_http, .99):.2f}x)")
    worst = max(max(samples) for samples, _, _ in figures.values()) * 1000
    print(f"  slowest of {3 * N} answers: {worst:.1f} ms (aim: every answer under 1000 ms)")
    server.shutdown()
    cold_starts()


def cold_starts(runs: int = 11) -> None:
    """The cold start of ingest under the functions-framework CLI, started from the folder the deploy stages (its
    team file's checked form beside it): as deploy.sh runs Python (no bytecode written, so the product's modules
    are compiled at each start) and with bytecode cached (as an image that ships compiled modules would start),
    the median of `runs`, beside the floor started in turn with it (the same moments of a machine whose speed
    drifts), then where the import time goes."""
    with tempfile.TemporaryDirectory() as cache, staged_ingest() as (folder, staged_env):
        cached = {"PYTHONPYCACHEPREFIX": cache, "PYTHONDONTWRITEBYTECODE": "", **staged_env}
        cold_start(cached, folder=folder)  # writes the bytecode
        cold_start(cached, floor=True)
        compiled, ingest, floor = [], [], []
        for _ in range(runs):
            compiled.append(cold_start({"PYTHONDONTWRITEBYTECODE": "1", **staged_env}, folder=folder))
            ingest.append(cold_start(cached, folder=folder))
            floor.append(cold_start(cached, floor=True))

        def median(starts: list[tuple[float, float]]) -> tuple[float, float]:
            return sorted(starts, key=sum)[len(starts) // 2]
        for label, starts in (("bytecode compiled at start", compiled), ("bytecode cached", ingest)):
            ready, first = median(starts)
            print(f"  cold start of `functions-framework --target ingest` in its staged folder, {label} (median of "
                  f"{runs}): accepts connections after {ready * 1000:.0f} ms, its first alert (a new incident; "
                  f"Firestore's client created on the way) takes {first * 1000:.0f} ms: {(ready + first) * 1000:.0f} "
                  "ms to the first answer (aim: under 500 ms)")
        floor_ready, floor_first = median(floor)
        print(f"  the floor beside it, bytecode cached (median of {runs}, started in turn with ingest): a function "
              f"with only functions-framework and Firestore's client that stores one document per request "
              f"(tests/bench/floor) accepts connections after {floor_ready * 1000:.0f} ms and answers its first "
              f"request {floor_first * 1000:.0f} ms later: {(floor_ready + floor_first) * 1000:.0f} ms")
        print(f"  ingest's first answer beside the floor's, both bytecode cached: "
              f"{sum(median(ingest)) / (floor_ready + floor_first):.2f}x (aim: at most 1.2x)")
        groups = import_breakdown(cached, folder)
    print(f"  its imports, bytecode cached (python -X importtime, self times summed, ms): "
          f"{sum(groups.values()) * 1000:.0f} in all: "
          + ", ".join(f"{name} {seconds * 1000:.0f}" for name, seconds in sorted(groups.items(), key=lambda g: -g[1])))


if __name__ == "__main__":
    from tests.bench import console as console_bench
    from tests.bench import day, hot, notify, sweep
    from tests.bench import status as status_bench
    # ./deploy.sh bench [NAME ...] runs the named ones (cold: only ingest's cold start, which `ingest` ends with);
    # day, status and console empty the emulator's database first
    BENCHES = {"ingest": main, "notify": notify.main, "hot": hot.main, "sweep": sweep.main,
               "interactions": interactions_bench.main, "day": day.main, "status": status_bench.main,
               "console": console_bench.main, "cold": cold_starts}
    for chosen in sys.argv[1:] or [name for name in BENCHES if name != "cold"]:
        if chosen not in BENCHES:
            sys.exit(f"no bench {chosen!r}; choose from {', '.join(BENCHES)}")
        BENCHES[chosen]()
