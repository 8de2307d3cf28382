"""The alert path's raw writes (shared/store/wire.py) are the messages the library's WriteBatch would send,
and commit like them against the emulator."""
from __future__ import annotations

import socket
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from google.api_core import exceptions as google_exceptions
from google.cloud import firestore as google_firestore

from shared.errors import Unavailable
from shared.store import client as store_client
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


def test_an_update_on_the_version_read_is_the_librarys_message(firestore):
    ref = client().collection("live").document(uuid.uuid4().hex)
    ref.set({"shards": 0})
    read = ref.get().update_time  # nanoseconds included: the precondition must name the exact version
    expected = library_writes(
        lambda b: b.update(ref, {"shards": 16}, option=client().write_option(last_update_time=read)))
    assert [wire.update(wire.path("live", ref.id), {"shards": 16}, last_update=read)] == expected
    ref.update({"shards": 8})  # another writer: the version read is gone, so the write is refused
    with pytest.raises(google_exceptions.FailedPrecondition):
        wire.commit([wire.update(wire.path("live", ref.id), {"shards": 16}, last_update=read)])
    assert ref.get().get("shards") == 8


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


def test_a_store_that_does_not_answer_is_retried_within_the_callers_window_then_unavailable(firestore, monkeypatch):
    """raw_commit keeps the generated client's contract: transient errors are retried until the caller's
    window (with_deadline) runs out, then the caller hears Unavailable (answered 503), not a hang."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # nothing listens here once the socket is closed
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{dead}")
    db = google_firestore.Client(project="demo-wire-down")
    raw_commit = store_client._raw_commit(db)
    request = wire._types()[1](database=db._database_string)
    request.writes.extend([wire.create(f"{db._database_string}/documents/claims/x", {"at": NOW})])
    started = time.monotonic()
    with store_client.with_deadline(0.5), pytest.raises(Unavailable):
        store_client.call(lambda: raw_commit(request))
    # retried with backoff until the next pause would pass the 0.5 s window (a refused connection alone comes
    # back in about 5 ms), and no longer
    assert 0.1 < time.monotonic() - started < 5


def test_refusals_come_back_as_the_librarys_exceptions(firestore):
    key = uuid.uuid4().hex
    with pytest.raises(google_exceptions.NotFound):  # an update of a document that is not there
        wire.commit([wire.update(wire.path("live", key), {"x": 1})])
    wire.commit([wire.create(wire.path("live", key), {"x": 1})])
    with pytest.raises(google_exceptions.AlreadyExists):  # a create of one that is
        wire.commit([wire.create(wire.path("live", key), {"x": 2})])
    assert firestore.collection("live").document(key).get().to_dict() == {"x": 1}
