"""What every channel shares: the Result of a send, one classifier of HTTP answers, the HTTP client."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import httpx

USER_AGENT = "DiscordBot (https://github.com/petties/incident-response, 1.0) incident-response/1.0"


@dataclass(frozen=True)
class Result:
    """How a send went: ok, or whether trying again later can help (and when)."""

    ok: bool
    retryable: bool = False
    retry_after: float | None = None   # seconds the server asked us to wait
    ref: str | None = None             # what the channel calls the thing we made (message id, issue number)
    error: str = ""
    pause: float | None = None         # the rate-limit bucket is empty for this long even though we succeeded
    superseded: bool = False           # nothing was sent because another record carries the news
    progress: dict | None = None       # steps of a multi-step send already done, kept for the retry


SUPERSEDED = Result(True, superseded=True)


def _seconds(value) -> float | None:
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return None


def classify(response: httpx.Response, ref: str | None = None) -> Result:
    """2xx ok; 429, 5xx and secondary rate limits retryable with the server's delay; other 4xx permanent."""
    status = response.status_code
    headers = response.headers
    pause = None
    if headers.get("x-ratelimit-remaining") == "0":
        pause = _seconds(headers.get("x-ratelimit-reset-after"))
    if 200 <= status < 300:
        return Result(True, ref=ref, pause=pause)
    body = _json(response)
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    retry_after = (_seconds(body.get("retry_after")) if isinstance(body, dict) else None) \
        or _seconds(headers.get("retry-after")) or _seconds(headers.get("x-ratelimit-reset-after"))
    error = f"HTTP {status}" + (f": {message[:200]}" if message else "")
    if status == 429 or status >= 500 or (status == 403 and "rate limit" in message.lower()):
        return Result(False, retryable=True, retry_after=retry_after, error=error)
    return Result(False, retryable=False, error=error)


def transport_error(error: Exception) -> Result:
    """A network failure or timeout: retryable; the message never carries the URL (it may hold a token)."""
    return Result(False, retryable=True, error=f"{type(error).__name__}: network error or timeout")


def _json(response: httpx.Response):
    try:
        return response.json()
    except ValueError:
        return {}


_client: httpx.Client | None = None
_lock = threading.Lock()


def http() -> httpx.Client:
    """Return the process-wide HTTP client (keep-alive to each vendor), created on first use."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = httpx.Client(headers={"User-Agent": USER_AGENT}, timeout=httpx.Timeout(5.0, connect=3.0))
    return _client
