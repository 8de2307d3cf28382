"""A fake Slack at the HTTP boundary: incoming webhooks (https://api.slack.com/messaging/webhooks), validating a
payload's Block Kit as Slack does, rate-limited per webhook, answering in Slack's text form ("ok", "invalid_blocks").

What it checks: https://api.slack.com/reference/block-kit/blocks (50 blocks a message, section text 3,000, 10 fields
of 2,000, header 150 plain_text), https://api.slack.com/reference/block-kit/block-elements#button (text 75, url
3,000), https://api.slack.com/reference/messaging/attachments (colour), and the webhook's own errors
(https://api.slack.com/messaging/webhooks#handling_errors).
"""
from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.clock import Clock
from tests.fakes.server import FakeService, Fault

BLOCKS_MAX, SECTION_TEXT_MAX, FIELDS_MAX, FIELD_TEXT_MAX, HEADER_TEXT_MAX = 50, 3000, 10, 2000, 150
BUTTON_TEXT_MAX, BUTTON_URL_MAX, ACTIONS_MAX, CONTEXT_MAX, ATTACHMENTS_MAX = 75, 3000, 25, 10, 100
COLOR = re.compile(r"^(#?[0-9A-Fa-f]{6}|good|warning|danger)$")
ERRORS = {400: "invalid_payload", 403: "action_prohibited", 404: "no_service", 410: "channel_is_archived",
          429: "rate_limited", 500: "internal_error", 502: "bad_gateway", 503: "service_unavailable"}


def text(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Slack's webhooks answer text/plain, success and error alike."""
    return Response(body, status, headers=headers, content_type="text/plain")


def _text_object(obj: Any, limit: int, plain_only: bool = False) -> bool:
    return (isinstance(obj, dict) and obj.get("type") in (("plain_text",) if plain_only else ("plain_text", "mrkdwn"))
            and isinstance(obj.get("text"), str) and 0 < len(obj["text"]) <= limit)


def _block_ok(block: Any) -> bool:
    """Is this one block as Slack accepts it?"""
    if not isinstance(block, dict):
        return False
    kind = block.get("type")
    if kind == "section":
        fields = block.get("fields")
        if "text" not in block and not fields:
            return False
        if "text" in block and not _text_object(block["text"], SECTION_TEXT_MAX):
            return False
        return fields is None or (isinstance(fields, list) and 0 < len(fields) <= FIELDS_MAX
                                  and all(_text_object(f, FIELD_TEXT_MAX) for f in fields))
    if kind == "header":
        return _text_object(block.get("text"), HEADER_TEXT_MAX, plain_only=True)
    if kind == "context":
        elements = block.get("elements")
        return isinstance(elements, list) and 0 < len(elements) <= CONTEXT_MAX and all(
            _text_object(e, SECTION_TEXT_MAX) for e in elements)
    if kind == "actions":
        elements = block.get("elements")
        return isinstance(elements, list) and 0 < len(elements) <= ACTIONS_MAX and all(
            isinstance(e, dict) and e.get("type") == "button"
            and _text_object(e.get("text"), BUTTON_TEXT_MAX, plain_only=True)
            and (e.get("url") is None or (isinstance(e["url"], str) and len(e["url"]) <= BUTTON_URL_MAX))
            for e in elements)
    return kind == "divider"


def validate(payload: Any) -> str:
    """Return Slack's error for a payload ('' when it is accepted)."""
    if not isinstance(payload, dict):
        return "invalid_payload"
    blocks, attachments = payload.get("blocks"), payload.get("attachments")
    if not payload.get("text") and not blocks and not attachments:
        return "no_text"
    if attachments is not None:
        if not isinstance(attachments, list) or len(attachments) > ATTACHMENTS_MAX:
            return "too_many_attachments" if isinstance(attachments, list) else "invalid_attachments"
        for a in attachments:
            if not isinstance(a, dict) or ("color" in a and not COLOR.match(str(a["color"]))):
                return "invalid_attachments"
    every = list(blocks or []) + [b for a in attachments or [] for b in a.get("blocks") or []]
    if blocks is not None and not isinstance(blocks, list):
        return "invalid_blocks"
    if len(every) > BLOCKS_MAX or not all(_block_ok(b) for b in every):
        return "invalid_blocks"
    return ""


class FakeSlack(FakeService):
    """Incoming webhooks at /services/<team>/<bot>/<token>; accepted messages in .messages[path], Slack's warnings
    about accepted ones (blocks without a top-level text: no notification text) in .warnings."""

    def __init__(self, *, rate_limit: int = 50, rate_window: float = 1.0, fail_ratio: float = 0.0,
                 seed: int | None = 0, hang_seconds: float = 2.0, clock: Clock | None = None) -> None:
        super().__init__(fail_ratio=fail_ratio, seed=seed, hang_seconds=hang_seconds, clock=clock)
        self.rate_limit, self.rate_window = rate_limit, rate_window
        self.hooks: set[str] = set()
        self.archived: set[str] = set()
        self.messages: dict[str, list[dict]] = {}
        self.warnings: list[str] = []
        self._sent: dict[str, list[float]] = {}

    def add_webhook(self, team: str = "T000", bot: str = "B000", token: str = "tok") -> str:
        """Make a webhook and return its URL."""
        path = f"/services/{team}/{bot}/{token}"
        self.hooks.add(path)
        self.messages.setdefault(path, [])
        return self.base_url + path

    def messages_for(self, url: str) -> list[dict]:
        return self.messages[url.removeprefix(self.base_url)]

    def fault_response(self, fault: Fault) -> Response:
        headers = {"Retry-After": str(max(int(fault.retry_after + 0.999), 1))} if fault.status == 429 else {}
        return text(ERRORS.get(fault.status, "error"), fault.status, headers)

    def handle(self, request: Request) -> Response:
        path = request.path
        if request.method != "POST":
            return text("invalid_method", 405)
        if path not in self.hooks:
            return text("no_service", 404)
        if path in self.archived:
            return text("channel_is_archived", 410)
        now = self.clock.time()
        recent = [t for t in self._sent.get(path, []) if now - t < self.rate_window]
        if len(recent) >= self.rate_limit:
            wait = self.rate_window - (now - recent[0])
            return text("rate_limited", 429, {"Retry-After": str(max(int(wait + 0.999), 1))})
        try:
            payload = json.loads(request.get_data(as_text=True))
        except ValueError:
            return text("invalid_payload", 400)
        error = validate(payload)
        if error:
            return text(error, 400)
        if payload.get("blocks") and not payload.get("text"):
            self.warnings.append("missing_text_or_fallback")   # accepted; the notification has no text
        self._sent[path] = [*recent, now]
        self.messages[path].append(payload)
        return text("ok")
