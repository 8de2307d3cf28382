"""What every channel shares: the Result of a send, one classifier of HTTP answers, the HTTP client."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from shared.clock import clock
from shared.lazy import httpx

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


_clients: dict[str, httpx.Client] = {}
_lock = threading.Lock()


def _client_for(name: str) -> httpx.Client:
    with _lock:
        client = _clients.get(name)
        if client is None:
            client = _clients[name] = httpx.Client(headers={"User-Agent": USER_AGENT},
                                                   timeout=httpx.Timeout(5.0, connect=3.0))
        return client


def _drop(name: str, client: httpx.Client) -> None:
    with _lock:
        if _clients.get(name) is client:
            del _clients[name]
    client.close()  # closes its connections: a read stuck on a hung or trickling server ends here


def request(channel: str, method: str, url: str, deadline: float, **kwargs) -> httpx.Response:
    """Make one HTTP call that is over within `deadline` seconds in all (connect, write and every read).

    httpx's timeouts are per operation, so a server that trickles a byte every few seconds would hold a
    send (and the channel's queue behind it) for minutes. The call runs in a worker thread; past the
    deadline the channel's connections are closed, which ends it, and the caller gets a timeout (a
    retryable failure). Each channel has its own keep-alive client, so this never cuts another channel's
    call short.
    """
    client = _client_for(channel)
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["response"] = client.request(method, url, timeout=deadline, **kwargs)
        except BaseException as e:
            outcome["error"] = e

    worker = threading.Thread(target=run, name=f"http-{channel}", daemon=True)
    worker.start()
    if not clock().join(worker, deadline):
        _drop(channel, client)
        raise httpx.TimeoutException(f"no complete answer within {deadline:.1f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["response"]
