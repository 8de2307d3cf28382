"""The store's one way to call Firestore (shared/store/client.py): the library's public API with the caller's
retry window, the alert path's counted occurrence in one commit, preconditioned changes and contention."""
from __future__ import annotations

import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from google.cloud import firestore as google_firestore

from shared.clock import within
from shared.errors import Contended, Unavailable
from shared.store import client as store_client
from shared.store.client import AlreadyClaimed, NotActive, Unchanged, client, counted, put_unchanged, read_then_write
from tests.fakes.firestore_tap import tapped

NOW = datetime(2026, 11, 28, 21, 39, 19, 607148, tzinfo=timezone(timedelta(hours=7)))


def test_a_count_is_one_commit_that_returns_each_transform_by_name_and_is_all_or_nothing(firestore):
    key, claim = uuid.uuid4().hex, uuid.uuid4().hex
    firestore.collection("live").document(key).set({"occurrences": 4, "users_affected": 9, "b_rank": 3,
                                                    "a_epoch": 1.5, "z_shards": 16})
    # values that differ from each other, so a result read under the wrong name would show
    transforms = {"occurrences": google_firestore.Increment(1), "users_affected": google_firestore.Maximum(2),
                  "z_shards": google_firestore.Maximum(0), "b_rank": google_firestore.Maximum(0),
                  "a_epoch": google_firestore.Maximum(0)}
    with tapped() as tap:
        ref = client().collection("live").document(key)
        got = counted(ref, {"last_seen": NOW, "latest_message": "ReferenceError: <x> é🔥"}, transforms, claim, NOW)
        assert got == {"occurrences": 5, "users_affected": 9, "z_shards": 16, "b_rank": 3, "a_epoch": 1.5}
        assert (tap.commits, tap.written(f"live/{key}"), tap.written(f"claims/{claim}")) == (1, 1, 1)
        assert tap.snapshot() == (0, 2)   # no read: the results come back in the commit
    stored = firestore.collection("live").document(key).get().to_dict()
    assert stored["occurrences"] == 5 and stored["last_seen"] == NOW
    assert firestore.collection("claims").document(claim).get().exists

    # the document is gone (the incident closed): nothing of the commit happens, the claim included
    gone, other = uuid.uuid4().hex, uuid.uuid4().hex
    with pytest.raises(NotActive):
        counted(client().collection("live").document(gone), {"last_seen": NOW}, transforms, other, NOW)
    assert not firestore.collection("claims").document(other).get().exists

    # the same delivery again: refused by its claim, and the count stays as it was
    with pytest.raises(AlreadyClaimed):
        counted(client().collection("live").document(key), {"last_seen": NOW}, transforms, claim, NOW)
    assert firestore.collection("live").document(key).get().get("occurrences") == 5


def test_a_store_that_does_not_answer_is_retried_within_the_callers_window_then_unavailable(firestore):
    """Every call carries the caller's window through the library's public retry and timeout arguments: transient
    errors are retried until it runs out, then the caller hears Unavailable (answered 503), not a hang."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # nothing listens here once the socket is closed
    with _client_at(f"127.0.0.1:{dead}") as db, store_client.use(db):
        for attempt in (lambda: store_client.call(client().collection("claims").document("x").get),
                        lambda: counted(client().collection("live").document("k"), {"at": NOW},
                                        {"n": google_firestore.Increment(1)}, "claim", NOW)):
            started = time.monotonic()
            with within(0.5), pytest.raises(Unavailable):
                attempt()
            # retried with backoff until the next pause would pass the 0.5 s window (a refused connection alone
            # comes back in a few ms), and no longer
            assert 0.1 < time.monotonic() - started < 3


class _client_at:
    """A Firestore client for an emulator at `host` (the library reads the variable when the client is made)."""

    def __init__(self, host: str):
        self.host = host

    def __enter__(self):
        import os
        previous = os.environ["FIRESTORE_EMULATOR_HOST"]
        os.environ["FIRESTORE_EMULATOR_HOST"] = self.host
        try:
            self.db = google_firestore.Client(project="demo-store-down")
        finally:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous
        return self.db

    def __exit__(self, *exc):
        self.db.close()


def test_a_change_on_what_was_read_is_applied_once_per_writer_none_lost(firestore):
    """read_then_write: eight writers add one each to the same document at once, each on the precondition that
    it is as read; the losers read again, so every addition lands exactly once."""
    ref = client().collection("polling").document(uuid.uuid4().hex)

    def add_one(snap, batch):
        put_unchanged(batch, ref, snap, {"n": (snap.get("n") if snap.exists else 0) + 1})
        return True

    threads = [threading.Thread(target=lambda: [read_then_write(ref, add_one, "busy") for _ in range(5)])
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert ref.get().get("n") == 40


def test_nothing_to_change_commits_nothing_and_a_race_that_never_ends_is_contended(firestore, clock):
    ref = client().collection("polling").document(uuid.uuid4().hex)
    ref.set({"n": 1})
    before = ref.get().update_time

    def nothing(snap, batch):
        raise Unchanged("as it was")
    assert read_then_write(ref, nothing, "busy") == "as it was"
    assert ref.get().update_time == before

    def always_loses(snap, batch):
        ref.update({"n": google_firestore.Increment(1)})   # someone else, every time, just after the read
        put_unchanged(batch, ref, snap, {"n": 0})
    with pytest.raises(Contended, match="busy"):
        read_then_write(ref, always_loses, "busy", deadline=2.0)   # the pauses go by the fake clock
    assert ref.get().get("n") > 1
