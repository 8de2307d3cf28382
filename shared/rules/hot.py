"""When a dedup key is hot, how many shards its rate needs, and what the alert path knows about a hot key's
counts (pure, no I/O).

Production Firestore advises sustaining about one write per second per document
(https://firebase.google.com/docs/firestore/best-practices#high_read_write_and_delete_rates_to_a_narrow_document_range);
a storm on one problem writes its live/{key} at the alert rate. Past a small burst the key's counters are
spread over counter shards (https://firebase.google.com/docs/firestore/solutions/counters), as many as the
measured rate needs for PER_SHARD writes a second on each: 8 for a problem alerting 5 times a second, 128
(the most) at 100 alerts/s, 100 times the team's peak. A storm that grows after its key was sharded grows
the shards with it.
"""
from __future__ import annotations

from collections.abc import Iterable

HOT_WRITES = 2     # writes of live/{key} within HOT_WINDOW (seen or in flight) past which the key is sharded:
#                    with the opening, the sharding and a severity rise, live/{key} takes at most 5 in a second
HOT_WINDOW = 1.0   # seconds
PER_SHARD = 0.8    # writes a second each shard is sized for (Firestore's guidance: about 1)
MIN_SHARDS = 8
MAX_SHARDS = 128   # 100 alerts/s over 128 shards is 0.8 writes/s on each
MIN_SPAN = 0.02    # seconds: writes seen closer together than this (a request's own length) are taken as this far apart
SHARD_SPAN = 10.0  # seconds over which two answers of one shard measure the key's rate


def _recent(seen: Iterable[tuple[float, int]], now: float) -> list[tuple[float, int]]:
    return [(at, count) for at, count in seen if now - at <= HOT_WINDOW]


def _writes(recent: list[tuple[float, int]], in_flight: int) -> int:
    """Writes within the window, the next one included: the spread of the (global) counts seen, and those in
    flight."""
    counts = [count for _, count in recent]
    return (max(counts) - min(counts) + 1 if counts else 0) + in_flight + 1


def is_hot(seen: Iterable[tuple[float, int]], in_flight: int, now: float) -> bool:
    """Return True when live/{key} took, or is about to take, more than HOT_WRITES writes within HOT_WINDOW.

    `seen`: (monotonic time, count the write returned) of this process's recent writes of live/{key}; the
    counts are global, so the spread between two of them counts other instances' writes too. `in_flight`:
    this process's writes of live/{key} still under way.
    """
    return _writes(_recent(seen, now), in_flight) > HOT_WRITES


def rate_of_live(seen: Iterable[tuple[float, int]], in_flight: int, now: float) -> float:
    """Return the writes a second live/{key} takes: the window's writes (as is_hot counts them) over the time
    from the first of them until now. Writes in flight are under way now: several on one key at once, with
    none seen before them, are a burst as fast as a request is short."""
    recent = _recent(seen, now)
    writes = _writes(recent, in_flight)
    span = now - min(at for at, _ in recent) if recent else 0.0
    return max(writes / HOT_WINDOW, (writes - 1) / max(span, MIN_SPAN))


def rate_of_process(times: Iterable[float], now: float) -> float:
    """Return the writes a second this process makes on a key: its writes within HOT_WINDOW."""
    return sum(1 for at in times if now - at <= HOT_WINDOW) / HOT_WINDOW


def rate_of_shard(before: tuple[float, int] | None, at: float, count: int, shards: int) -> float:
    """Return the key's rate that two answers of one shard show (0.0 when they cannot tell): the shard's
    count rose from before's to `count` meanwhile, and round robin gives each shard a 1/shards part."""
    if before is None or not MIN_SPAN <= at - before[0] <= SHARD_SPAN or count - before[1] < 2:
        return 0.0
    return (count - before[1]) / (at - before[0]) * shards


def shards_for(rate: float) -> int:
    """Return the shards `rate` writes a second need: a power of two from MIN_SHARDS to MAX_SHARDS."""
    shards = MIN_SHARDS
    while shards * PER_SHARD < rate and shards < MAX_SHARDS:
        shards *= 2
    return shards


def milestones_reached(milestones: Iterable[int], lower_bound: int, done: Iterable[int]) -> list[int]:
    """Return the milestones a hot key's count has certainly reached (it is at least `lower_bound`) and that
    were not announced yet by this process (`done`); the outbox record id makes each one exactly once."""
    done = set(done)
    return sorted(m for m in milestones if m <= lower_bound and m not in done)


def lower_bound(live_count: int, shard_counts: Iterable[int]) -> int:
    """Return a count the key has certainly reached: counters only grow, so the sum of values each document
    was seen to hold is at most the total (and equals it once every document's latest value was seen)."""
    return live_count + sum(shard_counts)
