"""A tap on the wire to the Firestore emulator: a gRPC proxy that forwards every call unchanged and records what
it read and wrote.

Not an imitation of Firestore: every call is answered by the real emulator behind it. The product's client is
pointed at the tap (client(), below) instead of reaching into the library's internals; the tap decodes the
requests and answers with the library's public message types and counts as Firestore bills
(https://cloud.google.com/firestore/pricing): a document read per document fetched (a query at least one, an
aggregation one), a write per document written, a delete per document deleted. It also keeps, per written
document, its writes in each second (the hot-key tests' measure) and the structure of each query (the index
check's), and each commit it refused (the contention tests' measure).

Its forwarding costs a little time and CPU per call: benchmarks count through it in a pass of their own, not
while they time.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass

import grpc
from google.cloud.firestore_v1.types import firestore as messages

SERVICE = "/google.firestore.v1.Firestore/"
# how each method streams: (client streams, server streams)
SHAPES = {"Listen": (True, True), "Write": (True, True), "BatchGetDocuments": (False, True),
          "RunQuery": (False, True), "RunAggregationQuery": (False, True)}


def _pb(message_class):
    return message_class.pb()


@dataclass(frozen=True)
class Hottest:
    """The most written documents over a span of seconds."""

    seconds: float
    average_path: str
    average_per_second: float    # its writes over the span, per second
    peak_path: str
    peak_in_one_second: int      # the most writes any document took in any one clock second


@dataclass(frozen=True)
class Refused:
    """A commit Firestore refused: its status (FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED ...) and the documents
    it would have written (paths below /documents/), each with how: update, create (must not exist), or delete."""

    code: str
    writes: tuple[tuple[str, str], ...]   # (path, update|create|delete)


class Tap:
    """The proxy and what it saw. Thread-safe; start() it, point a client at .host, stop() it."""

    def __init__(self, upstream: str | None = None, clock: Callable[[], float] = time.monotonic):
        self.upstream = upstream or os.environ["FIRESTORE_EMULATOR_HOST"]
        self.clock = clock
        self._lock = threading.Lock()
        self.reads = self.writes = self.deletes = self.commits = 0
        self.by_path: dict[str, Counter] = defaultdict(Counter)   # document path -> {second: writes}
        self.read_by_path: Counter = Counter()                    # document path -> reads by name (not by query)
        self.queries: list = []                                   # StructuredQuery messages (proto-plus), as run
        self.refused: list[Refused] = []                          # commits the emulator refused, in order
        self._channel = grpc.insecure_channel(self.upstream)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=64))
        self._server.add_generic_rpc_handlers([_Handler(self)])
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self.host = f"127.0.0.1:{self.port}"

    def start(self) -> Tap:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None)
        self._channel.close()

    # -- what it saw ------------------------------------------------------------------------------------------
    def snapshot(self) -> tuple[int, int]:
        """Return (reads, writes) so far."""
        with self._lock:
            return self.reads, self.writes

    def totals(self) -> tuple[int, int, int]:
        """Return (reads, writes, deletes) so far."""
        with self._lock:
            return self.reads, self.writes, self.deletes

    def written(self, path: str) -> int:
        """How many times the document at `path` ("collection/id") was written."""
        with self._lock:
            return sum(self.by_path.get(path, Counter()).values())

    def read(self, path: str) -> int:
        """How many times the document at `path` ("collection/id") was fetched by name (a query's reads not counted)."""
        with self._lock:
            return self.read_by_path[path]

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

    # -- recording ------------------------------------------------------------------------------------------
    def _committed(self, request: bytes) -> None:
        commit = _pb(messages.CommitRequest).FromString(request)
        second = int(self.clock())
        with self._lock:
            self.commits += 1
            for write in commit.writes:
                which = write.WhichOneof("operation")
                name = write.update.name if which == "update" else write.delete if which == "delete" \
                    else write.transform.document
                if which == "delete":
                    self.deletes += 1
                else:
                    self.writes += 1
                self.by_path[name.split("/documents/", 1)[-1]][second] += 1

    def _refused(self, request: bytes, error: grpc.RpcError) -> None:
        commit = _pb(messages.CommitRequest).FromString(request)
        writes = []
        for write in commit.writes:
            which = write.WhichOneof("operation")
            name = write.update.name if which == "update" else write.delete if which == "delete" \
                else write.transform.document
            precondition = write.current_document
            how = "delete" if which == "delete" else \
                "create" if precondition.HasField("exists") and not precondition.exists else "update"
            writes.append((name.split("/documents/", 1)[-1], how))
        with self._lock:
            self.refused.append(Refused(error.code().name, tuple(writes)))

    def _read(self, method: str, request: bytes, responses: list[bytes]) -> None:
        with self._lock:
            if method == "GetDocument":
                self.reads += 1
                name = _pb(messages.GetDocumentRequest).FromString(request).name
                self.read_by_path[name.split("/documents/", 1)[-1]] += 1
            elif method == "BatchGetDocuments":
                names = _pb(messages.BatchGetDocumentsRequest).FromString(request).documents
                self.reads += len(names)
                self.read_by_path.update(name.split("/documents/", 1)[-1] for name in names)
            elif method == "RunQuery":
                self.queries.append(messages.RunQueryRequest.deserialize(request).structured_query)
                found = sum(1 for r in responses if _pb(messages.RunQueryResponse).FromString(r).document.name)
                self.reads += max(found, 1)
            elif method == "RunAggregationQuery":
                query = messages.RunAggregationQueryRequest.deserialize(request)
                self.queries.append(query.structured_aggregation_query.structured_query)
                self.reads += 1


class _Handler(grpc.GenericRpcHandler):
    """Forward each method as raw bytes to the emulator, with the caller's metadata and deadline."""

    def __init__(self, tap: Tap):
        self.tap = tap

    def service(self, details):
        if not details.method.startswith(SERVICE):
            return None
        name = details.method.removeprefix(SERVICE)
        streams_in, streams_out = SHAPES.get(name, (False, False))
        tap, channel = self.tap, self.tap._channel

        def options(context) -> dict:
            left = context.time_remaining()
            return {"metadata": context.invocation_metadata(), "timeout": left if left and left < 1e6 else None}

        def failed(context, error: grpc.RpcError):
            context.abort(error.code(), error.details() or "")

        if not streams_in and not streams_out:
            call = channel.unary_unary(details.method)

            def unary(request: bytes, context):
                try:
                    response = call(request, **options(context))
                except grpc.RpcError as e:
                    if name == "Commit":
                        tap._refused(request, e)
                    return failed(context, e)
                if name == "Commit":
                    tap._committed(request)
                elif name == "GetDocument":
                    tap._read(name, request, [])
                return response
            return grpc.unary_unary_rpc_method_handler(unary)
        if not streams_in:
            call = channel.unary_stream(details.method)

            def server_stream(request: bytes, context) -> Iterator[bytes]:
                seen: list[bytes] = []
                try:
                    for response in call(request, **options(context)):
                        seen.append(response)
                        yield response
                except grpc.RpcError as e:
                    failed(context, e)
                tap._read(name, request, seen)
            return grpc.unary_stream_rpc_method_handler(server_stream)
        call = channel.stream_stream(details.method)

        def bidi(requests: Iterator[bytes], context) -> Iterator[bytes]:
            try:
                yield from call(requests, **options(context))
            except grpc.RpcError as e:
                failed(context, e)
        return grpc.stream_stream_rpc_method_handler(bidi)


def client(tap: Tap, project: str | None = None):
    """Return a Firestore client (the library's, unchanged) whose calls go through the tap."""
    from google.cloud import firestore

    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = tap.host   # read once, when the client is made
    try:
        return firestore.Client(project=project or os.environ["GOOGLE_CLOUD_PROJECT"])
    finally:
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous


@contextlib.contextmanager
def tapped(clock: Callable[[], float] = time.monotonic) -> Iterator[Tap]:
    """Run the product's Firestore calls through a tap within this block."""
    from shared.store import client as store_client

    tap = Tap(clock=clock).start()
    db = client(tap)
    try:
        with store_client.use(db):
            yield tap
    finally:
        db.close()
        tap.stop()


_kept: list[contextlib.ExitStack] = []


def tap_product() -> Tap:
    """Run the product's Firestore calls through a tap from now on (a benchmark that counts all it does)."""
    stack = contextlib.ExitStack()
    tap = stack.enter_context(tapped())
    _kept.append(stack)
    return tap
