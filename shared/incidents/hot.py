"""What this process knows of the dedup keys it writes: which are hot, where their next duplicate goes, and a
count each has certainly reached (for milestones and severity rules on a hot key).

Nothing here is needed for correctness across instances: a key is sharded in Firestore (live/{key}.shards),
and every write on a key tells its writer so; this only spares live/{key} the writes a storm would make.
"""
from __future__ import annotations

import random
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.clock import clock
from shared.rules import hot

KEEP_KEYS = 1000          # keys remembered per process, least recently used forgotten first
SHARDING_WAIT = 1.0       # seconds a duplicate waits for this process to finish sharding its key


@dataclass
class _Key:
    generation: int = 0
    shards: int = 0
    live_count: int = 0                                      # the largest count live/{key} returned
    shard_counts: dict[int, int] = field(default_factory=dict)  # the largest count each shard returned
    seen: deque = field(default_factory=lambda: deque(maxlen=16))  # (monotonic, count) of live/{key} writes
    in_flight: int = 0
    next_shard: int = field(default_factory=lambda: random.randrange(hot.MAX_SHARDS))
    sharding: threading.Event | None = None                  # set while this process shards the key
    growing: bool = False                                    # while this process adds shards to the key
    wanted: int = 0                                          # the shards the key's measured rate needs
    grow_after: float = 0.0                                  # after a failed growth, no other before this
    times: deque = field(default_factory=lambda: deque(maxlen=2 * hot.MAX_SHARDS))  # this process's writes
    answers: dict[int, tuple[float, int]] = field(default_factory=dict)  # each shard's last (monotonic, count)
    milestones: set[int] = field(default_factory=set)       # announced by this process (this generation)
    ranks: set[int] = field(default_factory=set)             # rises this process tried (this generation)


class HotKeys:
    """The process's view of its dedup keys; thread-safe (one instance serves requests on many threads)."""

    def __init__(self, monotonic: Callable[[], float] | None = None):
        self.clock = monotonic or (lambda: clock().monotonic())
        self._keys: OrderedDict[str, _Key] = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, key_doc: str) -> _Key:
        state = self._keys.get(key_doc)
        if state is None:
            state = self._keys[key_doc] = _Key()
            if len(self._keys) > KEEP_KEYS:
                self._keys.popitem(last=False)
        self._keys.move_to_end(key_doc)
        return state

    def route(self, key_doc: str, may_shard: bool = True) -> tuple[str, int | None]:
        """Decide where the next duplicate goes: ("shard", n); ("shard-key", shards) when this caller is to
        shard the key first, or give it more shards, as its rate needs (then call sharded(), and route again
        with may_shard False); or ("live", None) for live/{key} (then call written()).

        While one caller shards a key, the process's other duplicates on it wait (up to SHARDING_WAIT) rather
        than write live/{key}; while one adds shards, the others go on writing the shards there are.
        """
        with self._lock:
            state = self._get(key_doc)
            waiting = state.sharding
        if waiting is not None:
            clock().wait(waiting, SHARDING_WAIT)
        with self._lock:
            state = self._get(key_doc)
            now = self.clock()
            if state.shards:
                rate = hot.rate_of_process(state.times, now) + 1 / hot.HOT_WINDOW  # this write included
                state.wanted = max(state.wanted, hot.shards_for(rate))
                if may_shard and state.wanted > state.shards and not state.growing and now >= state.grow_after:
                    state.growing = True
                    return "shard-key", state.wanted
                state.times.append(now)
                n = state.next_shard % state.shards
                state.next_shard += 1
                return "shard", n
            if may_shard and state.sharding is None and hot.is_hot(state.seen, state.in_flight, now):
                state.sharding = threading.Event()
                return "shard-key", hot.shards_for(hot.rate_of_live(state.seen, state.in_flight, now))
            state.in_flight += 1
            return "live", None

    def written(self, key_doc: str, generation: int | None, count: int, shards: int) -> None:
        """Note a write of live/{key} that returned `count` (generation None: it failed)."""
        with self._lock:
            state = self._get(key_doc)
            state.in_flight = max(state.in_flight - 1, 0)
            if generation is None or not self._generation(state, generation):
                return
            state.live_count = max(state.live_count, count)
            state.seen.append((self.clock(), count))
            state.shards = max(state.shards, shards)

    def sharded(self, key_doc: str, live: dict | None) -> None:
        """Note the end of sharding the key or growing its shards (live: live/{key} as it now is, None: not
        done)."""
        with self._lock:
            state = self._get(key_doc)
            if live is not None and self._generation(state, int(live["generation"])):
                state.shards = max(state.shards, int(live["shards"]))
                state.live_count = max(state.live_count, int(live.get("occurrences", 0)))
            elif state.shards:
                state.grow_after = self.clock() + hot.HOT_WINDOW  # try again after another window's writes
            else:
                state.seen.clear()  # try again after another window's writes
            state.growing = False
            event, state.sharding = state.sharding, None
        if event is not None:
            event.set()

    def counted_on_shard(self, key_doc: str, n: int, generation: int, count: int, shards: int) -> int:
        """Note a shard write that returned `count` (and `shards`, the key's shards when that one was made);
        return a count the key has certainly reached."""
        with self._lock:
            state = self._get(key_doc)
            if not self._generation(state, generation):
                return 0  # a write that began before this process saw the next incident on the key
            state.shards = max(state.shards, shards, n + 1)  # a shard answered: the key is sharded (again)
            now = self.clock()
            # other instances' writes show in the shard's count: the key may need more shards than this
            # process's own rate tells
            rate = hot.rate_of_shard(state.answers.get(n), now, count, state.shards)
            state.wanted = max(state.wanted, hot.shards_for(rate) if rate else 0)
            if count > state.answers.get(n, (0.0, -1))[1]:
                state.answers[n] = (now, count)
            state.shard_counts[n] = max(state.shard_counts.get(n, 0), count)
            return hot.lower_bound(state.live_count, state.shard_counts.values())

    def lower_bound(self, key_doc: str) -> int:
        with self._lock:
            state = self._get(key_doc)
            return hot.lower_bound(state.live_count, state.shard_counts.values())

    def first_time(self, key_doc: str, kind: str, values: list[int]) -> list[int]:
        """Return those of `values` (milestones, or severity ranks) this process has not tried yet, and mark them."""
        with self._lock:
            done = self._get(key_doc).milestones if kind == "milestone" else self._get(key_doc).ranks
            new = [v for v in values if v not in done]
            done.update(new)
            return new

    def try_again(self, key_doc: str) -> None:
        """Forget the rises and milestones this process tried on a key (while it was muted: they were passed over)."""
        with self._lock:
            state = self._keys.get(key_doc)
            if state is not None:
                state.milestones.clear()
                state.ranks.clear()

    def forget(self, key_doc: str) -> None:
        """Forget a key whose shards are gone (its incident closed); its next duplicate learns anew."""
        with self._lock:
            state = self._keys.pop(key_doc, None)
        if state is not None and state.sharding is not None:
            state.sharding.set()

    def reset(self) -> None:
        """Forget every key (tests that wipe the database between them)."""
        with self._lock:
            keys, self._keys = self._keys, OrderedDict()
        for state in keys.values():
            if state.sharding is not None:
                state.sharding.set()

    @staticmethod
    def _generation(state: _Key, generation: int) -> bool:
        """Move to the key's `generation`-th incident; False when this is about an earlier one."""
        if generation < state.generation:
            return False
        if generation > state.generation:  # a new incident on the key: its counts start again
            sharding, growing, in_flight = state.sharding, state.growing, state.in_flight
            state.__init__()
            state.generation, state.sharding, state.growing, state.in_flight = generation, sharding, growing, in_flight
        return True


KEYS = HotKeys()
