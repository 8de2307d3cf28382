"""HTTP plumbing shared by the entry points: body limits, JSON answers, errors -> status codes."""
from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import flask

from shared import errors, lazy, log
from shared.clock import PATIENCE, clock, within
from shared.config import ConfigError, config
from shared.config.settings import settings
from shared.model import iso
from shared.notify import delivery
from shared.rules import calendar
from shared.rules.text import storable_json
from shared.sources.common import InboundRequest

MAX_BODY = 1024 * 1024  # 1 MiB; Sentry and PagerDuty payloads are far below it
_PIECE = 64 * 1024      # the body is read in pieces of this size, never more than MAX_BODY + 1 bytes in all
_BODY = "incidents.body"  # environ key: the body read_body read and checked (read once per request)
_LENGTH = re.compile(r"[0-9]+")


# The one mapping from what a use case refuses to an HTTP status (a Discord reply maps the same errors).
STATUS = {errors.BadInput: 400, errors.Unauthorized: 401, errors.Forbidden: 403, errors.NotFound: 404,
          errors.Conflict: 409, errors.TooLarge: 413, errors.Unavailable: 503}


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
    lazy.warm_after_fork()
    if flask.has_app_context():  # functions-framework runs main.py inside its Flask app's context
        # Bound the body for the routes functions-framework answers itself too (/favicon.ico, /robots.txt):
        # after every answer it reads what is left of the body (request.get_data()), unbounded otherwise.
        flask.current_app.before_request(_bound_the_body)


def _bound_the_body() -> None:
    body_stream(flask.request)


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
    return storable_json(data)


def deliver(due: list[str], cfg, now: datetime, wait: float) -> None:
    """Send the notifications a request's change decided, waiting at most `wait` seconds before answering (the
    sends go on in the background; the sweep retries what is left)."""
    delivery.deliver_soon(due, cfg, settings(), now, wait)


def client_address(request) -> str:
    """The address a request came from: the last X-Forwarded-For entry (the one Google's front end appends; those
    before it are the client's to choose), else the socket's peer."""
    forwarded = request.headers.get("X-Forwarded-For", "")[-200:]
    last = forwarded.rsplit(",", 1)[-1].strip()
    return last or request.remote_addr or "unknown"


def now() -> datetime:
    """Return this request's time (the product's clock)."""
    return clock().now()


SCHEDULE_SKEW = timedelta(minutes=10)  # how far Cloud Scheduler's schedule time may be from the function's clock


def schedule_time(header: str | None) -> datetime:
    """Return Cloud Scheduler's X-CloudScheduler-ScheduleTime as the run's now (else the clock's). A time more
    than SCHEDULE_SKEW from the clock is a 400 (logged): Scheduler stamps the minute it calls in (its retries
    come within SCHEDULE_SKEW, deploy/scheduler.py), so anything else is a caller choosing which day or minute
    the run believes it is, which would escalate early or report a day that has not happened."""
    clock_now = now()
    if not header:
        return clock_now
    try:
        parsed = datetime.fromisoformat(header.strip().replace("Z", "+00:00"))
    except ValueError:
        raise errors.BadInput(f"X-CloudScheduler-ScheduleTime {header[:40]!r} is not an RFC 3339 time") from None
    moment = calendar.in_range(parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc))
    if moment is None:
        raise errors.BadInput(f"X-CloudScheduler-ScheduleTime {header[:40]!r} is outside 2000..2099")
    if abs(moment - clock_now) > SCHEDULE_SKEW:
        log.warning("scheduler time refused", schedule_time=moment.isoformat(), clock=clock_now.isoformat())
        raise errors.BadInput(f"X-CloudScheduler-ScheduleTime {header[:40]!r} is more than "
                              f"{SCHEDULE_SKEW.seconds // 60} minutes from this function's clock "
                              f"({clock_now.strftime('%Y-%m-%dT%H:%M:%SZ')})")
    return moment


class BoundedBody(io.RawIOBase):
    """The request body as a stream that never yields more than MAX_BODY + 1 bytes, nor raises.

    Installed as request.stream (guarded(), and start() for functions-framework's own routes), so
    nothing (read_body, or functions-framework reading "the rest of the body" after the answer) reads an
    unbounded body into memory. A read that fails (a Content-Length the client never sends, a read
    timeout, a malformed chunk) ends the stream and is kept in `error` for read_body to answer 400.
    `end()` stops all further reading once the answer is decided: what the client still sends is the
    server's to discard (the local server closes the connection after a bounded drain).
    """

    def __init__(self, inner):
        super().__init__()
        self._inner, self._left, self.error = inner, MAX_BODY + 1, None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._left <= 0:
            return 0
        want = min(len(buffer), self._left, _PIECE)
        try:
            data = self._inner.read(want)
        except Exception as e:  # whatever the server's input raises, the body is broken:
            # werkzeug's ClientDisconnected (fewer bytes than declared), a read timeout (OSError), werkzeug's
            # OSError or gunicorn's ParseException for bad chunk framing
            self.error, self._left = e, 0
            return 0
        data = data or b""
        buffer[:len(data)] = data
        self._left -= len(data)
        return len(data)

    def end(self) -> None:
        self._left = 0


def body_stream(request) -> BoundedBody:
    """Return request.stream wrapped in BoundedBody (once per request)."""
    stream = request.stream
    if not isinstance(stream, BoundedBody):
        stream = request.stream = BoundedBody(stream)  # werkzeug's cached_property takes the assignment
    return stream


def declared_length(request) -> int | None:
    """Return the declared Content-Length (None: no body, or a chunked one), before reading a byte.

    Raise 400 when it cannot be trusted (not one plain byte count, several differing headers, or beside
    Transfer-Encoding: chunked, which is how request smuggling starts), 413 when it is over MAX_BODY.
    """
    raw = request.headers.get("Content-Length")
    if raw is None:
        return None
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        raise HTTPError(400, "Content-Length and Transfer-Encoding: chunked together; send one of them")
    raw = raw.strip()
    if not _LENGTH.fullmatch(raw):
        raise HTTPError(400, f"Content-Length {raw[:40]!r} is not one byte count")
    if len(raw) > 15 or int(raw) > MAX_BODY:
        raise HTTPError(413, f"body of {raw[:20]} bytes is over the {MAX_BODY}-byte limit")
    return int(raw)


def read_body(request) -> bytes:
    """Return the raw body, read completely and checked against its Content-Length before anyone parses it.

    413 when it is over MAX_BODY (a declared length over it is refused before reading; a chunked body as
    soon as it passes it), 400 when fewer bytes arrive than declared (the client stopped or timed out) or
    the chunked framing is broken. Never holds more than MAX_BODY + 1 bytes of it.
    """
    if _BODY in request.environ:
        return request.environ[_BODY]
    declared = declared_length(request)
    stream = body_stream(request)
    pieces, size = [], 0
    while size <= MAX_BODY:
        piece = stream.read(_PIECE)
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    if size > MAX_BODY:
        stream.end()
        raise HTTPError(413, f"body is over the {MAX_BODY}-byte limit")
    if declared is not None and size != declared:
        stream.end()
        raise HTTPError(400, f"the body ended after {size} of its {declared} declared bytes (Content-Length)")
    if stream.error is not None:  # chunked: the stream broke before its last chunk
        raise HTTPError(400, f"the chunked body is incomplete or malformed (after {size} bytes)")
    body = request.environ[_BODY] = b"".join(pieces)
    return body


def inbound(request, body: bytes) -> InboundRequest:
    return InboundRequest(body=body, headers={k.lower(): v for k, v in request.headers.items()},
                          query={k: v for k, v in request.args.items()})


def _json_default(value):
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


def json_response(payload: object, status: int = 200, headers: dict[str, str] | None = None):
    body = json.dumps(payload, default=_json_default, ensure_ascii=False)
    return body, status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}


def _request_id(request) -> str:
    """The caller's request id for the log and a 500's answer (bounded, since the header is the caller's), else the
    trace id Cloud Run gave (only when well formed), else a new one."""
    given = (request.headers.get("Request-ID") or "").strip()[:100]
    return given or log.trace_id(request.headers) or uuid.uuid4().hex


def _log_scope(request):
    """Tie this request's log lines to its trace; the method and the path (never the query: tokens travel in
    ?token=) are what Error Reporting shows of it."""
    try:
        project = settings().project
    except ConfigError:   # the request still gets an answer (500, said below); its lines go without the trace
        project = ""
    where = (request.script_root + request.path)[:200]
    return log.request_scope(log.trace_fields(request.headers, project),
                             {"method": request.method[:10], "url": where})


def guarded(handler: Callable[[], object], request, firestore_deadline: float = PATIENCE) -> tuple:
    """Run a handler and map every expected failure to its HTTP status; never a 500 for bad input.

    `firestore_deadline`: how long a Firestore call may keep retrying an unreachable server before the
    answer is 503 (a webhook sender such as Sentry gives up after 1 s).

    The body is bounded for the whole request: its declared length is checked before the handler runs,
    and nothing reads more of it after the answer (functions-framework would read the rest otherwise).
    Log lines and answers carry at most 300 characters of any message, never a whole field or body.
    """
    with _log_scope(request):
        return _guarded(handler, request, firestore_deadline)


def _guarded(handler: Callable[[], object], request, firestore_deadline: float) -> tuple:
    request_id = _request_id(request)
    path = request.path[:200]
    stream = body_stream(request)
    try:
        declared_length(request)
        with within(firestore_deadline):
            return handler()
    except HTTPError as e:
        return json_response({"error": e.message[:300]}, e.status, e.headers)
    except errors.Refusal as e:
        status = status_of(e)
        level = {503: "ERROR", 401: "WARNING"}.get(status, "INFO")
        log.log(level, "refused", path=path, status=status, reason=e.message[:300], request_id=request_id)
        if status == 503:  # the cause stays in the log; the caller learns only that it may retry
            return json_response({"error": "storage is unavailable, try again"}, 503, {"Retry-After": "5"})
        return json_response(e.body or {"error": e.message[:300]}, status)
    except ConfigError as e:
        log.error("configuration error", reason=str(e)[:300], request_id=request_id)
        return json_response({"error": "the server's configuration is invalid"}, 500)
    except Exception as e:
        log.report(e, "unexpected error", status=500, request_id=request_id)
        return json_response({"error": "internal error", "request_id": request_id}, 500)
    finally:
        stream.end()
