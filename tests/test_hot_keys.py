"""Hot dedup keys: a storm on one problem spreads its writes over counter shards, and counts stay exact.

Real HTTP server, real emulator; a tap on the wire to the emulator (tests/fakes/firestore_tap.py) counts, per
document, the writes the product commits. The process's view of its keys runs on a frozen clock, so every write
of a storm falls in one detection window whatever the speed of the machine.
"""
from __future__ import annotations

import json
import math
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from google.cloud import firestore as google_firestore

from shared.incidents.hot import KEYS, HotKeys
from shared.rules import hot
from shared.rules.hot import HOT_WRITES, MAX_SHARDS, MIN_SHARDS
from shared.store import shards
from shared.store.shards import LIVE_SHARDS
from tests.conftest import fixture_json, http, sentry_headers
from tests.fakes.firestore_tap import Tap, tapped
from tests.notify_fixtures import sweep

# ---------------------------------------------------------------- the rules (pure)


def test_a_key_is_hot_past_the_burst_seen_or_in_flight_within_the_window():
    assert not hot.is_hot([], in_flight=0, now=10.0)
    assert not hot.is_hot([], in_flight=HOT_WRITES - 1, now=10.0)
    assert hot.is_hot([], in_flight=HOT_WRITES, now=10.0)
    # HOT_WRITES counts returned within the last second (other instances' writes included): one more is hot
    seen = [(9.9 - 0.3 * i, 9 - i) for i in range(HOT_WRITES)]
    assert hot.is_hot(seen, in_flight=0, now=10.0)
    assert not hot.is_hot(seen[1:], in_flight=0, now=10.0)
    # the same counts seen long ago: a trickle
    assert not hot.is_hot([(at - 5.0, count) for at, count in seen[1:]] + seen[:1], in_flight=0, now=10.0)
    # two writes seen whose counts are 5 apart: other instances wrote in between
    assert hot.is_hot([(9.5, 4), (9.9, 9)], in_flight=0, now=10.0)


def test_shards_follow_the_measured_rate():
    assert [hot.shards_for(r) for r in (0, 4, 6.4, 6.5, 20, 60, 100, 102.4, 1000)] == [
        8, 8, 8, 16, 32, 128, 128, 128, 128]  # a power of two, for at most 0.8 writes a second on each, up to 128
    # four writes a second apart from 9.4 to now: about 5 a second
    assert hot.rate_of_live([(9.4, 7), (9.6, 8), (9.8, 9)], in_flight=0, now=10.0) == pytest.approx(3 / 0.6)
    # the same four writes within 30 ms: a storm at 100/s, the most shards at once
    assert hot.shards_for(hot.rate_of_live([(9.98, 7), (9.99, 8), (10.0, 9)], in_flight=0, now=10.01)) == 128
    # three requests on the key at once, none seen before: a burst as fast as a request is short
    assert hot.shards_for(hot.rate_of_live([], in_flight=3, now=10.0)) == 128
    # other instances' writes: counts 20 apart within half a second
    assert hot.rate_of_live([(9.5, 10), (9.9, 30)], in_flight=0, now=10.0) == pytest.approx(21 / 0.5)
    assert hot.rate_of_process([8.9, 9.5, 9.6, 9.9, 10.0], now=10.0) == 4
    # shard 3 of 8 rose by 10 in 2 s: the key takes about 40 a second
    assert hot.rate_of_shard((8.0, 5), 10.0, 15, shards=8) == pytest.approx(40)
    assert hot.rate_of_shard(None, 10.0, 15, shards=8) == 0.0            # first answer: nothing to compare
    assert hot.rate_of_shard((8.0, 14), 10.0, 15, shards=8) == 0.0       # one write: too little to tell
    assert hot.rate_of_shard((10.0, 5), 10.0, 15, shards=8) == 0.0       # no time between: cannot tell
    assert hot.rate_of_shard((-5.0, 5), 10.0, 15, shards=8) == 0.0       # too long ago


def test_lower_bound_and_milestones_reached():
    assert hot.lower_bound(3, [2, 0, 5]) == 10
    assert hot.milestones_reached([10, 100, 1000], 99, done=()) == [10]
    assert hot.milestones_reached([10, 100, 1000], 100, done=[10]) == [100]
    assert hot.milestones_reached([10, 100, 1000], 5000, done=[10, 100]) == [1000]
    assert hot.milestones_reached([10, 100], 9, done=()) == []


def test_the_process_view_shards_a_key_once_then_spreads_duplicates_round_robin():
    keys = HotKeys(monotonic=lambda: 50.0)
    assert [keys.route("k")[0] for _ in range(HOT_WRITES)] == ["live"] * HOT_WRITES  # in flight together
    # one caller shards it, with as many shards as writes all in the same instant need: the most
    assert keys.route("k") == ("shard-key", MAX_SHARDS)
    assert keys.route("k", may_shard=False) == ("live", None)  # ... the others do not wait forever on it
    for count in range(2, 2 + HOT_WRITES + 1):
        keys.written("k", 1, count, 0)
    keys.sharded("k", {"generation": 1, "shards": MAX_SHARDS, "occurrences": 5})
    shards = [keys.route("k") for _ in range(MAX_SHARDS)]
    assert {kind for kind, _ in shards} == {"shard"} and sorted(n for _, n in shards) == list(range(MAX_SHARDS))
    assert keys.counted_on_shard("k", 3, 1, 2, MAX_SHARDS) == 5 + 2
    assert keys.counted_on_shard("k", 3, 1, 1, MAX_SHARDS) == 5 + 2   # an older answer of the same shard adds nothing
    assert keys.counted_on_shard("k", 4, 1, 1, MAX_SHARDS) == 5 + 3
    assert keys.first_time("k", "milestone", [10]) == [10] and keys.first_time("k", "milestone", [10]) == []
    # the next incident on the key: its counts start again, an answer about the old one changes nothing
    assert keys.counted_on_shard("k", 3, 2, 1, MAX_SHARDS) == 1
    assert keys.counted_on_shard("k", 5, 1, 9, MAX_SHARDS) == 0
    assert keys.route("k")[0] == "shard"
    assert keys.first_time("k", "milestone", [10]) == [10]
    keys.forget("k")
    assert keys.route("k") == ("live", None)


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_process_view_sizes_the_shards_to_the_rate_and_grows_them_with_the_storm():
    clock = Clock()
    keys = HotKeys(monotonic=clock)
    for count in range(2, 2 + HOT_WRITES):  # five a second, as one process sees it
        assert keys.route("k")[0] == "live"
        keys.written("k", 1, count, 0)
        clock.now += 0.2
    assert keys.route("k") == ("shard-key", MIN_SHARDS)
    keys.sharded("k", {"generation": 1, "shards": MIN_SHARDS, "occurrences": 5})
    assert {keys.route("k")[0] for _ in range(5)} == {"shard"}  # five more within the same second: enough
    # the storm grows: 7 writes of this process within a second need 16 shards; one caller grows them ...
    routes = [keys.route("k") for _ in range(10)]
    assert routes[1] == ("shard-key", 16) and [kind for kind, _ in routes].count("shard-key") == 1
    assert {kind for kind, _ in routes[2:]} == {"shard"}  # ... the others go on writing the 8 there are
    assert {n for _, n in routes[2:]} <= set(range(MIN_SHARDS))
    keys.sharded("k", None)  # it failed (say the incident closed): no other try within the window
    assert keys.route("k")[0] == "shard"
    clock.now += hot.HOT_WINDOW
    assert keys.route("k") == ("shard-key", 32)
    keys.sharded("k", {"generation": 1, "shards": 32, "occurrences": 5})
    clock.now += 5.0
    routes = []
    for _ in range(32):  # 20 a second: 32 shards are enough, round robin over all of them
        routes.append(keys.route("k"))
        clock.now += 0.05
    assert {kind for kind, _ in routes} == {"shard"} and {n for _, n in routes} == set(range(32))


def test_a_shard_rising_faster_than_its_part_grows_the_shards_other_instances_storm_on():
    clock = Clock()
    keys = HotKeys(monotonic=clock)
    keys.sharded("k", {"generation": 1, "shards": MIN_SHARDS, "occurrences": 5})  # as another instance did
    assert keys.route("k")[0] == "shard"
    keys.counted_on_shard("k", 2, 1, 3, MIN_SHARDS)
    clock.now += 2.0
    assert keys.route("k")[0] == "shard"  # this process writes once in 2 s: its own rate asks for nothing
    # shard 2 rose by 20 in those 2 s: the key takes about 20 * 8 / 2 = 80 a second, elsewhere
    keys.counted_on_shard("k", 2, 1, 23, MIN_SHARDS)
    assert keys.route("k") == ("shard-key", MAX_SHARDS)
    # a writer that has not heard of the growth learns it from the next shard it writes
    other = HotKeys(monotonic=clock)
    other.sharded("k", {"generation": 1, "shards": MIN_SHARDS, "occurrences": 5})
    other.counted_on_shard("k", 100, 1, 1, MAX_SHARDS)
    assert {n for _, n in (other.route("k") for _ in range(MAX_SHARDS))} == set(range(MAX_SHARDS))


# ---------------------------------------------------------------- storms through the server


@pytest.fixture
def frozen_keys(monkeypatch):
    monkeypatch.setattr(KEYS, "clock", lambda: 1000.0)
    KEYS.reset()
    yield KEYS
    KEYS.reset()


@pytest.fixture
def trace(firestore):
    """Every document the product writes, per second, read off the wire to the emulator."""
    with tapped() as tap:
        yield tap


def sentry(resource_file: str, request_id: str | None = None, users: int | None = None) -> tuple[bytes, dict]:
    payload = fixture_json(resource_file)
    if users is not None:
        payload["data"]["issue"]["userCount"] = users
    body = json.dumps(payload).encode()
    return body, sentry_headers(body, "issue", request_id=request_id or uuid.uuid4().hex)


def post_all(base: str, items: list[tuple[bytes, dict]], senders: int) -> list[dict]:
    def send(item):
        body, headers = item
        r = http().post(base + "/ingest/sentry", content=body, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        return list(pool.map(send, items))


def per_document(trace: Tap, collection: str) -> dict[str, int]:
    return {p: trace.written(p) for p in trace.by_path if p.startswith(collection + "/")}


@pytest.mark.slow
def test_a_storm_on_one_problem_writes_no_document_more_than_its_share_and_counts_exactly(
        live_server, api, firestore, frozen_keys, trace):
    storm = 300  # 3 s of a storm at 100 alerts/s
    opening = post_all(live_server, [sentry("sentry_issue_created.json")], 1)[0]
    answers = post_all(live_server, [sentry("sentry_issue_created.json") for _ in range(storm)], 8)
    assert {a["incident"] for a in answers} == {opening["incident"]}
    assert Counter(a["status"] for a in answers) == {"duplicate": storm}

    got = api.get(f"/incidents/{opening['incident']}").get_json()
    assert got["occurrences"] == storm + 1
    live = per_document(trace, "live")
    # the opening, at most HOT_WRITES duplicates before the key was found hot, the write that sharded it and
    # the severity rise
    assert len(live) == 1 and list(live.values())[0] <= 1 + HOT_WRITES + 1 + 1
    shard_writes = per_document(trace, LIVE_SHARDS)
    # a storm this fast (every write in the same instant of the frozen clock) gets the most shards at once
    assert len(shard_writes) == MAX_SHARDS
    # each shard: its creation, and its round-robin share of the storm
    assert max(shard_writes.values()) <= 1 + math.ceil(storm / MAX_SHARDS)
    # so at 100 alerts/s (this storm in 3 s) no document takes more than one write a second on average
    assert max(shard_writes.values()) / (storm / 100) <= 1.4
    # every other document is written once (claims, outbox records) or at human rate (the incident)
    others = {p: n for p, n in trace.by_path.items() if not p.startswith(("live/", LIVE_SHARDS + "/"))}
    assert max(sum(c.values()) for c in others.values()) <= 4

    # 301 events in well under a minute cross the error-rate rule once; milestones 10 and 100 once each
    assert [e["detail"].split(":")[0] for e in got["timeline"] if e["action"] == "severity"] == [
        "medium", "medium -> high"]
    milestones = {s.id.split(":")[1] for s in firestore.collection("outbox").stream() if ":milestone-" in s.id}
    assert milestones == {"milestone-10", "milestone-100"}


def test_a_storm_that_grows_gets_more_shards_and_still_counts_exactly(live_server, api, firestore, monkeypatch):
    """Five a second shards the key over 8; the storm then grows (every write in one instant of the clock)
    and the shards grow with it, each new one created once, while duplicates go on landing on the old."""
    clock = Clock()
    monkeypatch.setattr(KEYS, "clock", clock)
    KEYS.reset()
    try:
        opening = post_all(live_server, [sentry("sentry_issue_created.json")], 1)[0]
        key_doc = firestore.collection("incidents").document(opening["incident"]).get().get("key_doc")
        for _ in range(4):
            clock.now += 0.2
            post_all(live_server, [sentry("sentry_issue_created.json")], 1)
        assert firestore.collection("live").document(key_doc).get().get("shards") == MIN_SHARDS
        answers = post_all(live_server, [sentry("sentry_issue_created.json") for _ in range(120)], 4)
        assert {a["status"] for a in answers} == {"duplicate"}

        grown = firestore.collection("live").document(key_doc).get().get("shards")
        made = sorted(int(s.id.rsplit("-", 1)[1]) for s in firestore.collection(LIVE_SHARDS).stream())
        assert grown == MAX_SHARDS and made == list(range(grown))  # every shard once, none past the count
        assert api.get(f"/incidents/{opening['incident']}").get_json()["occurrences"] == 1 + 4 + 120

        body, headers = sentry("sentry_issue_resolved.json")
        post_all(live_server, [(body, headers)], 1)
        assert not list(firestore.collection(LIVE_SHARDS).stream())
        assert api.get(f"/incidents/{opening['incident']}").get_json()["occurrences"] == 1 + 4 + 120
    finally:
        KEYS.reset()


@pytest.mark.slow
def test_two_senders_racing_a_resolve_and_a_reopen_lose_and_double_count_nothing(
        live_server, api, firestore, frozen_keys, trace):
    """Every trigger answered for an incident is counted on exactly that incident; a resolve takes the shards
    with it, and a trigger after it opens the next incident."""
    items, kinds = [], []
    for i in range(240):
        kind = {60: "resolve", 70: "reopen", 150: "resolve", 165: "reopen"}.get(i, "trigger")
        name = {"resolve": "sentry_issue_resolved.json", "reopen": "sentry_issue_unresolved.json"}.get(
            kind, "sentry_issue_created.json")
        items.append(sentry(name))
        kinds.append(kind)
    replay = items[5]
    answers = post_all(live_server, items + [replay], 2)

    expected: Counter = Counter()
    for kind, answer in zip(kinds, answers, strict=False):
        if kind == "trigger" or (kind == "reopen" and answer["status"] == "created"):
            assert answer["status"] in ("created", "duplicate"), (kind, answer)
            expected[answer["incident"]] += 1
    assert answers[-1]["status"] == "replayed"
    incidents = api.get("/incidents").get_json()["incidents"]
    assert {i["id"]: i["occurrences"] for i in incidents} == dict(expected)
    assert sum(expected.values()) >= 236 and len(incidents) >= 2  # every trigger; the resolves closed something

    active = [i for i in incidents if i["status"] != "resolved"]
    left = [s.to_dict() for s in firestore.collection(LIVE_SHARDS).stream()]
    assert {s["incident_id"] for s in left} <= {i["id"] for i in active}  # none left of a closed incident
    # per incident on the key, live/{key}: as in the storm above, and its delete at close; a shard: its
    # creation, its round-robin share, its delete
    assert max(per_document(trace, "live").values()) <= len(incidents) * (1 + HOT_WRITES + 1 + 1 + 1)
    assert max(per_document(trace, LIVE_SHARDS).values()) <= len(incidents) * (1 + 1 + 1) + math.ceil(240 / MAX_SHARDS)


def test_the_minute_sweep_announces_a_milestone_that_other_instances_writes_reached(ingest, escalate, firestore):
    """Instances elsewhere wrote the shards past 10: this process never saw it; the sweep does, once."""
    body, headers = sentry("sentry_issue_created.json")
    incident = ingest.post("/sentry", data=body, headers=headers).get_json()["incident"]
    key_doc = firestore.collection("incidents").document(incident).get().get("key_doc")
    assert shards.shard_key(key_doc, MIN_SHARDS)["shards"] == MIN_SHARDS
    for n in range(12):  # twelve duplicates counted by other instances
        shards.shard_ref(key_doc, n % MIN_SHARDS).update({"occurrences": google_firestore.Increment(1)})
    milestone = f"{incident}:milestone-10:"
    assert not [s.id for s in firestore.collection("outbox").stream() if s.id.startswith(milestone)]

    when = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    assert sweep(escalate, when)["milestones_caught_up"] == 1
    assert sweep(escalate, when + timedelta(minutes=1))["milestones_caught_up"] == 0
    assert [s.id for s in firestore.collection("outbox").stream() if s.id.startswith(milestone)] == [
        f"{milestone}discord"]   # once, on the channel that carries milestones


def test_a_sharded_keys_counters_read_as_documents_and_as_aggregates_agree(firestore):
    """shards.totals reads up to READ_ALL shards as documents and aggregates beyond: the same answer."""
    base = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
    for count in (shards.READ_ALL, shards.READ_ALL * 2):
        key_doc = f"agree-{count}-{uuid.uuid4().hex[:6]}"
        firestore.collection("live").document(key_doc).set(
            {"incident_id": "INC-AGREE", "generation": 1, "occurrences": 3, "users_affected": 2,
             "last_seen": base, "latest_message": "first"})
        assert shards.shard_key(key_doc, count)["shards"] == count
        # shard n: n + 1 occurrences, last seen at (7n mod count) s (all different), the most users on shard 5
        for n in range(count):
            shards.shard_ref(key_doc, n).update({"occurrences": n + 1, "users_affected": 40 if n == 5 else 1,
                                                 "last_seen": base + timedelta(seconds=7 * n % count),
                                                 "latest_message": f"shard {n}"})
        live = firestore.collection("live").document(key_doc).get().to_dict()
        got = shards.totals(key_doc, live)
        latest = max(range(count), key=lambda n: 7 * n % count)
        assert got["occurrences"] == 3 + count * (count + 1) // 2
        assert got["users_affected"] == 40
        assert (got["last_seen"], got["latest_message"]) == (base + timedelta(seconds=count - 1), f"shard {latest}")
