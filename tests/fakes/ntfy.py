"""A fake ntfy server: JSON publishing at its root (https://docs.ntfy.sh/publish/#publish-as-json), bearer tokens
for protected topics, the health endpoint, and ntfy's error answers ({code, http, error, link})."""
from __future__ import annotations

import json
import re
import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.clock import Clock
from tests.fakes.server import FakeService, Fault, json_response

# https://docs.ntfy.sh/publish/#limitations and ntfy's server/errors.go
MESSAGE_BYTES_MAX = 4096
ACTIONS_MAX = 3
TOPIC = re.compile(r"^[-_A-Za-z0-9]{1,64}$")
PRIORITIES = (1, 2, 3, 4, 5)
ACTIONS = ("view", "http", "broadcast", "copy")
LIMITS = "https://ntfy.sh/docs/publish/#limitations"


def _error(code: int, status: int, message: str, link: str = "") -> Response:
    return json_response({"code": code, "http": status, "error": message, **({"link": link} if link else {})}, status)


class FakeNtfy(FakeService):
    """ntfy at the HTTP boundary; published messages land in .messages (newest last).

    token: when set, every publish must carry `Authorization: Bearer <token>` (a server with
    auth-default-access deny-all); without it anyone may publish, as on ntfy.sh.
    """

    def __init__(self, *, token: str = "", fail_ratio: float = 0.0, seed: int | None = 0,
                 hang_seconds: float = 2.0, clock: Clock | None = None) -> None:
        super().__init__(fail_ratio=fail_ratio, seed=seed, hang_seconds=hang_seconds, clock=clock)
        self.token = token
        self.messages: list[dict[str, Any]] = []

    def for_topic(self, topic: str) -> list[dict[str, Any]]:
        """Return what was published to one topic, oldest first."""
        return [m for m in self.messages if m["topic"] == topic]

    def fault_response(self, fault: Fault) -> Response:
        if fault.status == 429:
            return _error(42901, 429, "limit reached: too many requests", LIMITS)
        return _error(50001, fault.status, "internal server error")

    def handle(self, request: Request) -> Response:
        """Answer GET /v1/health and POST / (a JSON publish): 401/403 without the token, 400 for what ntfy
        refuses, 413 past the size limit, else the stored message as ntfy echoes it."""
        if request.path == "/v1/health" and request.method == "GET":
            return json_response({"healthy": True})
        if request.path != "/" or request.method not in ("POST", "PUT"):
            return _error(40401, 404, "page not found")
        if self.token:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if not given:
                return _error(40301, 403, "forbidden", "https://ntfy.sh/docs/publish/#authentication")
            if scheme.lower() != "bearer" or given.strip() != self.token:
                return _error(40101, 401, "unauthorized", "https://ntfy.sh/docs/publish/#authentication")
        data = request.get_data()
        if len(data) > MESSAGE_BYTES_MAX:
            return _error(41303, 413, "JSON body too large")
        try:
            body = json.loads(data)
        except ValueError:
            return _error(40017, 400, "invalid request: request body must be message JSON")
        if not isinstance(body, dict):
            return _error(40017, 400, "invalid request: request body must be message JSON")
        problem = self._invalid(body)
        if problem:
            return _error(40000 + problem[0], 400, problem[1])
        message = {"id": uuid.uuid4().hex[:12], "time": int(self.clock.time()), "event": "message",
                   "topic": body["topic"], "title": body.get("title", ""), "message": body.get("message") or
                   "triggered", "priority": body.get("priority", 3), "tags": body.get("tags", []),
                   "click": body.get("click", ""), "actions": body.get("actions", []),
                   "authorized": bool(request.headers.get("Authorization"))}
        self.messages.append(message)
        return json_response({k: v for k, v in message.items() if k != "authorized" and v != []})

    @staticmethod
    def _invalid(body: dict) -> tuple[int, str] | None:
        topic = body.get("topic")
        if not isinstance(topic, str) or not TOPIC.match(topic):
            return 9, "invalid request: topic invalid"
        if "priority" in body and body["priority"] not in PRIORITIES:
            return 7, "invalid priority"
        for key in ("title", "message", "click"):
            if key in body and not isinstance(body[key], str):
                return 17, f"invalid request: {key} must be a string"
        tags = body.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return 17, "invalid request: tags must be a list of strings"
        actions = body.get("actions", [])
        if not isinstance(actions, list) or len(actions) > ACTIONS_MAX:
            return 18, f"invalid request: actions invalid, at most {ACTIONS_MAX} actions allowed"
        for action in actions:
            if not isinstance(action, dict) or action.get("action") not in ACTIONS or not action.get("label"):
                return 18, "invalid request: actions invalid, action or label missing"
            if action["action"] in ("view", "http") and not str(action.get("url", "")).startswith(("http://",
                                                                                                  "https://")):
                return 18, "invalid request: actions invalid, url must be http:// or https://"
        return None
