"""A fake of Cloud Scheduler's REST API v1 (get, create, patch a job), for the deploy's Scheduler client.

https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs
Jobs are kept as the JSON the client sent, plus `state` and `userUpdateTime` as the service adds them; what
the service refuses (a non-HTTPS OIDC target, more than 5 retries, an attempt deadline outside 15 s..30 min,
an existing name on create) is answered 400 / 409 / 404 in Google's error shape.
"""
from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import FakeService, json_response

JOB = re.compile(r"^/v1/(projects/[^/]+/locations/[^/]+/jobs/[^/]+)$")
JOBS = re.compile(r"^/v1/(projects/[^/]+/locations/[^/]+)/jobs$")


def error(status: int, code: str, message: str) -> Response:
    return json_response({"error": {"code": status, "message": message, "status": code}}, status)


def _seconds(duration: str | None) -> float:
    return float((duration or "0s").rstrip("s"))


class FakeScheduler(FakeService):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.jobs: dict[str, dict] = {}
        self.updates = 0

    def invalid(self, job: dict) -> str | None:
        target = job.get("httpTarget") or {}
        if not job.get("schedule") or not job.get("timeZone"):
            return "schedule and timeZone are required"
        if "oidcToken" in target and not str(target.get("uri", "")).startswith("https://"):
            return "OIDC tokens are only sent to HTTPS targets"
        if int((job.get("retryConfig") or {}).get("retryCount") or 0) > 5:
            return "retryCount must be between 0 and 5"
        if not 15 <= _seconds(job.get("attemptDeadline") or "180s") <= 1800:
            return "attemptDeadline must be between 15 seconds and 30 minutes for HTTP targets"
        return None

    def handle(self, request: Request) -> Response:
        if (m := JOB.match(request.path)) and request.method == "GET":
            job = self.jobs.get(m.group(1))
            return json_response(job) if job else error(404, "NOT_FOUND", "Job not found.")
        if (m := JOBS.match(request.path)) and request.method == "POST":
            job = json.loads(request.get_data() or b"{}")
            if job.get("name") in self.jobs:
                return error(409, "ALREADY_EXISTS", "Job already exists.")
            if not str(job.get("name", "")).startswith(m.group(1) + "/jobs/"):
                return error(400, "INVALID_ARGUMENT", "Job name must be within the parent")
            if problem := self.invalid(job):
                return error(400, "INVALID_ARGUMENT", problem)
            self.jobs[job["name"]] = {**job, "state": "ENABLED", "userUpdateTime": "2026-11-28T00:00:00Z"}
            return json_response(self.jobs[job["name"]])
        if (m := JOB.match(request.path)) and request.method == "PATCH":
            if m.group(1) not in self.jobs:
                return error(404, "NOT_FOUND", "Job not found.")
            job = json.loads(request.get_data() or b"{}")
            if problem := self.invalid(job):
                return error(400, "INVALID_ARGUMENT", problem)
            self.updates += 1
            self.jobs[m.group(1)] = {**job, "state": self.jobs[m.group(1)]["state"],
                                     "userUpdateTime": "2026-11-28T00:01:00Z"}
            return json_response(self.jobs[m.group(1)])
        return error(404, "NOT_FOUND", f"no such method: {request.method} {request.path}")
