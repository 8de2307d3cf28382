"""The local stack: every function folder is mounted; the cron runner fires like Cloud Scheduler."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import httpx
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from shared.config.schedule import JOBS, Job
from shared.local import cron
from shared.local.server import build_app, function_names


def test_every_function_folder_is_mounted(tmp_path, live_server):
    (tmp_path / "functions" / "hello").mkdir(parents=True)
    (tmp_path / "functions" / "hello" / "main.py").write_text(
        "import functions_framework\n\n@functions_framework.http\ndef hello(request):\n"
        "    return {'path': request.path}\n")
    assert function_names(tmp_path) == ["hello"]
    client = __import__("werkzeug.test", fromlist=["Client"]).Client(build_app(tmp_path))
    assert client.get("/hello/some/where").get_json() == {"path": "/some/where"}
    index = httpx.get(live_server + "/").json()
    assert set(index["functions"]) >= {"ingest", "api"}
    assert httpx.get(live_server + "/nothing/").status_code == 404


def test_next_fire_reads_the_cron_in_the_job_zone():
    job = Job("daily", "daily_summary", "0 8 * * *", "Asia/Ho_Chi_Minh")
    after = datetime(2026, 11, 27, 0, 59, tzinfo=timezone.utc)  # 07:59 in Ho Chi Minh City
    assert cron.next_fire(job, after) == datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)
    every = Job("tick", "escalate", "* * * * *", "Etc/UTC")
    assert cron.next_fire(every, after) == datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)


def test_fire_sends_cloud_scheduler_headers():
    seen = []

    @Request.application
    def app(request):
        seen.append((request.method, request.path, dict(request.headers)))
        return Response("ok")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        job = Job("escalate-every-minute", "escalate", "* * * * *", "Etc/UTC")
        with httpx.Client() as client:
            status = cron.fire(f"http://127.0.0.1:{server.server_port}", job,
                               datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc), client)
    finally:
        server.shutdown()
    assert status == 200
    method, path, headers = seen[0]
    assert (method, path) == ("POST", "/escalate/")
    assert headers["X-Cloudscheduler-Scheduletime"] == "2026-11-27T01:00:00Z"
    assert headers["X-Cloudscheduler-Jobname"] == "escalate-every-minute"


def test_schedule_fits_the_free_tier():
    assert len(JOBS) <= 3
    assert len({j.name for j in JOBS}) == len(JOBS)


def test_the_public_port_serves_only_what_production_serves_without_a_token(firestore):
    """Hardening 2, finding 7: the tunnel recipe exposed the whole local port (console, the notification preview
    with every alert and email, the sweep). The public app serves ingest, interactions and the status page only."""
    from werkzeug.test import Client
    client = Client(build_app(public=True))
    for method, path in (("GET", "/api/incidents"), ("GET", "/console/"), ("GET", "/_local/notifications"),
                         ("POST", "/escalate/"), ("POST", "/daily_summary/"), ("GET", "/"), ("GET", "/api/")):
        r = client.open(path, method=method)
        assert r.status_code == 404, (method, path, r.status_code)
        assert "not served on the public port" in r.get_json()["error"]
    assert client.get("/status/").status_code == 200
    assert client.get("/status/api/v2/summary.json").status_code == 200
    assert client.post("/ingest/sentry", data=b"{}").status_code == 401          # the source authenticates itself
    assert client.post("/interactions/", data=b"{}").status_code == 401         # so does Discord
    assert {p.strip("/") for p in client.get("/nothing").get_json()["served"]} == {"ingest", "interactions", "status"}
