"""Notification benchmark: alert-to-Discord latency through the local stack, and messages per storm.

The local server (every function) runs against the emulator; Discord, GitHub and SMTP are the
HTTP-boundary fakes from tests/fakes with no injected faults, so the figures are this system's own.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shared.config.settings import settings
from shared.notify import delivery
from shared.sources.common import hmac_sha256
from tests.bench.__main__ import Http, issue, pct, serve, signed
from tests.fakes.discord import FakeDiscord
from tests.fakes.firestore_tap import tapped
from tests.fakes.github import FakeGitHub
from tests.fakes.smtp import SmtpServer

N = int(os.environ.get("BENCH_NOTIFY_N", "200"))


class _Stamped(list):
    """A message list that notes when each message was stored (perf_counter), for the latency figure."""

    def append(self, item):
        item["_stored_at"] = time.perf_counter()
        super().append(item)


def main() -> None:
    discord = FakeDiscord(webhook_id="100", token="bench", rate_limit=10_000, rate_window=1.0)
    discord.messages = _Stamped()
    discord.serve()
    github = FakeGitHub(tokens=("bench",), repos=("petties/petties",), rate_limit=100_000).serve()
    smtp = SmtpServer(user="bench", password="bench").serve()
    os.environ.update({"DISCORD_WEBHOOK_URL": discord.webhook_url("100", "bench"), "GITHUB_TOKEN": "bench",
                       "GITHUB_REPO": "petties/petties", "GITHUB_API_URL": github.base_url,
                       "SMTP_URL": smtp.url() + "?tls=insecure", "EMAIL_FROM": "bench@petties.world"})
    settings.cache_clear()
    port, server = serve()
    client = Http(port)
    run = uuid.uuid4().hex[:8]
    try:
        print(f"\nnotification benchmark: {N} new Critical incidents, one at a time; "
              "Discord/GitHub/SMTP are local fakes")
        latencies, answers = [], []
        for i in range(N):
            body, headers = signed(issue(f"n-{run}-{i}"))
            body = body.replace(b'"level": "error"', b'"level": "fatal"')
            headers = signed_again(headers, body)
            before = len(discord.messages)
            start = time.perf_counter()
            client.post("/ingest/sentry", body, headers)
            answers.append(time.perf_counter() - start)
            while len(discord.messages) == before:
                if time.perf_counter() - start > 10:
                    raise AssertionError("no Discord message within 10 s")
                time.sleep(0.0005)
            latencies.append(discord.messages[before]["_stored_at"] - start)
            delivery.wait_idle()  # the email goes after the Discord message; let it finish before the next alert
        print(f"  alert -> Discord message stored: p50 {pct(latencies, .5):.1f} ms, p99 {pct(latencies, .99):.1f} ms, "
              f"max {max(latencies) * 1000:.1f} ms")
        print(f"  the webhook's answer (waits up to 0.25 s for Discord + email to go out): p50 "
              f"{pct(answers, .5):.1f} ms, p99 {pct(answers, .99):.1f} ms")
        storm(port, run)
    finally:
        server.shutdown()
        discord.stop()
        github.stop()
        smtp.stop()


class CpuClocks:
    """CPU seconds used by this process and by the Firestore emulator's JVM (found by its port), from /proc."""

    def __init__(self):
        port = os.environ.get("FIRESTORE_EMULATOR_HOST", "").rpartition(":")[2]
        self.emulator = None
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                args = cmdline.read_bytes().split(b"\0")
            except OSError:
                continue
            if any(b"CloudFirestore" in a for a in args) and f"--port={port}".encode() in args:
                self.emulator = cmdline.parent / "stat"

    def read(self) -> tuple[float, float]:
        emulator = 0.0
        if self.emulator is not None:
            fields = self.emulator.read_text().rpartition(")")[2].split()
            emulator = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        return time.process_time(), emulator

    def since(self, start: tuple[float, float]) -> tuple[float, float]:
        now = self.read()
        return now[0] - start[0], now[1] - start[1]


def signed_again(headers: dict, body: bytes) -> dict:

    from tests.bench.__main__ import SECRET
    return {**headers, "Sentry-Hook-Signature": hmac_sha256(SECRET, body)}


def fakes_elsewhere(conn) -> None:
    """In a process of its own: serve Discord, GitHub and SMTP fakes, send their URLs, then answer "count" with
    (Discord messages, their edits, GitHub issues, emails) until told anything else."""
    discord = FakeDiscord(webhook_id="100", token="bench", rate_limit=10_000, rate_window=1.0).serve()
    github = FakeGitHub(tokens=("bench",), repos=("petties/petties",), rate_limit=100_000).serve()
    smtp = SmtpServer(user="bench", password="bench").serve()
    conn.send({"DISCORD_WEBHOOK_URL": discord.webhook_url("100", "bench"), "GITHUB_API_URL": github.base_url,
               "SMTP_URL": smtp.url() + "?tls=insecure"})
    while conn.recv() == "count":
        conn.send((len(discord.messages), sum(len(m["edits"]) for m in discord.messages), len(github.issues),
                   len(smtp.messages)))
    smtp.stop()


def storm(port: int, run: str) -> None:
    """1,000 alerts over 20 problems (10 Sentry issues, 10 UptimeRobot monitors), 8 senders at once.

    The vendor fakes run in a process of their own here, as Discord, GitHub and the mail server do in
    production: their work (TLS handshakes, HTTP parsing) is not the product's, and in this process it would
    take the interpreter's lock from the server's threads."""
    parent, child = multiprocessing.get_context("spawn").Pipe()
    fakes = multiprocessing.get_context("spawn").Process(target=fakes_elsewhere, args=(child,), daemon=True)
    fakes.start()
    urls = parent.recv()
    saved = {name: os.environ.get(name) for name in urls}
    os.environ.update(urls)
    settings.cache_clear()
    try:
        _storm(port, run, parent)
    finally:
        parent.send("stop")
        fakes.join(10)
        for name, value in saved.items():
            os.environ[name] = value or ""
        settings.cache_clear()


def storm_requests(run: str) -> list[tuple[str, bytes, dict]]:
    """1,000 alerts on 20 problems: 10 Sentry issues (fatal) and 10 UptimeRobot monitors, 50 alerts each."""
    requests = []
    for _ in range(50):
        for p in range(10):
            body, headers = signed(issue(f"storm-{run}-{p}"))
            body = body.replace(b'"level": "error"', b'"level": "fatal"')
            requests.append(("/ingest/sentry", body, signed_again(headers, body)))
            requests.append(("/ingest/uptimerobot?token=bench-token",
                             json.dumps({"monitorID": f"storm-{run}-{p}", "alertType": "1"}).encode(),
                             {"Content-Type": "application/json"}))
    return requests


def _storm(port: int, run: str, fakes) -> None:
    fakes.send("count")
    before = fakes.recv()
    requests = storm_requests(run)
    senders = threading.local()  # one keep-alive connection per sender: the figures are the server's

    def send(item):
        path, body, headers = item
        if not hasattr(senders, "http"):
            senders.http = Http(port)
        return senders.http.post(path, body, headers).get("status", "bare")

    cpu = CpuClocks()

    def bare_storm() -> float:
        """The yardstick: as many bare writes through the same server, senders and clients; its seconds."""
        bare_start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(send, [("/bench_bare/", b"{}", {"Content-Type": "application/json"})] * len(requests)))
        return time.perf_counter() - bare_start

    bare_before = bare_storm()  # before and after the storm: the machine's speed drifts between runs
    cpu_start = cpu.read()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(pool.map(send, requests))
    answered = time.perf_counter() - start
    cpu_storm = cpu.since(cpu_start)
    delivery.wait_idle()
    elapsed = time.perf_counter() - start
    cpu_start = cpu.read()
    bare_after = bare_storm()
    cpu_bare = cpu.since(cpu_start)
    bare = (bare_before + bare_after) / 2
    fakes.send("count")
    sent = [after - was for after, was in zip(fakes.recv(), before, strict=True)]
    print(f"  storm: 1,000 alerts on 20 problems in {elapsed:.1f} s ({1000 / elapsed:.0f} alerts/s, 8 senders): "
          f"{dict(statuses)}; sent {sent[0]} Discord messages (+{sent[1]} edits of the originals), "
          f"{sent[3]} emails, {sent[2]} GitHub issues")
    # reads and writes counted in a storm of its own, through a tap on the wire (its forwarding would slow the
    # timed storm down)
    counted = storm_requests(run + "-counted")
    with tapped() as counts:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(send, counted))
        delivery.wait_idle()
        reads, writes = (n / len(counted) for n in counts.snapshot())
    print(f"  storm answers: {len(requests) / answered:.0f} alerts/s beside {len(requests) / bare:.0f} bare writes/s "
          f"through the same server, 8 senders ({len(requests) / bare_before:.0f} before the storm, "
          f"{len(requests) / bare_after:.0f} after): {bare / answered:.0%} of it (aim: at least 60%); Firestore "
          f"{reads:.2f} reads and {writes:.2f} writes per alert (notifications included)")
    n = len(requests) / 1000
    print(f"  CPU per alert (2 cores, shared): this process {cpu_storm[0] / n:.1f} ms (server and senders; "
          f"a bare write {cpu_bare[0] / n:.1f}), the emulator "
          + (f"{cpu_storm[1] / n:.1f} ms (a bare write {cpu_bare[1] / n:.1f})" if cpu.emulator else "not found"))


if __name__ == "__main__":
    main()
