"""The clock the HTTP-boundary fakes and the product read: the real one, or a FakeClock a test moves by hand.

A FakeClock is installed into the product with shared.clock.use() (the `clock` fixture does it), and handed
to the fakes, so both sides of a rate limit, a timeout or a budget read the same time.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Protocol

# 2026-11-24 03:00:00 UTC (10:00 in Ho Chi Minh City, a Tuesday in business hours): a fixed, plausible epoch
FAKE_EPOCH = 1795489200.0
STUCK_AFTER = 60.0   # real seconds a wait may go on while nobody moves the fake clock: then the test is broken
_POLL = 0.002        # real seconds between a test's looks at who waits
_FIRST_LOOK, _LAST_LOOK = 0.0005, 0.01   # real seconds between a wait's looks at its thread or event (growing)


class _Wait:
    """One wait going on: until `done()`, or until the clock passes `deadline` while it is not done."""

    def __init__(self, deadline: float, done) -> None:
        self.deadline, self.done, self.expired = deadline, done, False
        self.since = time.monotonic()   # real time it began: a wait that lasts is one nothing else will end


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

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def advance(self, seconds: float) -> None:
        raise TypeError("the real clock cannot be advanced: give the fake a FakeClock")

    def __repr__(self) -> str:
        return "RealClock()"


REAL_CLOCK = RealClock()


class StuckClock(AssertionError):
    """Something waited on the fake clock for a long real time and nobody moved it: the test must advance it."""


class FakeClock:
    """A clock that stands still until advance(seconds) moves its wall and monotonic readings together.

    sleep(seconds) moves it (whoever paces itself moves time on by exactly its pause), while wait() and
    join() end only when the awaited thing happens or someone else moves the clock past the deadline: a
    test that wants a timeout to pass advances the clock, and can ask who is waiting (deadlines()).
    """

    def __init__(self, start: float = FAKE_EPOCH, monotonic_start: float = 1000.0) -> None:
        self._time, self._monotonic = float(start), float(monotonic_start)
        self._lock = threading.Lock()
        self._waits: list[_Wait] = []   # the waits going on now

    # -- readings ---------------------------------------------------------------------------------------
    def time(self) -> float:
        with self._lock:
            return self._time

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), timezone.utc)

    # -- moving it ------------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move the clock forward; a negative step is refused (monotonic time never goes back)."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward, not by {seconds}")
        with self._lock:
            self._move(self._monotonic + seconds)

    def _move(self, monotonic: float) -> None:
        """Move both readings to `monotonic` (held lock; forward only)."""
        if monotonic <= self._monotonic:
            return
        self._time += monotonic - self._monotonic
        self._monotonic = monotonic
        # a wait whose deadline this passes times out now, even if what it awaits happens a moment later (a fake
        # that moves the clock by its hang and then answers has answered too late)
        for wait in self._waits:
            if not wait.expired and wait.deadline <= self._monotonic and not wait.done():
                wait.expired = True

    def sleep(self, seconds: float) -> None:
        """Pass `seconds` at once: code that paces itself moves the time on by its pause. (Pauses in several threads
        add up here where in real time they would overlap: a test with concurrent pauses and deadlines between
        them moves the clock itself, run_waits.)"""
        if seconds > 0:
            self.advance(seconds)

    def set(self, when: datetime) -> None:
        """Move the wall clock to `when` (forward only), the monotonic reading with it."""
        self.advance(when.timestamp() - self.time())

    # -- waiting ----------------------------------------------------------------------------------------
    def wait(self, event: threading.Event, timeout: float) -> bool:
        return self._block(event.is_set, event.wait, timeout)

    def join(self, thread: threading.Thread, timeout: float) -> bool:
        return self._block(lambda: not thread.is_alive(), thread.join, timeout)

    def _block(self, done, pause, timeout: float) -> bool:
        with self._lock:
            wait = _Wait(self._monotonic + max(timeout, 0.0), done)
            if wait.deadline <= self._monotonic and not done():
                return False
            self._waits.append(wait)
        give_up, look = time.monotonic() + STUCK_AFTER, _FIRST_LOOK
        try:
            while True:
                with self._lock:
                    if wait.expired:
                        return False
                    if done():
                        return True
                if time.monotonic() > give_up:
                    raise StuckClock(f"waited {STUCK_AFTER:.0f} s of real time for a {timeout} s deadline on a "
                                     "fake clock nobody advanced")
                pause(look)
                look = min(look * 2, _LAST_LOOK)
        finally:
            with self._lock:
                self._waits.remove(wait)

    def deadlines(self) -> list[float]:
        """Seconds from now until each wait going on now ends, soonest first."""
        with self._lock:
            return sorted(w.deadline - self._monotonic for w in self._waits if not w.expired)

    def run_waits(self, at_most: float, until, real_timeout: float = 30.0, settled: float = 0.1) -> int:
        """Until until() is true, end each wait on this clock that has at most `at_most` seconds left (a send's
        timeout, an answer's wait for its notifications) by moving the clock exactly to it, soonest first. Only a
        wait that has gone on for `settled` seconds of real time counts: a quick answer ends its own wait first
        (moving the clock for it would time it out). Return how many steps it took."""
        give_up, steps = time.monotonic() + real_timeout, 0
        while not until():
            with self._lock:
                settled_by = time.monotonic() - settled
                soon = sorted(w.deadline - self._monotonic for w in self._waits
                              if not w.expired and w.since <= settled_by)
            soon = [left for left in soon if 0 < left <= at_most + 1e-9]
            if soon:
                self.advance(soon[0])
                steps += 1
            elif time.monotonic() > give_up:
                raise StuckClock(f"no wait of at most {at_most} s on the fake clock within {real_timeout} s of real "
                                 f"time, and not done (waits: {self.deadlines()})")
            else:
                time.sleep(_POLL)
        return steps

    def __repr__(self) -> str:
        return f"FakeClock(time={self._time!r}, monotonic={self._monotonic!r})"
