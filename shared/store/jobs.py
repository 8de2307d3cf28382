"""The last run of each periodic job (status/{job}), for the health check."""
from __future__ import annotations

from shared.store.client import call, client

JOBS = "status"   # the collection's name since the first release: existing data keeps working


def record_run(job: str, fields: dict) -> None:
    """Record how a periodic job's last run went."""
    call(client().collection(JOBS).document(job).set, fields)


def last_run(job: str) -> dict | None:
    """Return how the job's last run went, or None before its first."""
    snap = call(client().collection(JOBS).document(job).get)
    return snap.to_dict() if snap.exists else None
