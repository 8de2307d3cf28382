"""Trace the documents the product's Firestore client writes: per document path, the writes in each second.

A wrapper at the store boundary (the client's RPC layer, as firestore_counter.py), not a fake Firestore:
every commit still goes to the emulator; one that succeeded is recorded, each document it wrote once.
"""
from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Hottest:
    """The most written documents over a span of seconds."""

    seconds: float
    average_path: str
    average_per_second: float    # its writes over the span, per second
    peak_path: str
    peak_in_one_second: int      # the most writes any document took in any one clock second


class WriteTrace:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self.by_path: dict[str, Counter] = defaultdict(Counter)  # path -> {second: writes}

    def record(self, paths: list[str]) -> None:
        second = int(self.clock())
        with self._lock:
            for path in paths:
                self.by_path[path][second] += 1

    def hottest(self, start: float, end: float, collections: tuple[str, ...] = ()) -> Hottest:
        """Return the most written documents between two clock readings (only in `collections`, if given)."""
        seconds = max(end - start, 1.0)
        first, last = int(start), int(end)
        best_avg, best_peak = ("", 0), ("", 0)
        with self._lock:
            for path, per_second in self.by_path.items():
                if collections and path.split("/")[0] not in collections:
                    continue
                within = [n for s, n in per_second.items() if first <= s <= last]
                if sum(within) > best_avg[1]:
                    best_avg = (path, sum(within))
                if within and max(within) > best_peak[1]:
                    best_peak = (path, max(within))
        return Hottest(seconds, best_avg[0], best_avg[1] / seconds, best_peak[0], best_peak[1])

    def writes(self, path: str) -> int:
        with self._lock:
            return sum(self.by_path.get(path, Counter()).values())


def _document(write) -> str:
    pb = getattr(write, "_pb", write)  # proto-plus or raw protobuf
    which = pb.WhichOneof("operation")
    name = pb.update.name if which == "update" else pb.delete if which == "delete" else pb.transform.document
    return name.split("/documents/", 1)[-1]


class _TracingApi:
    def __init__(self, inner, trace: WriteTrace):
        self._inner, self._trace = inner, trace

    def commit(self, request=None, **kwargs):
        response = self._inner.commit(request=request, **kwargs)
        writes = request["writes"] if isinstance(request, dict) else request.writes
        self._trace.record([_document(w) if not isinstance(w, dict) else _dict_document(w) for w in writes])
        return response

    def raw_commit(self, request):
        """The alert path's commits (raw protobuf, shared/store/client.py `_raw_commit`)."""
        response = self._inner.raw_commit(request)
        self._trace.record([_document(w) for w in request.writes])
        return response

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _dict_document(write: dict) -> str:
    name = write.get("update", {}).get("name") or write.get("delete") or write["transform"]["document"]
    return name.split("/documents/", 1)[-1]


def install(client, clock=time.monotonic) -> WriteTrace:
    """Route the client's commits through a write trace and return it (again: the same trace)."""
    api = client._firestore_api
    if isinstance(api, _TracingApi):
        return api._trace
    trace = WriteTrace(clock)
    client._firestore_api_internal = _TracingApi(api, trace)
    return trace


def uninstall(client) -> None:
    api = client._firestore_api
    if isinstance(api, _TracingApi):
        client._firestore_api_internal = api._inner
