"""A fake of UptimeRobot's API v2 getMonitors: form-encoded api_key, pages of at most 50 monitors with their logs,
errors as HTTP 200 {"stat": "fail"} (as UptimeRobot does), and 429 with Retry-After.

https://uptimerobot.com/api/ (v2)
"""
from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import FakeService, Fault, json_response


class FakeUptimeRobot(FakeService):
    def __init__(self, *, api_key: str = "ur-test-key", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key
        self.monitors: dict[str, dict] = {}

    def add_monitor(self, monitor_id: str, url: str, name: str = "", status: int = 2) -> None:
        self.monitors[monitor_id] = {"id": int(monitor_id), "friendly_name": name or url, "url": url, "type": 1,
                                     "interval": 300, "status": status, "create_datetime": 1462565497, "logs": []}

    def event(self, monitor_id: str, kind: int, at: int, duration: int = 0, reason: str = "") -> None:
        """Log a down (1) or up (2) at unix time `at` and set the monitor's status, newest log first. As in
        UptimeRobot's logs, a log's duration is how long the state it starts lasted: the log before this one ends
        at `at` (its duration becomes the time between them), and this one's is `duration`, how long it has
        lasted so far."""
        monitor = self.monitors[monitor_id]
        if monitor["logs"]:
            previous = monitor["logs"][0]
            previous["duration"] = max(at - previous["datetime"], 0)
        entry = {"type": kind, "datetime": at, "duration": duration}
        if reason:  # {"code": "503", "detail": "Service Unavailable"}, as UptimeRobot's JSON has it
            code, _, detail = reason.partition(" ")
            entry["reason"] = {"code": code, "detail": detail} if code.isdigit() else {"code": "", "detail": reason}
        monitor["logs"].insert(0, entry)
        monitor["status"] = 9 if kind == 1 else 2

    def fault_response(self, fault: Fault) -> Response:
        if fault.status == 429:
            return json_response({"stat": "fail", "error": {"type": "rate_limit", "message": "Too many requests"}},
                                 429, {"Retry-After": str(int(fault.retry_after)), "X-RateLimit-Limit": "10",
                                       "X-RateLimit-Remaining": "0"})
        if fault.status == 200:   # UptimeRobot's way of failing
            return json_response(fault.body or {"stat": "fail", "error": {"type": "invalid_parameter",
                                                                          "message": "api_key is invalid."}})
        return json_response({"stat": "fail"}, fault.status)

    def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/v2/getMonitors":
            return json_response({"stat": "fail", "error": {"type": "not_found", "message": "Not found"}}, 404)
        form = request.form
        if form.get("api_key") != self.api_key:
            return json_response({"stat": "fail", "error": {"type": "invalid_parameter", "parameter": "api_key",
                                                            "message": "api_key not found."}})
        offset, limit = int(form.get("offset") or 0), min(int(form.get("limit") or 50), 50)
        listed = list(self.monitors.values())
        page = [dict(m, logs=m["logs"][: int(form.get("logs_limit") or 50)] if form.get("logs") == "1" else [])
                for m in listed[offset:offset + limit]]
        return json_response({"stat": "ok", "pagination": {"offset": offset, "limit": limit, "total": len(listed)},
                              "monitors": page})
