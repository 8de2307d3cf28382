"""HTTP plumbing shared by the entry points: body limits, JSON answers, errors -> status codes."""
from __future__ import annotations

import json
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime, timezone

from shared import errors, log
from shared.config import ConfigError, config
from shared.settings import settings
from shared.sources.common import InboundRequest

MAX_BODY = 1024 * 1024  # 1 MiB; Sentry and PagerDuty payloads are far below it


# The one mapping from what a use case refuses to an HTTP status (a Discord reply maps the same errors).
STATUS = {errors.BadInput: 400, errors.Unauthorized: 401, errors.Forbidden: 403, errors.NotFound: 404,
          errors.Conflict: 409, errors.Unavailable: 503}


def status_of(refusal: errors.Refusal) -> int:
    return next(code for kind, code in STATUS.items() if isinstance(refusal, kind))


class HTTPError(Exception):
    """A refusal that only HTTP knows (405 wrong method, 413 too large), with its status code and message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def start() -> None:
    """Validate the team file and the environment once, as the instance starts; raise ConfigError if wrong.

    Called at import by each entry point, so functions-framework refuses to start on a bad value (with
    the variable or key named) instead of answering 500 to every request. Clients are created on first
    use, in the process that serves: gunicorn forks its worker after the import.
    """
    config()
    settings()


def allow(method: str, *allowed: str) -> None:
    """Raise 405 (with Allow) unless `method` is one of `allowed`."""
    if method not in allowed:
        names = ", ".join(allowed)
        raise HTTPError(405, f"method not allowed here; use {names}", {"Allow": names})


def read_json(request) -> dict:
    """Return the body as a JSON object (an empty body is {}), or raise 400 saying why not."""
    body = read_body(request)
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise errors.BadInput(f"body is not valid JSON: {str(e)[:200]}") from None
    if not isinstance(data, dict):
        raise errors.BadInput("expected a JSON object")
    return data


def now() -> datetime:
    return datetime.now(timezone.utc)


def schedule_time(header: str | None) -> datetime:
    """Return Cloud Scheduler's X-CloudScheduler-ScheduleTime as the run's now (else the clock's)."""
    if header:
        try:
            parsed = datetime.fromisoformat(header.strip().replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        except ValueError:
            raise errors.BadInput(f"X-CloudScheduler-ScheduleTime {header[:40]!r} is not an RFC 3339 time") from None
    return now()


def read_body(request) -> bytes:
    """Return the raw body, or raise 413 when it is over MAX_BODY (checked before reading it all)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise HTTPError(413, f"body of {request.content_length} bytes is over the {MAX_BODY}-byte limit")
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise HTTPError(413, f"body is over the {MAX_BODY}-byte limit")
    return body


def inbound(request, body: bytes) -> InboundRequest:
    return InboundRequest(body=body, headers={k.lower(): v for k, v in request.headers.items()},
                          query={k: v for k, v in request.args.items()})


def _json_default(value):
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


def iso(value: datetime | None) -> str | None:
    """Format a timestamp as ISO-8601 UTC with a Z, the way the API shows every time."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_response(payload: object, status: int = 200, headers: dict[str, str] | None = None):
    body = json.dumps(payload, default=_json_default, ensure_ascii=False)
    return body, status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}


def guarded(handler: Callable[[], object], request) -> tuple:
    """Run a handler and map every expected failure to its HTTP status; never a 500 for bad input."""
    request_id = request.headers.get("Request-ID") or request.headers.get("X-Cloud-Trace-Context") or uuid.uuid4().hex
    try:
        return handler()
    except HTTPError as e:
        return json_response({"error": e.message}, e.status, e.headers)
    except errors.Refusal as e:
        status = status_of(e)
        level = {503: "ERROR", 401: "WARNING"}.get(status, "INFO")
        log.log(level, "refused", path=request.path, status=status, reason=e.message[:300], request_id=request_id)
        if status == 503:  # the cause stays in the log; the caller learns only that it may retry
            return json_response({"error": "storage is unavailable, try again"}, 503, {"Retry-After": "5"})
        return json_response(e.body or {"error": e.message}, status)
    except ConfigError as e:
        log.error("configuration error", reason=str(e), request_id=request_id)
        return json_response({"error": "the server's configuration is invalid"}, 500)
    except Exception as e:
        log.error("unexpected error", path=request.path, error=type(e).__name__, reason=str(e)[:300],
                  request_id=request_id, traceback=traceback.format_exc(limit=8))
        return json_response({"error": "internal error", "request_id": request_id}, 500)
