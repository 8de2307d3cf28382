"""The process's one clock: wall time, monotonic time, sleeping, and waits that end at a deadline.

Everything in the product that paces itself, times a call out or keeps to a budget (delivery's rate-limit
pauses, send deadlines and budgets, the sweep's budget, probes, UptimeRobot polling, Firestore contention
retries) asks this clock, never the time module. A test installs a fake one with use(): it stands still
until the test moves it, so a 5-second timeout costs the test nothing and still proves the same thing.
The clock is looked up, not passed down, for the same reason the settings are: the functions' entry points
are called by functions-framework, which has nowhere to hand it in.
"""
from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    """What the product reads time from and waits by."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def wait(self, event: threading.Event, timeout: float) -> bool:
        """Wait until `event` is set or `timeout` seconds have passed; return whether it is set."""

    def join(self, thread: threading.Thread, timeout: float) -> bool:
        """Wait until `thread` ends or `timeout` seconds have passed; return whether it ended."""


class SystemClock:
    """The real time of the machine."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, event: threading.Event, timeout: float) -> bool:
        return event.wait(max(timeout, 0.0))

    def join(self, thread: threading.Thread, timeout: float) -> bool:
        thread.join(max(timeout, 0.0))
        return not thread.is_alive()

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM = SystemClock()
_current: Clock = SYSTEM
PATIENCE = 5.0   # seconds a caller waits for a store that does not answer, unless it says otherwise (within)
_patience: contextvars.ContextVar[float] = contextvars.ContextVar("patience", default=PATIENCE)


def clock() -> Clock:
    """Return the clock the product runs by (the system's, unless a test installed another)."""
    return _current


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Within this block, a call to a service that does not answer (Firestore) gives up after `seconds`: each
    caller keeps its own contract (a webhook answers within Sentry's 1 s, a person's request within a few)."""
    token = _patience.set(seconds)
    try:
        yield
    finally:
        _patience.reset(token)


def patience() -> float:
    """How long the current caller waits for a service that does not answer (within)."""
    return _patience.get()


@contextlib.contextmanager
def use(replacement: Clock) -> Iterator[Clock]:
    """Run the product by `replacement` within this block (tests)."""
    global _current
    previous, _current = _current, replacement
    try:
        yield replacement
    finally:
        _current = previous
