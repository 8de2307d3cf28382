"""Console benchmark: page latency through the real HTTP server with 1,000 stored incidents, and Firestore reads
per page view, which follow the page size (50 incidents) and not the total (the same views again at 3,000).

Run with ./deploy.sh bench (last, on a wiped database), or alone: python -m tests.bench.console.
"""
from __future__ import annotations

import http.client
import os
import re
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import httpx

os.environ.setdefault("API_TOKEN", "bench-console-token")  # before the settings are read (run alone)
os.environ.setdefault("LOG_LEVEL", "WARNING")

from shared.store.client import client
from shared.store.incidents import INCIDENTS, LIVE
from shared.store.outbox import OUTBOX
from tests.fakes.firestore_tap import tap_product

N = int(os.environ.get("BENCH_CONSOLE_N", "200"))
WARM = 20
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)
SERVICES = ("petties-web", "petties-backend", "ai-service")


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def wipe(db) -> None:
    """Start from an empty database (the bench's private emulator): the other benches stored thousands."""
    url = (f"http://{os.environ['FIRESTORE_EMULATOR_HOST']}/emulator/v1/projects/{db.project}/databases/(default)"
           "/documents")
    httpx.delete(url, timeout=60).raise_for_status()


def seed(db, start: int, total: int) -> str:
    """Store `total` incidents an hour apart, newest first from NOW: a third active (with live counters and a
    timeline of four entries), and two notifications each; return the newest one's id."""
    batch, size = db.batch(), 0
    for n in range(start, start + total):
        iid, key = f"INC-B{n:05d}", f"bench{n}"
        opened = NOW - timedelta(hours=n)
        active = n % 3 == 0
        status = "open" if active else "resolved"
        doc = {"id": iid, "dedup_key": f"bench:{n}", "key_doc": key, "title": f"Bench problem {n}",
               "service": SERVICES[n % 3], "environment": "production", "source": "sentry", "status": status,
               "active": active, "severity_rank": 1 + n % 4, "severity_reasons": {}, "created_at": opened,
               "respond_by": opened + timedelta(minutes=15), "resolve_by": opened + timedelta(hours=2),
               "resolved_at": None if active else opened + timedelta(hours=1), "pinned_rank": 0, "occurrences": 1,
               "users_affected": 0, "links": {"sentry": f"https://sentry.io/issues/{n}/"}, "escalations": [],
               "timeline": [{"at": opened + timedelta(minutes=m), "actor": "dev-d", "action": "note",
                             "detail": f"step {m}"} for m in range(4)]}
        writes = [(db.collection(INCIDENTS).document(iid), doc)]
        if active:
            writes.append((db.collection(LIVE).document(key), {"incident_id": iid, "occurrences": 3,
                                                              "severity_rank": doc["severity_rank"]}))
        for channel in ("discord", "github"):
            rid = f"{iid}:opened:{channel}"
            writes.append((db.collection(OUTBOX).document(rid), {
                "id": rid, "incident_id": iid, "reason": "opened", "channel": channel, "status": "sent",
                "attempts": 1, "created_at": opened, "finished_at": opened}))
        for ref, data in writes:
            batch.set(ref, data)
            size += 1
        if size >= 400:
            batch.commit()
            batch, size = db.batch(), 0
    if size:
        batch.commit()
    return f"INC-B{start:05d}"


class Browser:
    """A keep-alive HTTP/1.1 client holding the console's session cookie, as a browser would."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                   "Authorization": f"Bearer {os.environ['API_TOKEN']}"}  # the API yardstick; ignored by the console
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";")[0]
        return response.status, text

    def sign_in(self) -> None:
        _, form = self.request("GET", "/console/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)[1]
        status, _ = self.request("POST", "/console/login", urlencode({"csrf": csrf, "token": os.environ["API_TOKEN"],
                                                                      "actor": "dev-a"}))
        assert status == 303, status


def measure(browser: Browser, counts, path: str, n: int) -> tuple[list[float], float]:
    for _ in range(WARM):
        browser.request("GET", path)
    samples, reads = [], 0
    for _ in range(n):
        before = counts.snapshot()[0]
        started = time.perf_counter()
        status, _ = browser.request("GET", path)
        samples.append(time.perf_counter() - started)
        assert status == 200, (path, status)
        reads += counts.snapshot()[0] - before
    return samples, reads / n


def main() -> None:
    import threading

    from shared.local.server import make_local_server

    db = client()
    counts = tap_product()
    wipe(db)
    started = time.perf_counter()
    newest = seed(db, 0, 1_000)
    seeded = time.perf_counter() - started
    server = make_local_server(quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    browser = Browser(server.server_port)
    browser.sign_in()
    views = [("incident list (50 per page)", "/console/"),
             ("incident list, filtered + page 2", None),
             ("incident page", f"/console/incidents/{newest}"),
             ("yardstick: GET /api/incidents?limit=50", "/api/incidents?limit=50")]
    _, first = browser.request("GET", "/console/?severity=critical")
    following = re.search(r'rel="next" href="([^"]+)"', first)[1].replace("&amp;", "&")
    views[1] = (views[1][0], following)
    print(f"\nconsole benchmark: {N} page views each, one at a time over HTTP/1.1 keep-alive, signed in "
          f"(1,000 incidents stored in {seeded:.1f} s)")
    print(f"  {'page':<40} {'p50 ms':>8} {'p99 ms':>8} {'reads/view':>11} {'reads at 3,000 stored':>22}")
    figures = {name: measure(browser, counts, path, N) for name, path in views}
    seed(db, 1_000, 2_000)  # 3,000 stored: the same views read the same
    for name, path in views:
        samples, reads = figures[name]
        _, more = measure(browser, counts, path, 10)
        print(f"  {name:<40} {pct(samples, .5):8.1f} {pct(samples, .99):8.1f} {reads:11.1f} {more:22.1f}")
    server.shutdown()


if __name__ == "__main__":
    main()
