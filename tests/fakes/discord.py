"""A fake Discord API (v10): webhooks (execute/edit/get/delete) and a bot's calls (tests/fakes/discord_bot.py),
Discord's validation, rate limits per webhook and per channel."""
from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.clock import Clock
from tests.fakes.discord_bot import BotEndpoints
from tests.fakes.discord_rules import add_error, is_empty, keep_non_interactive, validate
from tests.fakes.server import FakeService, Fault, json_response

# https://discord.com/developers/docs/topics/rate-limits (webhook buckets are per webhook; obey the headers)
DEFAULT_RATE_LIMIT = 5
DEFAULT_RATE_WINDOW = 2.0
RATE_LIMITED = "You are being rate limited."
# https://discord.com/developers/docs/reference#snowflakes
DISCORD_EPOCH_MS = 1420070400000
# https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes
UNKNOWN_WEBHOOK, UNKNOWN_MESSAGE, EMPTY_MESSAGE, INVALID_TOKEN, INVALID_FORM, INVALID_JSON = (
    10015, 10008, 50006, 50027, 50035, 50109)
PHRASES = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
EDITABLE = ("content", "embeds", "allowed_mentions", "components", "flags")

_ROUTES = Map([
    Rule("/api/webhooks/<webhook_id>/<token>", methods=["GET", "POST"], endpoint="webhook"),
    Rule("/api/webhooks/<webhook_id>/<token>/messages/<message_id>", methods=["GET", "PATCH", "DELETE"],
         endpoint="message"),
    # bot endpoints (Authorization: Bot <token>), answered by BotEndpoints
    Rule("/api/channels/<channel_id>/messages", methods=["POST"], endpoint="bot_post"),
    Rule("/api/channels/<channel_id>/messages", methods=["GET"], endpoint="bot_list"),
    Rule("/api/channels/<channel_id>/messages/<message_id>", methods=["GET", "PATCH"], endpoint="bot_edit"),
    Rule("/api/channels/<channel_id>/messages/<message_id>/threads", methods=["POST"], endpoint="bot_thread"),
    Rule("/api/channels/<channel_id>/messages/<message_id>/reactions/<emoji>/@me", methods=["PUT"],
         endpoint="bot_react"),
    Rule("/api/channels/<channel_id>/messages/<message_id>/reactions/<emoji>", methods=["GET"],
         endpoint="bot_reactors"),
    Rule("/api/applications/<application_id>/guilds/<guild_id>/commands", methods=["GET", "PUT"],
         endpoint="bot_commands"),
])


def _error(status: int, message: str, code: int, errors: dict | None = None) -> Response:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors is not None:
        body = {"code": code, "errors": errors, "message": message}
    return json_response(body, status)


def _invalid_form(errors: dict) -> Response:
    return _error(400, "Invalid Form Body", INVALID_FORM, errors)


def _flag(request: Request, name: str, errors: dict) -> bool:
    """Read a boolean query parameter as Discord does (true/false/1/0)."""
    raw = request.args.get(name)
    if raw is None:
        return False
    if raw.lower() not in ("true", "false", "1", "0"):
        add_error(errors, (name,), "BASE_TYPE_BOOLEAN", "Must be either true or false.")
    return raw.lower() in ("true", "1")


class FakeDiscord(BotEndpoints, FakeService):
    """Discord at the HTTP boundary: webhooks, and with bot_token a bot; records every accepted message in .messages
    (a bot's have webhook_id None; see BotEndpoints for channels, threads, reactions and commands)."""

    def __init__(self, *, rate_limit: int = DEFAULT_RATE_LIMIT, rate_window: float = DEFAULT_RATE_WINDOW,
                 webhook_id: str = "1", token: str = "tok", fail_ratio: float = 0.0, seed: int | None = 0,
                 hang_seconds: float = 2.0, clock: Clock | None = None, bot_token: str | None = None,
                 application_id: str = "900000000000000001", guild_id: str = "800000000000000001") -> None:
        super().__init__(fail_ratio=fail_ratio, seed=seed, hang_seconds=hang_seconds, clock=clock)
        self._init_bot(bot_token, application_id, guild_id)
        self._path_faults: list[list] = []   # [path part, how many more, Fault]: see fail_on
        self.rate_limit, self.rate_window = rate_limit, rate_window
        self.default_webhook = (str(webhook_id), token)
        self.messages: list[dict[str, Any]] = []
        self.deleted: list[dict[str, Any]] = []
        self.webhooks: dict[str, dict[str, Any]] = {}
        self._buckets: dict[str, dict[str, float]] = {}
        self._increment = 0
        self._last_snowflake = 0
        self.add_webhook(webhook_id, token)

    # -- set-up and inspection ------------------------------------------------------------------------------
    def add_webhook(self, webhook_id: str, token: str, *, channel_id: str | None = None,
                    application_id: str | None = None) -> str:
        """Register a webhook and return its URL; with application_id it is application-owned.

        A channel webhook made in the Discord UI (Server Settings > Integrations) belongs to no application;
        one a bot or OAuth2 app creates (POST /channels/{id}/webhooks) carries that app's application_id.
        Only application-owned webhooks may send interactive components (buttons, selects); see _validated.
        """
        with self._lock:
            self.webhooks[str(webhook_id)] = {"token": token, "channel_id": channel_id or self._snowflake(),
                                              "application_id": application_id}
        return self.webhook_url(webhook_id, token)

    def webhook_url(self, webhook_id: str | None = None, token: str | None = None) -> str:
        """Return the execute URL as Discord shows it: {base}/api/webhooks/{id}/{token}."""
        wid, tok = self.default_webhook
        return f"{self.base_url}/api/webhooks/{webhook_id or wid}/{token or tok}"

    def fail_on(self, path_part: str, n: int = 1, status: int = 503, retry_after: float = 0.1) -> None:
        """Answer the next n requests whose path contains path_part with status (a multi-step send failing at its
        second call: fail_on("/reactions/")); other requests are answered normally."""
        with self._lock:
            self._path_faults.append([path_part, n, Fault(status, retry_after=retry_after)])

    def messages_for(self, webhook_id: str) -> list[dict[str, Any]]:
        """Return the live messages posted through one webhook."""
        with self._lock:
            return [m for m in self.messages if m["webhook_id"] == str(webhook_id)]

    def _snowflake(self) -> str:
        with self._lock:
            self._increment = (self._increment + 1) & 0xFFF
            flake = ((int(self.clock.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (1 << 17) | self._increment
            # unique and increasing even when a fake clock stands still for more than 4096 ids
            self._last_snowflake = max(flake, self._last_snowflake + 1)
            return str(self._last_snowflake)

    def _now_iso(self) -> str:
        return datetime.fromtimestamp(self.clock.time(), UTC).isoformat(timespec="microseconds")

    # -- rate limits ------------------------------------------------------------------------------------------
    def _take(self, webhook_id: str) -> tuple[bool, float, dict[str, str]]:
        """Spend one request of the webhook's bucket; return (allowed, reset_after, rate-limit headers)."""
        now = self.clock.monotonic()
        bucket = self._buckets.get(webhook_id)
        if bucket is None or now >= bucket["reset_at"]:
            bucket = self._buckets[webhook_id] = {"reset_at": now + self.rate_window, "remaining": self.rate_limit}
        allowed = bucket["remaining"] > 0
        if allowed:
            bucket["remaining"] -= 1
        reset_after = math.ceil(max(bucket["reset_at"] - now, 0.001) * 1000) / 1000
        return allowed, reset_after, self._headers(int(bucket["remaining"]), reset_after, webhook_id)

    def _headers(self, remaining: int, reset_after: float, webhook_id: str) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.rate_limit), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": f"{self.clock.time() + reset_after:.3f}",
                "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Bucket": hashlib.sha1(f"webhook:{webhook_id}".encode()).hexdigest()[:32]}

    @staticmethod
    def _rate_limited(retry_after: float, headers: dict[str, str], is_global: bool = False) -> Response:
        headers = {**headers, "Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Scope": "global" if is_global
                   else "user"}
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        return json_response({"message": RATE_LIMITED, "retry_after": retry_after, "global": is_global}, 429, headers)

    def fault_response(self, fault: Fault) -> Response:
        """Answer an injected 429 like a bucket 429, and a 5xx with Discord's {message, code} shape."""
        if fault.status == 429:
            return self._rate_limited(fault.retry_after, self._headers(0, fault.retry_after, "injected"))
        phrase = PHRASES.get(fault.status, "Error")
        return json_response({"message": f"{fault.status}: {phrase}", "code": 0}, fault.status)

    # -- routing ------------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Route /api[/vN]/webhooks/... after spending the webhook's rate-limit bucket; bot calls go to BotEndpoints."""
        path = re.sub(r"^/api/v\d+/", "/api/", request.path)
        for fault in self._path_faults:
            if fault[1] > 0 and fault[0] in path:
                fault[1] -= 1
                return self.fault_response(fault[2])
        try:
            endpoint, args = _ROUTES.bind("discord.com").match(path, request.method)
        except MethodNotAllowed:
            return _error(405, "405: Method Not Allowed", 0)
        except NotFound:
            return _error(404, "404: Not Found", 0)
        if endpoint.startswith("bot_"):
            return self.bot_request(request, endpoint, args)
        allowed, reset_after, headers = self._take(args["webhook_id"])
        if not allowed:
            return self._rate_limited(reset_after, headers)
        hook = self.webhooks.get(args["webhook_id"])
        if hook is None:
            response = _error(404, "Unknown Webhook", UNKNOWN_WEBHOOK)
        elif hook["token"] != args["token"]:
            response = _error(401, "Invalid Webhook Token", INVALID_TOKEN)
        elif endpoint == "webhook":
            response = self._execute(request, args["webhook_id"], hook)
        else:
            response = self._message(request, args["webhook_id"], args["message_id"], hook)
        response.headers.update(headers)
        return response

    def _body(self, request: Request) -> dict[str, Any] | Response:
        """Parse a JSON (or multipart payload_json / form) body as Discord does."""
        try:
            if request.mimetype == "multipart/form-data" and "payload_json" in request.form:
                body = json.loads(request.form["payload_json"])
            elif request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
                body = request.form.to_dict()
            else:
                body = json.loads(request.get_data() or b"")
        except ValueError:
            return _error(400, "The request body contains invalid JSON.", INVALID_JSON)
        if not isinstance(body, dict):
            return _invalid_form({"_errors": [{"code": "DICT_TYPE_CONVERT",
                                                "message": "Only dictionaries may be used in a DictType"}]})
        files = [{"id": str(i), "filename": f.filename} for i, f in enumerate(request.files.values())]
        return {**body, "attachments": files} if files else body

    def _execute(self, request: Request, webhook_id: str, hook: dict[str, Any]) -> Response:
        if request.method == "GET":
            return json_response({"id": webhook_id, "type": 1, "name": "Fake Webhook", "avatar": None,
                                  "channel_id": hook["channel_id"], "application_id": hook["application_id"],
                                  "token": hook["token"]})
        errors: dict[str, Any] = {}
        wait = _flag(request, "wait", errors)
        thread_id = request.args.get("thread_id")
        if thread_id is not None and not thread_id.isdigit():
            add_error(errors, ("thread_id",), "NUMBER_TYPE_COERCE", f'Value "{thread_id}" is not snowflake.')
        parsed = self._validated(request, hook, errors)
        if isinstance(parsed, Response):
            return parsed
        body, keep = parsed
        record = {"content": body.get("content") or "", "embeds": body.get("embeds") or [],
                  "components": (body.get("components") or []) if keep else [],
                  "attachments": body.get("attachments") or []}
        if is_empty(record):
            return _error(400, "Cannot send an empty message", EMPTY_MESSAGE)
        record.update(id=self._snowflake(), webhook_id=webhook_id, channel_id=thread_id or hook["channel_id"],
                      thread_id=thread_id, allowed_mentions=body.get("allowed_mentions"),
                      username=body.get("username"), avatar_url=body.get("avatar_url"), tts=bool(body.get("tts")),
                      flags=body.get("flags") or 0, edits=[], created_at=self._now_iso(), edited_at=None)
        self.messages.append(record)
        return json_response(self._render(record)) if wait else Response(status=204)

    def _validated(self, request: Request, hook: dict[str, Any], errors: dict[str, Any]):
        """Return (body, keep_components) for a post or an edit, or the 400 Discord would answer.

        Which components a webhook keeps, as Discord documents it in
        https://discord.com/developers/docs/resources/webhook#execute-webhook (INTEGRATIONS.md A7):
        "Application-owned webhooks can always send components. Non-application-owned webhooks cannot send
        interactive components, and the components field will be ignored unless they set the
        with_components query param." An application-owned webhook keeps them all; any other webhook
        ignores them without ?with_components, and with it keeps only the non-interactive ones (link
        buttons; the body returned has the interactive ones dropped). Kept or not, they must be valid.
        """
        with_components = _flag(request, "with_components", errors)
        owned = hook["application_id"] is not None
        body = self._body(request)
        if isinstance(body, Response):
            return body
        errors.update(validate(body, keep_components=owned or with_components))
        if errors:
            return _invalid_form(errors)
        if with_components and not owned and isinstance(body.get("components"), list):
            body = {**body, "components": keep_non_interactive(body["components"])}
        return body, owned or with_components

    def _message(self, request: Request, webhook_id: str, message_id: str, hook: dict[str, Any]) -> Response:
        record = next((m for m in self.messages if m["id"] == message_id and m["webhook_id"] == webhook_id), None)
        if record is None or (record["thread_id"] and request.args.get("thread_id") != record["thread_id"]):
            return _error(404, "Unknown Message", UNKNOWN_MESSAGE)
        if request.method == "GET":
            return json_response(self._render(record))
        if request.method == "DELETE":
            self.messages.remove(record)
            self.deleted.append(record)
            return Response(status=204)
        parsed = self._validated(request, hook, {})
        if isinstance(parsed, Response):
            return parsed
        body, keep = parsed
        return self._apply_edit(record, body, keep)

    def _apply_edit(self, record: dict[str, Any], body: dict[str, Any], keep: bool) -> Response:
        """Apply an edit's fields (components only when kept) and answer with the message as it is now."""
        changes = {k: body[k] for k in EDITABLE if k in body and (keep or k != "components")}
        defaults = {"content": "", "embeds": [], "components": [], "flags": 0}
        candidate = {**record, **{k: defaults.get(k) if v is None else v for k, v in changes.items()}}
        if is_empty(candidate):
            return _error(400, "Cannot send an empty message", EMPTY_MESSAGE)
        record.update(candidate, edited_at=self._now_iso())
        record["edits"].append({"at": record["edited_at"], "changes": changes})
        return json_response(self._render(record))

    def _render(self, record: dict[str, Any]) -> dict[str, Any]:
        """Return the message object Discord answers with (wait=true, GET, PATCH)."""
        if record["webhook_id"] is None:  # a bot's message
            author = {"bot": True, "id": self.BOT_USER_ID, "username": "Fake Bot", "avatar": None,
                      "discriminator": "0000"}
        else:
            author = {"bot": True, "id": record["webhook_id"], "username": record["username"] or "Fake Webhook",
                      "avatar": None, "discriminator": "0000"}
        message = {"id": record["id"], "type": 0, "content": record["content"], "channel_id": record["channel_id"],
                "author": author, "attachments": record["attachments"],
                "embeds": [{"type": "rich", **e} for e in record["embeds"]], "mentions": [], "mention_roles": [],
                "pinned": False, "mention_everyone": False, "tts": record["tts"], "timestamp": record["created_at"],
                "edited_timestamp": record["edited_at"], "flags": record["flags"],
                "components": record["components"], "webhook_id": record["webhook_id"]}
        if record["webhook_id"] is None:
            del message["webhook_id"]
            if record.get("nonce") is not None:
                message["nonce"] = record["nonce"]
        reactions = self.reaction_objects(record["id"])
        if reactions:   # Discord leaves the field out when there are none
            message["reactions"] = reactions
        return message
