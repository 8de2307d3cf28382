"""Count Firestore document reads, writes and deletes at the RPC boundary of the product's own client.

Billing's units (https://cloud.google.com/firestore/pricing): a query is at least one read; a commit's
write is a write, or a delete when it deletes a document.
"""
from __future__ import annotations

import threading


class Counts:
    def __init__(self):
        self.reads = self.writes = self.deletes = self.commits = 0
        self._lock = threading.Lock()

    def add(self, reads=0, writes=0, commits=0, deletes=0):
        with self._lock:
            self.reads += reads
            self.writes += writes
            self.deletes += deletes
            self.commits += commits

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.reads, self.writes

    def totals(self) -> tuple[int, int, int]:
        """Return (reads, writes, deletes) so far."""
        with self._lock:
            return self.reads, self.writes, self.deletes


class _CountingApi:
    """Wrap the GAPIC Firestore client: documents written per commit, documents asked for per read."""

    def __init__(self, inner, counts: Counts):
        self._inner, self._counts = inner, counts

    def commit(self, request=None, **kwargs):
        """Count the documents written or deleted by a commit that succeeded (a refused commit writes nothing)."""
        writes = request["writes"] if isinstance(request, dict) else request.writes
        response = self._inner.commit(request=request, **kwargs)
        deletes = sum(1 for w in writes if (w.get("delete") if isinstance(w, dict) else w.delete))
        self._counts.add(writes=len(writes) - deletes, deletes=deletes, commits=1)
        return response

    def raw_commit(self, request):
        """The alert path's commits (raw protobuf, shared/store/client.py `_raw_commit`)."""
        response = self._inner.raw_commit(request)
        self._counts.add(writes=sum(1 for w in request.writes if not w.delete),
                         deletes=sum(1 for w in request.writes if w.delete), commits=1)
        return response

    def batch_get_documents(self, request=None, **kwargs):
        documents = request["documents"] if isinstance(request, dict) else request.documents
        self._counts.add(reads=len(documents))
        return self._inner.batch_get_documents(request=request, **kwargs)

    def run_query(self, request=None, **kwargs):
        counts = self._counts

        def counted():
            seen = 0
            for response in self._inner.run_query(request=request, **kwargs):
                if response.document and response.document.name:
                    seen += 1
                yield response
            counts.add(reads=max(seen, 1))  # a query is billed at least one read
        return counted()

    def __getattr__(self, name):
        return getattr(self._inner, name)


def install(client) -> Counts:
    """Route the client's RPCs through a counter and return it."""
    api = client._firestore_api  # creates the GAPIC client
    if isinstance(api, _CountingApi):
        return api._counts
    counts = Counts()
    client._firestore_api_internal = _CountingApi(api, counts)
    return counts
