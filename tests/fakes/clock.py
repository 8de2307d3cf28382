"""The clock the HTTP-boundary fakes read: the real one by default, or a FakeClock a test moves by hand."""
from __future__ import annotations

import threading
import time
from typing import Protocol

# 2026-11-24 03:00:00 UTC (10:00 in Ho Chi Minh City, a Tuesday in business hours): a fixed, plausible epoch
FAKE_EPOCH = 1795489200.0


class Clock(Protocol):
    """What a fake reads the time from: wall-clock seconds (headers, timestamps) and a monotonic counter."""

    def time(self) -> float: ...

    def monotonic(self) -> float: ...


class RealClock:
    """The system clock; it cannot be advanced."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def advance(self, seconds: float) -> None:
        raise TypeError("the real clock cannot be advanced: give the fake a FakeClock")

    def __repr__(self) -> str:
        return "RealClock()"


REAL_CLOCK = RealClock()


class FakeClock:
    """A clock that stands still until advance(seconds) moves its wall and monotonic readings together."""

    def __init__(self, start: float = FAKE_EPOCH, monotonic_start: float = 1000.0) -> None:
        self._time, self._monotonic = float(start), float(monotonic_start)
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self._time

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move the clock forward; a negative step is refused (monotonic time never goes back)."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward, not by {seconds}")
        with self._lock:
            self._time += seconds
            self._monotonic += seconds

    sleep = advance  # so code that paces itself with sleep(seconds) can be handed this clock

    def __repr__(self) -> str:
        return f"FakeClock(time={self._time!r}, monotonic={self._monotonic!r})"
