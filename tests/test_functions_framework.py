"""Each function under the functions-framework CLI (gunicorn, as Cloud Functions runs it) answers a real request.

This catches what an in-process test client cannot: work done at import time runs in gunicorn's master
process and the worker is forked after it (a thread or gRPC channel started at import would break).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, fixture_bytes, sentry_headers


def start(target: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = Path(sys.executable).parent / "functions-framework"
    proc = subprocess.Popen([str(cli), "--target", target, "--source", f"functions/{target}/main.py",
                             "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"{target} did not start")


@pytest.mark.parametrize("target", ["ingest", "api", "escalate"])
def test_function_serves_under_the_framework_cli(target, firestore):
    proc, base = start(target)
    try:
        if target == "ingest":
            body = fixture_bytes("sentry_issue_created.json")
            r = httpx.post(base + "/sentry", content=body, headers=sentry_headers(body, "issue"), timeout=10)
            assert r.status_code == 200 and r.json()["status"] == "created", r.text
        elif target == "api":
            r = httpx.get(base + "/incidents", headers={"Authorization": "Bearer test-api-token"}, timeout=10)
            assert r.status_code == 200 and r.json()["count"] == 0, r.text
        else:
            now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")   # the server runs by the real clock
            r = httpx.post(base + "/", headers={"X-CloudScheduler-ScheduleTime": now}, timeout=30)
            assert r.status_code == 200 and r.json()["status"] == "done", r.text
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("SENTRY_MAX_AGE_SECONDS", "abc", "SENTRY_MAX_AGE_SECONDS: expected a whole number of seconds"),
    ("PAGERDUTY_ROUTING_KEYS", "no-service-here", "PAGERDUTY_ROUTING_KEYS: expected key=service pairs"),
    ("INCIDENT_CONFIG", "/nonexistent/team.yaml", "cannot read config"),
])
def test_a_bad_setting_stops_the_function_from_starting(variable, value, says):
    cli = Path(sys.executable).parent / "functions-framework"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = subprocess.run([str(cli), "--target", "ingest", "--source", "functions/ingest/main.py",
                           "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT), variable: value}, capture_output=True, text=True)
    assert done.returncode != 0
    assert says in done.stdout + done.stderr
    if variable == "PAGERDUTY_ROUTING_KEYS":  # routing keys are credentials: never echoed
        assert value[:4] not in done.stdout + done.stderr
