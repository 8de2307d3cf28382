"""Structured logs: one JSON object per line, the shape Cloud Logging reads as-is.

Lines written while a request is handled carry its trace (request_scope, from Cloud Run's trace headers), so
Logs Explorer groups them under the request. An unexpected exception is one entry in the shape Error Reporting
groups and can email about (report): https://cloud.google.com/error-reporting/docs/formatting-error-messages
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import sys
import traceback
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
_MIN = _LEVELS.get(os.environ.get("LOG_LEVEL", "INFO").upper(), 20)

# Fields Cloud Logging lifts out of a JSON line into the entry itself
# (https://cloud.google.com/logging/docs/structured-logging#special-payload-fields)
TRACE = "logging.googleapis.com/trace"
SPAN = "logging.googleapis.com/spanId"
SAMPLED = "logging.googleapis.com/trace_sampled"
ERROR_EVENT = "type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent"

# X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=OPTIONS, the trace 32 hex digits, the span a decimal 64-bit number
# (https://cloud.google.com/trace/docs/trace-context#legacy-http-header); W3C traceparent:
# VERSION-TRACE_ID-SPAN_ID-FLAGS in hex (https://www.w3.org/TR/trace-context/#traceparent-header)
_CLOUD_TRACE = re.compile(r"([0-9a-f]{32})(?:/([0-9]{1,20}))?(?:;o=([0-9]))?", re.IGNORECASE)
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?", re.IGNORECASE)
_HEADER_MAX = 200       # a longer trace header is not one (and is never read further)
MAX_FRAMES = 30         # the innermost frames of a traceback; a runaway recursion would be a 1,000-frame entry
MAX_TEXT = 300          # characters of an exception's message: enough to recognise it, never a whole payload
_URL = re.compile(r"\b([a-z][a-z0-9+.-]{1,15}://)([^/\s?#'\"<>]*)[^\s'\"<>]*", re.IGNORECASE)
_CREDENTIAL = re.compile(r"\b(bearer\s+|bot\s+|basic\s+|token=|key=|secret=|password=)[^\s&,;'\"]+", re.IGNORECASE)

_request: contextvars.ContextVar[dict | None] = contextvars.ContextVar("log_request", default=None)
_hidden: tuple[str, ...] = ()   # replaced whole, never changed in place: a reader in another thread sees one or
                                # the other


def log(severity: str, message: str, **fields: object) -> None:
    """Write one log line; pass ids (incident, request_id), never secrets or whole payloads."""
    if _LEVELS.get(severity, 20) < _MIN:
        return
    _write({"severity": severity, "message": message}, fields)


def info(message: str, **fields: object) -> None:
    log("INFO", message, **fields)


def warning(message: str, **fields: object) -> None:
    log("WARNING", message, **fields)


def error(message: str, **fields: object) -> None:
    log("ERROR", message, **fields)


def _write(head: dict, fields: Mapping[str, object]) -> None:
    record = {**head, "time": datetime.now(timezone.utc).isoformat()}
    record.update((_request.get() or {}).get("trace") or {})
    record.update({k: v for k, v in fields.items() if v is not None})
    sys.stdout.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- the request a line belongs to

def trace_fields(headers: Mapping[str, str], project: str) -> dict[str, object]:
    """Return the Cloud Logging trace fields for a request's trace headers ({} when none is well formed)."""
    found = _trace(headers)
    if not found or not project:
        return {}
    trace, span, sampled = found
    fields: dict[str, object] = {TRACE: f"projects/{project}/traces/{trace}"}
    if span:
        fields[SPAN] = span
    if sampled:
        fields[SAMPLED] = True
    return fields


def trace_id(headers: Mapping[str, str]) -> str | None:
    """Return the request's trace id (32 hex digits) when a trace header is well formed."""
    found = _trace(headers)
    return found[0] if found else None


def _trace(headers: Mapping[str, str]) -> tuple[str, str | None, bool] | None:
    """Cloud Run sends both headers with the same trace; the older one first, traceparent when it is missing."""
    return _cloud_trace(headers.get("X-Cloud-Trace-Context")) or _traceparent(headers.get("traceparent"))


def _cloud_trace(value: str | None) -> tuple[str, str | None, bool] | None:
    match = _CLOUD_TRACE.fullmatch(value.strip()) if value and len(value) <= _HEADER_MAX else None
    if not match or not int(match[1], 16):
        return None
    span = int(match[2] or 0)
    if span >= 2 ** 64:
        return None
    return match[1].lower(), f"{span:016x}" if span else None, match[3] == "1"  # Cloud Logging's span is hex


def _traceparent(value: str | None) -> tuple[str, str | None, bool] | None:
    match = _TRACEPARENT.fullmatch(value.strip()) if value and len(value) <= _HEADER_MAX else None
    if (not match or match[1].lower() == "ff" or (match[1] == "00" and match[5]) or not int(match[2], 16)
            or not int(match[3], 16)):
        return None
    return match[2].lower(), match[3].lower(), bool(int(match[4], 16) & 1)


@contextlib.contextmanager
def request_scope(trace: dict[str, object], http_request: dict[str, object] | None = None) -> Iterator[None]:
    """Tie every line written inside (and in threads started with this context) to one request."""
    token = _request.set({"trace": trace, "http": http_request})
    try:
        yield
    finally:
        _request.reset(token)


# ---------------------------------------------------------------- unexpected exceptions, for Error Reporting

def hide(values: Iterable[str]) -> None:
    """Never show these values (the secrets the functions were given) in a reported exception's message."""
    global _hidden
    _hidden = tuple(sorted(set(_hidden) | {v for v in values if len(v) >= 8}, key=len, reverse=True))


def report(error: BaseException, event: str, status: int | None = None, **fields: object) -> None:
    """Log an unexpected exception once, as the one entry Error Reporting groups: its traceback (messages cut
    short, URLs reduced to their host, secrets hidden), the service and version, and the request it broke."""
    if getattr(error, "_incidents_reported", False):
        return
    with contextlib.suppress(AttributeError, TypeError):
        error._incidents_reported = True
    head: dict[str, object] = {"severity": "ERROR", "@type": ERROR_EVENT, "message": traceback_text(error),
                               "serviceContext": {"service": os.environ.get("K_SERVICE") or _function_name(),
                                                  "version": os.environ.get("K_REVISION") or "local"}}
    http_request = (_request.get() or {}).get("http")
    if http_request:
        head["context"] = {"httpRequest": {**http_request, **({"responseStatusCode": status} if status else {})}}
    _write(head, {"event": event, "error": type(error).__name__, **fields})


def _function_name() -> str:
    """The function serving this process (functions-framework names its Flask app after the target)."""
    try:
        import flask
        if flask.has_app_context():
            return flask.current_app.name
    except ImportError:  # a command-line tool
        pass
    return os.environ.get("FUNCTION_TARGET") or "incidents"


def traceback_text(error: BaseException) -> str:
    """Return the exception as Python prints it (chained causes first), which Error Reporting parses."""
    chain, e = [], error
    while e is not None and all(e is not seen for seen in chain) and len(chain) < 5:
        chain.append(e)
        e = e.__cause__ if e.__cause__ is not None else (None if e.__suppress_context__ else e.__context__)
    parts = []
    for later, e in zip([None, *chain[:-1]], chain, strict=True):
        frames = traceback.extract_tb(e.__traceback__) if e.__traceback__ is not None else (
            traceback.extract_stack()[:-2] if e is error else [])  # raised nowhere: where it was reported from
        if later is not None:  # printed after this one, as Python prints a chain: the cause first
            parts.append("\nThe above exception was the direct cause of the following exception:\n\n"
                         if later.__cause__ is e else
                         "\nDuring handling of the above exception, another exception occurred:\n\n")
        text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames[-MAX_FRAMES:]))
        parts.append(text + _exception_line(e) if frames else _exception_line(e))
    return "".join(reversed(parts))


def _exception_line(error: BaseException) -> str:
    kind = type(error)
    name = kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else \
        f"{kind.__module__}.{kind.__qualname__}"
    text = shown(str(error))
    return f"{name}: {text}\n" if text else f"{name}\n"


def shown(text: str) -> str:
    """Return an exception's message fit for a log: secrets hidden, URLs (a webhook's path is its secret, a query
    may hold ?token=) reduced to scheme and host, credentials after Bearer/token= hidden, at most MAX_TEXT long."""
    for secret in _hidden:
        text = text.replace(secret, "***")
    text = _URL.sub(lambda m: f"{m[1]}{m[2].rsplit('@', 1)[-1]}/…", text)
    text = _CREDENTIAL.sub(lambda m: f"{m[1]}***", text)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
