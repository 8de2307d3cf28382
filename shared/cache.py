"""What an instance keeps for a few seconds instead of asking Firestore again, with one reset for all of it.

A burst of alerts reads the silences and the on-call overrides once, not once per alert; a burst of visitors
renders the status page once. Each cache belongs to the module that fills it; forget_all() (tests, and a
process that must see a change at once) empties every one.
"""
from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from shared.clock import clock

T = TypeVar("T")
_caches: weakref.WeakSet[TimedCache] = weakref.WeakSet()


class TimedCache:
    """Values kept for `seconds` by the product's clock, each under a key, loaded on first use."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._values: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        _caches.add(self)

    def get(self, key: Any, load: Callable[[], T]) -> T:
        """Return the value under `key`, loading it again when it is older than `seconds` (one loader at a time)."""
        with self._lock:
            now = clock().monotonic()
            kept = self._values.get(key)
            if kept is None or now - kept[0] >= self.seconds:
                kept = self._values[key] = (now, load())
            return kept[1]

    def peek(self, key: Any) -> Any:
        """Return the value under `key` if it is still fresh, else None (no load)."""
        with self._lock:
            kept = self._values.get(key)
            return kept[1] if kept is not None and clock().monotonic() - kept[0] < self.seconds else None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._values[key] = (clock().monotonic(), value)

    def forget(self) -> None:
        """Drop everything this cache keeps (after this instance changed what it holds)."""
        with self._lock:
            self._values.clear()


def forget_all() -> None:
    """Drop what every cache in the process keeps."""
    for cache in list(_caches):
        cache.forget()
