"""Status page benchmark: GET /status/ and summary.json through the local HTTP server, cold (the view cache
emptied before each request) and cached, with Firestore reads per request counted at the client's RPC boundary.

The emulator holds 3 services and 90 days of history as the page reads them: Sentry incidents every day, an
UptimeRobot outage per service every 6 days, two open incidents (one with people's status updates), and the
closed days' uptime as the daily summary records it (status_page.record_days). The "no recorded days" row is
the first run after a deploy, before any daily summary: every bar is computed from the incidents.

    python -m tests.bench.status          (inside ./deploy.sh bench's environment; it runs last there)
"""
from __future__ import annotations

import http.client
import os
import time
from datetime import datetime, timedelta, timezone

import httpx

from shared.config import config
from shared.status import page as status_page
from shared.store.client import client
from tests.bench.__main__ import serve  # first: it sets the environment the functions read
from tests.bench.sweep import set_all
from tests.fakes.firestore_tap import tap_product

N_COLD = int(os.environ.get("BENCH_STATUS_COLD_N", "40"))
N_CACHED = int(os.environ.get("BENCH_STATUS_CACHED_N", "500"))
PER_DAY = 3          # Sentry incidents per service per day
OUTAGE_EVERY = 6     # days between UptimeRobot outages of a service


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def wipe() -> None:
    """Empty the emulator's database: the other benchmarks leave thousands of open incidents behind."""
    project = os.environ["GOOGLE_CLOUD_PROJECT"]
    host = os.environ["FIRESTORE_EMULATOR_HOST"]
    httpx.delete(f"http://{host}/emulator/v1/projects/{project}/databases/(default)/documents",
                 timeout=60).raise_for_status()


def _incident(n: int, service: str, opened: datetime, rank: int, source: str = "sentry", level: str = "error",
              resolved: datetime | None = None) -> dict:
    iid = f"INC-B{n:05d}"
    return {"id": iid, "dedup_key": f"bench:{n}", "key_doc": f"bench{n}", "generation": 1,
            "title": f"bench incident {n}", "service": service, "environment": "production", "source": source,
            "level": level, "status": "resolved" if resolved else "open", "active": resolved is None,
            "severity_rank": rank, "pinned_rank": 0, "severity_reasons": {"high": "bench"}, "created_at": opened,
            "updated_at": resolved or opened, "first_seen": opened, "last_seen": resolved or opened,
            "resolved_at": resolved, "acknowledged_at": None, "owner": None, "timeline": [], "links": {},
            "occurrences": 1, "users_affected": 0, "escalations": [], "escalation_level": 1, "phase": ""}


def seed(now: datetime) -> dict:
    """Write 90 days of history directly (the shape ingest stores); return what was written."""
    db, cfg = client(), config()
    services = [s.name for s in cfg.services][:3]
    docs, n = [], 0
    today = now.astimezone(cfg.team.zone).date()
    for back in range(90):
        day = datetime.combine(today - timedelta(days=back), datetime.min.time(), tzinfo=cfg.team.zone)
        for position, service in enumerate(services):
            for k in range(PER_DAY):
                opened = day + timedelta(hours=2 + 7 * k, minutes=position)
                if opened < now - timedelta(hours=2):
                    n += 1
                    docs.append(_incident(n, service, opened, 1 + (n % 3), resolved=opened + timedelta(minutes=50)))
            if (back + position) % OUTAGE_EVERY == 0 and back > 0:
                n += 1
                opened = day + timedelta(hours=13)
                docs.append(_incident(n, service, opened, 4, "uptimerobot", "down", opened + timedelta(minutes=30)))
    critical = _incident(n + 1, services[1], now - timedelta(minutes=40), 4)
    critical["status_page"] = {"title": "Checkout is slow", "status": "identified", "component_status": None,
                               "count": 3, "updated_at": now - timedelta(minutes=5)}
    docs += [critical, _incident(n + 2, services[2], now - timedelta(minutes=20), 3)]
    updates = [{"id": f"{critical['id']}:u{k}", "incident_id": critical["id"], "n": k, "status": status,
                "title": "Checkout is slow" if k == 1 else None, "message": f"update {k}", "impact": None,
                "eta": None, "next_update_minutes": 30, "component_status": None, "by": "dev-d",
                "created_at": now - timedelta(minutes=35 - 10 * k), "request": {}}
               for k, status in ((1, "investigating"), (2, "investigating"), (3, "identified"))]
    writes = [(db.collection("incidents").document(d["id"]), d) for d in docs]
    writes += [(db.collection("live").document(d["key_doc"]), {"incident_id": d["id"], "occurrences": 1})
               for d in docs if d["active"]]
    writes += [(db.collection("status_updates").document(u["id"]), u) for u in updates]
    set_all(db, writes)
    return {"incidents": len(docs), "outages": sum(d["source"] == "uptimerobot" for d in docs),
            "updates": len(updates)}


def measure(conn: http.client.HTTPConnection, path: str, counts, n: int, cold: bool) -> tuple[list[float], float]:
    samples, reads = [], 0
    for _ in range(n):
        if cold:
            status_page.forget()
        before = counts.snapshot()[0]
        start = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        samples.append(time.perf_counter() - start)
        assert response.status == 200, (path, response.status)
        reads += counts.snapshot()[0] - before
    return samples, reads / n


def main() -> None:
    wipe()
    now = datetime.now(timezone.utc)
    seeded = seed(now)
    counts = tap_product()
    port, server = serve()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    print(f"\nstatus page benchmark: 3 services, 90 days: {seeded['incidents']} incidents ({seeded['outages']} "
          f"UptimeRobot outages), 2 open, {seeded['updates']} status updates; through the local HTTP server")
    print(f"  {'request':<60} {'p50 ms':>8} {'p99 ms':>8} {'reads/request':>14}")
    paths = ("/status/", "/status/api/v2/summary.json")
    rows = [("no recorded days, cold", True, N_COLD // 2)]
    try:
        for label, cold, n in rows:
            for path in paths:
                measure(conn, path, counts, 2, cold)  # warm this process and the emulator on the path
                samples, reads = measure(conn, path, counts, n, cold)
                print(f"  {'GET ' + path + ', ' + label:<60} {pct(samples, .5):8.2f} {pct(samples, .99):8.2f} "
                      f"{reads:14.1f}")
        recorded = status_page.record_days(now, config())  # as the daily summary does each morning
        print(f"  (the daily summary's run recorded {recorded} closed days of uptime)")
        for label, cold, n in (("cold", True, N_COLD), ("cached", False, N_CACHED)):
            for path in paths:
                measure(conn, path, counts, 2, cold)
                samples, reads = measure(conn, path, counts, n, cold)
                print(f"  {'GET ' + path + ', ' + label:<60} {pct(samples, .5):8.2f} {pct(samples, .99):8.2f} "
                      f"{reads:14.1f}")
    finally:
        conn.close()
        server.shutdown()


if __name__ == "__main__":
    main()
