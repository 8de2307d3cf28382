"""The alert path's raw writes (shared/store/wire.py) are the messages the library's WriteBatch would send,
and commit like them against the emulator."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from google.cloud import firestore as google_firestore

from shared.store import wire
from shared.store.client import AlreadyClaimed, NotActive, client
from tests.bench import write_trace

NOW = datetime(2026, 11, 28, 21, 39, 19, 607148, tzinfo=timezone(timedelta(hours=7)))


def library_writes(build) -> list:
    batch = client().batch()
    build(batch)
    return [w._pb for w in batch._write_pbs]


def test_an_update_with_transforms_is_the_librarys_message(firestore):
    ref = client().collection("live").document("k")
    fields = {"last_seen": NOW, "latest_message": "ReferenceError: <x> & \u00e9\U0001f525", "users": None}
    transforms = {"occurrences": google_firestore.Increment(1), "users_affected": google_firestore.Maximum(7),
                  "opened_epoch": google_firestore.Maximum(0.5), "low": google_firestore.Minimum(-3)}
    expected = library_writes(lambda b: b.update(ref, {**fields, **transforms}))
    assert [wire.update(wire.path("live", "k"), fields, transforms)] == expected


def test_a_create_with_nested_values_is_the_librarys_message(firestore):
    ref = client().collection("claims").document("c")
    doc = {"at": NOW, "expire_at": NOW + timedelta(days=30), "n": None, "flag": True, "count": 3, "ratio": 2.5,
           "list": [1, "a", {"x": False}], "map": {"inner": {"deep": [NOW]}, "empty": {}}, "none": []}
    assert [wire.create(wire.path("claims", "c"), doc)] == library_writes(lambda b: b.create(ref, doc))
    assert [wire.claim("c", NOW)] == library_writes(
        lambda b: b.create(ref, {"at": NOW, "expire_at": NOW + timedelta(days=30)}))


def test_what_it_cannot_say_exactly_is_refused_not_guessed(firestore):
    with pytest.raises(ValueError, match="naive"):
        wire.create(wire.path("claims", "c"), {"at": datetime(2026, 1, 1)})
    with pytest.raises(ValueError, match="quoted"):
        wire.update(wire.path("live", "k"), {"severity_reasons.sentry": "x"})
    with pytest.raises(ValueError, match="transform"):
        wire.update(wire.path("live", "k"), {}, {"t": google_firestore.ArrayUnion([1])})
    with pytest.raises(TypeError, match="bytes"):
        wire.create(wire.path("claims", "c"), {"raw": b"\x00"})


def test_a_count_returns_the_transforms_and_is_all_or_nothing(firestore):
    trace = write_trace.install(client())
    try:
        key, claim = uuid.uuid4().hex, uuid.uuid4().hex
        firestore.collection("live").document(key).set({"occurrences": 4, "users_affected": 9})
        transforms = {"occurrences": google_firestore.Increment(1), "users_affected": google_firestore.Maximum(2)}
        assert wire.counted_update("live", key, {"last_seen": NOW}, transforms, claim, NOW) == {
            "occurrences": 5, "users_affected": 9}
        stored = firestore.collection("live").document(key).get().to_dict()
        assert stored["occurrences"] == 5 and stored["last_seen"] == NOW
        assert firestore.collection("claims").document(claim).get().exists
        # the RPC boundary saw it (the set above, then the update)
        assert trace.writes(f"live/{key}") == 2 and trace.writes(f"claims/{claim}") == 1

        # the document is gone (the incident closed): nothing of the commit happens, the claim included
        gone, other = uuid.uuid4().hex, uuid.uuid4().hex
        with pytest.raises(NotActive):
            wire.counted_update("live", gone, {"last_seen": NOW}, transforms, other, NOW)
        assert not firestore.collection("claims").document(other).get().exists

        # the same delivery again: refused by its claim, and the count stays as it was
        with pytest.raises(AlreadyClaimed):
            wire.counted_update("live", key, {"last_seen": NOW}, transforms, claim, NOW)
        assert firestore.collection("live").document(key).get().get("occurrences") == 5
    finally:
        write_trace.uninstall(client())
