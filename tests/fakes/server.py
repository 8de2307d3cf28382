"""Serve a WSGI fake on a free port, and the lifecycle, request log and fault injection every fake shares."""
from __future__ import annotations

import json
import random
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Self

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.fakes.clock import REAL_CLOCK, Clock

HANG = 0  # pseudo-status of a fault that answers normally, but only after hang_seconds


class _QuietHandler(WSGIRequestHandler):
    """Speak HTTP/1.1 (keep-alive, like the real APIs) and drop the access log; errors still print."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def serve(wsgi_app: Callable) -> tuple[str, Callable[[], None]]:
    """Serve wsgi_app on 127.0.0.1:<free port> in a daemon thread; return (base_url, stop)."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_port}", stop


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> Response:
    """Return a JSON response (body None -> no body)."""
    data = b"" if body is None else json.dumps(body).encode()
    return Response(data, status, headers=headers, content_type=content_type)


@dataclass
class Fault:
    """One injected answer: an HTTP status (or HANG), optional body/headers overriding the vendor default."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float = 0.1
    hang_seconds: float | None = None


class FakeService:
    """Base of the HTTP fakes: start/stop, thread-safe request log, scripted and seeded random faults.

    Every time a fake states (rate-limit windows and resets, timestamps, the request log's "at") comes from
    `clock`: the real clock by default, or a tests.fakes.clock.FakeClock the test advances. A HANG waits on
    that clock: in real time with the real one; with a FakeClock it moves the clock on by the hang (the
    client's deadline, on the same clock, sees the time pass) and answers at once; or, with
    hang_waits_for_clock, it waits for the test to move the clock that far.
    """

    #: statuses a random fault picks from (HANG = answer normally but late); subclasses may widen it
    FAULT_STATUSES: tuple[int, ...] = (500, 502, 503, 429, HANG)

    def __init__(self, *, fail_ratio: float = 0.0, seed: int | None = 0, hang_seconds: float = 2.0,
                 clock: Clock | None = None) -> None:
        if not 0.0 <= fail_ratio <= 1.0:
            raise ValueError("fail_ratio must be within 0..1")
        self.clock = clock or REAL_CLOCK
        self.fail_ratio = fail_ratio
        self.hang_seconds = hang_seconds
        self.hang_waits_for_clock = False   # with a FakeClock: a hang waits for the test to move the clock (True)
        self.rng = random.Random(seed)
        self.requests: list[dict[str, Any]] = []
        self.base_url = ""
        self._lock = threading.RLock()
        self._scripted: deque[Fault] = deque()
        self._stopping = threading.Event()
        self._stop_server: Callable[[], None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------
    @classmethod
    def start(cls, **kwargs: Any) -> Self:
        """Create the fake with kwargs and serve it; return the running instance."""
        return cls(**kwargs).serve()

    def serve(self) -> Self:
        """Serve this instance on a free port (idempotent); return self."""
        if self._stop_server is None:
            self._stopping.clear()
            self.base_url, self._stop_server = serve(self)
        return self

    def stop(self) -> None:
        """Stop serving; requests still hanging are released at once."""
        self._stopping.set()
        if self._stop_server is not None:
            self._stop_server()
            self._stop_server = None

    def __enter__(self) -> Self:
        return self.serve()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- fault injection ---------------------------------------------------------------------------------
    def fail_next(self, n: int = 1, status: int = 503, body: Any = None, headers: dict[str, str] | None = None,
                  retry_after: float = 0.1) -> None:
        """Answer the next n requests with status (vendor-shaped default body unless body/headers given)."""
        with self._lock:
            self._scripted.extend(Fault(status, body, dict(headers or {}), retry_after) for _ in range(n))

    def hang_next(self, n: int = 1, seconds: float | None = None) -> None:
        """Process the next n requests normally but answer only after seconds (default hang_seconds)."""
        with self._lock:
            self._scripted.extend(Fault(HANG, hang_seconds=seconds) for _ in range(n))

    def _draw_fault(self) -> Fault | None:
        with self._lock:
            if self._scripted:
                return self._scripted.popleft()
            if self.fail_ratio and self.rng.random() < self.fail_ratio:
                status = self.rng.choice(self.FAULT_STATUSES)
                return Fault(status, retry_after=round(self.rng.uniform(0.05, 0.3), 3))
        return None

    # -- subclass hooks ----------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer a request as the real service would (called under the lock)."""
        raise NotImplementedError

    def fault_response(self, fault: Fault) -> Response:
        """Return the vendor-shaped default answer for an injected status."""
        return json_response({"message": f"injected {fault.status}"}, fault.status)

    def decorate(self, request: Request, response: Response) -> None:
        """Add headers every answer carries (rate-limit headers...)."""

    # -- WSGI ----------------------------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        request.get_data()  # always drain the body so a keep-alive connection stays in sync
        fault = self._draw_fault()
        with self._lock:
            if fault is None or fault.status == HANG:
                response = self.handle(request)
            else:
                response = self.fault_response(fault)
                if fault.body is not None:
                    is_raw = isinstance(fault.body, (bytes, str))
                    response.set_data(fault.body if is_raw else json.dumps(fault.body))
                response.headers.update(fault.headers)
            self.decorate(request, response)
            self.requests.append({
                "method": request.method, "path": request.path, "query": request.args.to_dict(),
                "status": response.status_code, "headers": dict(request.headers), "body": request.get_data(),
                "fault": None if fault is None else ("hang" if fault.status == HANG else fault.status),
                "at": self.clock.time(),
            })
        if fault is not None and fault.status == HANG:
            seconds = self.hang_seconds if fault.hang_seconds is None else fault.hang_seconds
            if self.clock is REAL_CLOCK:
                self._stopping.wait(seconds)
            elif self.hang_waits_for_clock:
                self.clock.wait(self._stopping, seconds)
            else:
                self.clock.sleep(seconds)
        return response(environ, start_response)

    def statuses(self) -> list[int]:
        """Return the status of every request answered so far, in order."""
        with self._lock:
            return [r["status"] for r in self.requests]
