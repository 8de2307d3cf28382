"""Hot-problem storm: one Sentry issue firing at a steady rate through the local server, 8 senders.

Prints the answers' p50/p99/max and any 5xx, the stored count (the opening alert plus every duplicate) and
how long after the last answer it is exact, and the most writes any single document took: averaged over
the storm, and in any one clock second (counted on the wire to the emulator by a tap in this process, whose
forwarding adds a little to each answer).
Run alone with `./deploy.sh bench hot`.
"""
from __future__ import annotations

import http.client
import json
import os
import threading
import time
import uuid

from shared.store import incidents as store
from shared.store.client import client as firestore_client
from tests.bench.__main__ import issue, pct, serve, signed
from tests.fakes.firestore_tap import tapped

RATE = float(os.environ.get("BENCH_HOT_RATE", "100"))         # alerts per second
SECONDS = float(os.environ.get("BENCH_HOT_SECONDS", "30"))
SENDERS = 8


def post(conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def main() -> None:
    db = firestore_client()
    tap = tapped()
    trace = tap.__enter__()
    port, server = serve()
    run = uuid.uuid4().hex[:8]
    total = int(RATE * SECONDS)
    try:
        opener = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        body, headers = signed(issue(f"hot-{run}"))
        status, answer = post(opener, "/ingest/sentry", body, headers)
        assert status == 200, answer
        incident = json.loads(answer)["incident"]
        print(f"\nhot-problem storm: {total:,} alerts on ONE Sentry issue at {RATE:g}/s for {SECONDS:g} s, "
              f"{SENDERS} senders through the local server (+ the opening alert)")
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock, next_index = threading.Lock(), iter(range(total))
        start = time.perf_counter()
        trace_start = trace.clock()

        def sender() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                due = start + i / RATE
                if due > time.perf_counter():
                    time.sleep(due - time.perf_counter())
                b, h = signed(issue(f"hot-{run}"))
                sent = time.perf_counter()
                try:
                    code, _ = post(conn, "/ingest/sentry", b, h)
                except (OSError, http.client.HTTPException):
                    code = 0
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with lock:
                    latencies.append(time.perf_counter() - sent)
                    statuses[code] = statuses.get(code, 0) + 1

        threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        trace_end = trace.clock()
        answered = time.perf_counter()
        expected, stored = total + 1, None
        while time.perf_counter() - answered < 60:
            stored = store.get_incident(incident).occurrences  # what GET /api/incidents/<id> reads
            if stored == expected:
                break
            time.sleep(0.05)
        exact_after = time.perf_counter() - answered
        hottest = trace.hottest(trace_start, trace_end)
        key_doc = db.collection("incidents").document(incident).get().get("key_doc")
        shards = db.collection("live").document(key_doc).get().get("shards")
        print(f"  sent in {elapsed:.1f} s ({total / elapsed:.0f} alerts/s achieved); answers: {dict(statuses)}")
        print(f"  answer p50 {pct(latencies, .5):.1f} ms, p99 {pct(latencies, .99):.1f} ms, "
              f"max {max(latencies) * 1000:.1f} ms (aim: every answer under 1000 ms, no 5xx)")
        print(f"  stored count {stored:,} (expected {expected:,}): exact {exact_after:.2f} s after the last answer")
        print(f"  most written document, averaged over the storm: {hottest.average_per_second:.2f} writes/s "
              f"({_short(hottest.average_path)}); in any one second: {hottest.peak_in_one_second} "
              f"({_short(hottest.peak_path)})  (aim: <= 1/s averaged, <= 5 in any second); "
              f"the key grew to {shards} shards")
    finally:
        server.shutdown()
        tap.__exit__(None, None, None)


def _short(path: str) -> str:
    collection, _, name = path.partition("/")
    return f"{collection}/{name[:12]}…" if len(name) > 12 else path


if __name__ == "__main__":
    main()
