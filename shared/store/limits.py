"""limits/{name}: counters of recent attempts (failed console sign-ins), one document per client and minute, so
every instance sees the same count; a TTL policy on expire_at deletes them."""
from __future__ import annotations

from datetime import datetime

from shared.lazy import firestore
from shared.store.client import call, client

LIMITS = "limits"


def count(name: str) -> int:
    """Return how many attempts limits/{name} has counted (0 when none)."""
    snap = call(client().collection(LIMITS).document(name).get)
    return int(snap.get("count") or 0) if snap.exists else 0


def add(name: str, expire_at: datetime) -> None:
    """Count one more attempt in limits/{name} (created with its expiry when it is the first)."""
    call(client().collection(LIMITS).document(name).set, {"count": firestore.Increment(1), "expire_at": expire_at},
         merge=True)
