"""When a dedup key is hot, and what the alert path knows about a hot key's counts (pure, no I/O).

Production Firestore advises sustaining about one write per second per document
(https://firebase.google.com/docs/firestore/best-practices#high_read_write_and_delete_rates_to_a_narrow_document_range);
a storm on one problem writes its live/{key} at the alert rate. Past a small burst the key's counters are
spread over SHARDS documents (https://firebase.google.com/docs/firestore/solutions/counters): at 100
alerts/s, 100 times the team's peak, each shard takes under one write per second.
"""
from __future__ import annotations

from collections.abc import Iterable

SHARDS = 128       # counter shards of a hot key: 100 alerts/s over 128 shards is 0.8 writes/s on each
HOT_WRITES = 3     # writes of live/{key} within HOT_WINDOW (seen or in flight) past which the key is sharded
HOT_WINDOW = 1.0   # seconds


def is_hot(seen: Iterable[tuple[float, int]], in_flight: int, now: float) -> bool:
    """Return True when live/{key} took, or is about to take, more than HOT_WRITES writes within HOT_WINDOW.

    `seen`: (monotonic time, count the write returned) of this process's recent writes of live/{key}; the
    counts are global, so the spread between two of them counts other instances' writes too. `in_flight`:
    this process's writes of live/{key} still under way.
    """
    counts = [count for at, count in seen if now - at <= HOT_WINDOW]
    writes = max(counts) - min(counts) + 1 if counts else 0
    return writes + in_flight + 1 > HOT_WRITES


def milestones_reached(milestones: Iterable[int], lower_bound: int, done: Iterable[int]) -> list[int]:
    """Return the milestones a hot key's count has certainly reached (it is at least `lower_bound`) and that
    were not announced yet by this process (`done`); the outbox record id makes each one exactly once."""
    done = set(done)
    return sorted(m for m in milestones if m <= lower_bound and m not in done)


def lower_bound(live_count: int, shard_counts: Iterable[int]) -> int:
    """Return a count the key has certainly reached: counters only grow, so the sum of values each document
    was seen to hold is at most the total (and equals it once every document's latest value was seen)."""
    return live_count + sum(shard_counts)
