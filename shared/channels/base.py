"""What every channel shares: the contract (Channel, Message, Context), the Result of a send, one classifier of
HTTP answers, the HTTP client."""
from __future__ import annotations

import threading
from dataclasses import field
from datetime import datetime

from shared.clock import clock
from shared.config import Config
from shared.config.channels import CAPABILITIES, Capabilities
from shared.config.frozen import frozen
from shared.config.settings import Settings
from shared.lazy import httpx
from shared.model import Incident

USER_AGENT = "incident-response/1.0 (+https://github.com/petties/incident-response)"   # GitHub requires one
# Discord asks bots to say who they are in this form (https://discord.com/developers/docs/reference#user-agent)
DISCORD_USER_AGENT = "DiscordBot (https://github.com/petties/incident-response, 1.0)"


def user_agent(name: str) -> str:
    """The User-Agent a client for `name` (a channel, a vendor API) sends."""
    return DISCORD_USER_AGENT if "discord" in name else USER_AGENT


@frozen
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
    note: str = ""                     # superseded: why nothing needed sending, in the team's words


SUPERSEDED = Result(True, superseded=True)


def superseded(why: str) -> Result:
    """Nothing was sent, and `why` says so in the team's words ("GitHub files only Low issues")."""
    return Result(True, superseded=True, note=why)


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
            client = _clients[name] = httpx.Client(headers={"User-Agent": user_agent(name)},
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
    timer = clock()
    started = timer.monotonic()
    worker.start()
    # the deadline runs from the start: an answer that came after it is late, even if the wait began late
    if not timer.join(worker, started + deadline - timer.monotonic()) or timer.monotonic() - started > deadline:
        _drop(channel, client)
        raise httpx.TimeoutException(f"no complete answer within {deadline:.1f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["response"]


@frozen
class Message:
    """One rendered message for one channel."""

    kind: str                          # opened | raised | resolved | milestone | escalation | text | digest | step
    payload: object                    # what the vendor's API takes (Discord JSON, an Email, a GitHub issue)
    preview: str                       # how it reads, for the local preview page and the log
    recipients: tuple[str, ...] = ()   # addressed channels (email)
    progress: dict = field(default_factory=dict)   # steps of a multi-step send already done (from the record)
    ref: str | None = None             # what a follow-up acts on: the opening's message id or issue number
    attempt: int = 1                   # 1 for the first try; a later one may need to look for a lost success


@frozen
class Context:
    """Who and what a message names, decided by routing at send time."""

    mentions: tuple[str, ...] = ()     # person ids to name (and ping, where the channel can)
    recipients: tuple[str, ...] = ()   # addresses (addressed channels)
    extra: dict = field(default_factory=dict)   # template extras: milestone, escalation step and level


class Channel:
    """The contract every channel keeps. What it can do comes from shared/config/channels.py by its name."""

    name: str = ""

    def __init__(self, settings: Settings):
        self.settings = settings

    @classmethod
    def capabilities(cls) -> Capabilities:
        return CAPABILITIES[cls.name]

    @property
    def carries(self) -> frozenset[str]:
        return self.capabilities().carries

    @property
    def addressed(self) -> bool:
        return self.capabilities().addressed

    @property
    def chat(self) -> bool:
        return self.capabilities().chat

    @property
    def edits(self) -> bool:
        return self.capabilities().edits

    def configured(self) -> bool:
        """True when credentials exist; otherwise messages go to the local preview page."""
        raise NotImplementedError

    def render(self, kind: str, incident: Incident | None, cfg: Config, now: datetime, ctx: Context) -> Message:
        """Return the message of this kind for the incident as it is now."""
        raise NotImplementedError

    def skips(self, message: Message) -> str:
        """Return why this channel, as it is set up, sends no such message ('' when it sends it); the preview page
        shows only what would be sent."""
        return ""

    def send(self, message: Message, timeout: float) -> Result:
        """Send it; Result.ref names what was made (message id, issue number)."""
        raise NotImplementedError

    def edit(self, ref: str, message: Message, timeout: float) -> Result:
        """Replace what `ref` shows with `message` (channels with `edits`)."""
        return SUPERSEDED
