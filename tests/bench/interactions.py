"""Discord interactions benchmark: answer latency through the real HTTP server (Discord gives 3 s, cold start
included), and the cold start of the interactions function alone under the functions-framework CLI.

Importing this module sets the environment it needs (a fresh Ed25519 key, a team file where Dev D has a
Discord id), so tests/bench/__main__.py imports it before anything reads the environment.
"""
from __future__ import annotations

import http.client
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from nacl.signing import SigningKey

ROOT = Path(__file__).resolve().parents[2]
N = int(os.environ.get("BENCH_INTERACTIONS_N", "200"))
KEY = SigningKey.generate()
DEV_D = "444444444444444444"
_team = Path(tempfile.mkdtemp()) / "team.yaml"
_team.write_text((ROOT / "shared/teams/petties.yaml").read_text().replace(
    "{id: dev-d, name: Dev D,", f'{{id: dev-d, discord_id: "{DEV_D}", name: Dev D,', 1))
os.environ.update({"DISCORD_PUBLIC_KEY": KEY.verify_key.encode().hex(), "INCIDENT_CONFIG": str(_team)})


def signed(payload: dict) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    return body, {"Content-Type": "application/json", "X-Signature-Timestamp": stamp,
                  "X-Signature-Ed25519": KEY.sign(stamp.encode() + body).signature.hex()}


def interaction(kind: int, data: dict) -> dict:
    return {"version": 1, "type": kind, "id": uuid.uuid4().int.__str__()[:18], "application_id": "1", "token": "t",
            "guild_id": "2", "channel_id": "3", "member": {"user": {"id": DEV_D, "username": "dev-d"}}, "data": data}


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def post(conn: http.client.HTTPConnection, path: str, payload: dict, headers: dict | None = None) -> dict:
    body, signed_headers = signed(payload) if headers is None else (json.dumps(payload).encode(), headers)
    conn.request("POST", path, body=body, headers=signed_headers)
    response = conn.getresponse()
    data = response.read()
    assert response.status == 200, (response.status, data[:300])
    return json.loads(data)


def cold_start() -> tuple[float, float, float]:
    """Start the interactions function alone as Cloud Functions does; return seconds until it accepts
    connections, its first answer (PING) and its first button click (a state change)."""
    from tests.bench.__main__ import alone
    with alone("interactions") as (port, ready):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        first = time.perf_counter()
        post(conn, "/", {"type": 1, "id": "1", "token": "t", "version": 1})
        ping = time.perf_counter() - first
        click = time.perf_counter()
        answer = post(conn, "/", interaction(3, {"custom_id": "incident:ack:INC-ZZZZZZ", "component_type": 2}))
        assert answer["type"] == 4, answer  # an unknown incident: an ephemeral answer after a Firestore read
        return ready, ping, time.perf_counter() - click


def main(port: int | None = None) -> None:
    from tests.bench.__main__ import serve
    server = None
    if port is None:
        port, server = serve()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    run = uuid.uuid4().hex[:8]
    ids = []
    for i in range(N + 20):  # one incident per click: each click is a first acknowledgement
        body = json.dumps({"monitorID": f"bench-ix-{run}-{i}", "alertType": "1", "alertDetails": "timeout"}).encode()
        conn.request("POST", "/ingest/uptimerobot?token=bench-token", body=body,
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        ids.append(json.loads(response.read())["incident"])
    print(f"\ninteractions benchmark: {N} warm requests each through the same server (Discord allows 3,000 ms)")
    print(f"  {'interaction':<52} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    kinds = {
        "PING": lambda i: {"type": 1, "id": str(i), "token": "t", "version": 1},
        "/incident show (a read)": lambda i: interaction(2, {"name": "incident", "type": 1, "options": [
            {"type": 1, "name": "show", "options": [{"type": 3, "name": "id", "value": ids[0]}]}]}),
        "autocomplete of the incident id": lambda i: interaction(4, {"name": "incident", "type": 1, "options": [
            {"type": 1, "name": "ack", "options": [{"type": 3, "name": "id", "value": "inc", "focused": True}]}]}),
        "button 👀 Acknowledge (state change, card re-rendered)": lambda i: interaction(
            3, {"custom_id": f"incident:ack:{ids[i]}", "component_type": 2}),
    }
    for name, make in kinds.items():
        for i in range(10):  # warm
            post(conn, "/interactions/", make(N + 10 + i) if "Acknowledge" in name else make(i))
        samples = []
        for i in range(N):
            start = time.perf_counter()
            answer = post(conn, "/interactions/", make(i))
            samples.append(time.perf_counter() - start)
            assert answer["type"] in (1, 4, 7, 8), answer
        print(f"  {name:<52} {pct(samples, .5):8.1f} {pct(samples, .99):8.1f} {max(samples) * 1000:8.1f}")
    ready, ping, click = cold_start()
    print(f"  cold start: `functions-framework --target interactions` accepts connections after {ready * 1000:.0f} ms; "
          f"first PING answered in {ping * 1000:.0f} ms, first button (Firestore client created on the way) in "
          f"{click * 1000:.0f} ms; total {(ready + ping + click) * 1000:.0f} ms")
    if server:
        server.shutdown()
