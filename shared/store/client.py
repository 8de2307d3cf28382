"""The Firestore client, every call's retry window, error mapping, exactly-once claims and contention retries.

Every call in this package goes through call() (or docs(), snapshots(), get_all()), which hands the library's
public `retry` and `timeout` arguments the caller's window (shared.clock.within, set by the transport for each
request): a webhook must answer within Sentry's 1 s, so ingest gives Firestore 0.8 s before it answers 503;
the API gives it 3 s. Only the library's public API is used.

Collections are named by the module that owns them; claims/{name} (exactly-once effects) is here.
"""
from __future__ import annotations

import contextlib
import functools
import random
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from shared import lazy
from shared.clock import clock, patience
from shared.config.settings import settings
from shared.errors import Contended, TooLarge, Unavailable
from shared.lazy import firestore, gexc, retries

CLAIMS = "claims"
CLAIM_TTL = timedelta(days=30)  # a TTL policy on expire_at deletes claims after this (firestore.indexes.json)

ATTEMPT_TIMEOUT = 10.0       # seconds one attempt may take (the caller's window bounds the retries of all)
CONTENTION_DEADLINE = 10.0   # seconds a person's change may keep retrying under contention before it is refused
_client: firestore.Client | None = None
_replaced: firestore.Client | None = None
_lock = threading.Lock()


class Conflict(Exception):
    """Another writer changed the same state first: read again and retry."""


class AlreadyClaimed(Exception):
    """This exactly-once effect (e.g. a Sentry Request-ID) has already happened."""


class NotActive(Exception):
    """The dedup key has no active incident (live/{key} does not exist)."""


class LostRace(Exception):
    """Another writer changed what this attempt read: read again and try again."""


def client() -> firestore.Client:
    """Return the Firestore client, created on first use in the process that serves (not before a fork, after
    which lazy.warm_after_fork creates it in the background)."""
    global _client
    if _replaced is not None:
        return _replaced
    if _client is None:
        with _lock:
            if _client is None:
                _client = firestore.Client(project=settings().project)
    return _client


lazy.warm_with(client)   # created in the background once the serving process has forked


@contextlib.contextmanager
def use(replacement: firestore.Client) -> Iterator[firestore.Client]:
    """Run the product's Firestore calls through another client within this block (tests: a tap on the wire)."""
    global _replaced
    previous, _replaced = _replaced, replacement
    try:
        yield replacement
    finally:
        _replaced = previous


# ---------------------------------------------------------------- one call

@functools.cache
def _transient():
    """Errors worth another attempt (built on first use: the library loads lazily, shared/lazy.py)."""
    return retries.if_exception_type(gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError,
                                     gexc.ResourceExhausted)


def _unavailable() -> tuple:
    return gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError, gexc.RetryError


def window() -> dict:
    """The public retry and timeout arguments of one call: transient errors retried with backoff within the
    caller's window (shared.clock.within), each attempt at most ATTEMPT_TIMEOUT."""
    seconds = patience()
    return {"retry": retries.Retry(predicate=_transient(), initial=0.05, maximum=min(seconds, 1.0), multiplier=2.0,
                                   timeout=seconds),
            "timeout": ATTEMPT_TIMEOUT}


def call(method: Callable, *args, **kwargs):
    """Run one Firestore call (a bound method of the library: ref.get, batch.commit, ref.update ...) within the
    caller's window; a server-side or network failure becomes Unavailable (answered 503)."""
    try:
        return method(*args, **kwargs, **window())
    except _unavailable() as e:
        raise Unavailable(f"Firestore is unavailable: {str(e)[:300]}") from None
    except gexc.InvalidArgument as e:
        if "size" not in str(e).lower():
            raise
        raise TooLarge("the change would make a stored document larger than Firestore's limit of 1 MiB "
                       "(1,048,576 bytes); nothing was changed") from None


def snapshots(query) -> list:
    """Return the documents a query finds (snapshots), read within the caller's window."""
    return call(lambda **w: list(query.stream(**w)))


def docs(query) -> list[dict]:
    """Return the documents a query finds, as dicts."""
    return [s.to_dict() for s in snapshots(query)]


def get_all(refs: list, transaction=None) -> list:
    """Return the snapshots of several documents in one read (missing ones included, exists False)."""
    if not refs:
        return []
    return call(lambda **w: list(client().get_all(refs, transaction=transaction, **w)))


def number(value) -> float | int:
    """The number a transform's result (a Firestore Value) holds."""
    raw = type(value).pb(value)
    return raw.double_value if raw.WhichOneof("value_type") == "double_value" else raw.integer_value


# ---------------------------------------------------------------- claims: exactly-once effects

def claim_ref(name: str):
    return client().collection(CLAIMS).document(name)


def claim_doc(now: datetime) -> dict:
    """The body of every claim: when it was made, and when Firestore may forget it."""
    return {"at": now, "expire_at": now + CLAIM_TTL}


def add_claim(writer, name: str | None, now: datetime) -> None:
    """Add the creation of claims/{name} to a batch or transaction (nothing for None)."""
    if name:
        writer.create(claim_ref(name), claim_doc(now))


def is_claimed(name: str) -> bool:
    return call(claim_ref(name).get).exists


def claim_once(name: str, now: datetime) -> bool:
    """Create claims/{name}; False when it already exists (the work was done, or is being done)."""
    try:
        call(claim_ref(name).create, claim_doc(now))
    except gexc.Conflict:
        return False
    return True


def claim_run(name: str, now: datetime, wall: datetime, lease: timedelta) -> bool:
    """Claim a run that must happen once but may be cut off (a Scheduler job): claims/{name}, held until `wall` +
    `lease`. True when this call does the run: nobody claimed it, or whoever did neither finished it (finish_run)
    nor is within their lease any more (the function's timeout killed it: the Scheduler retry finishes the work,
    every step of which is idempotent). A claim made by claim_once counts as finished.

    The first delivery of a schedule time creates the claim without reading it (a write, no read: the sweep runs
    1,440 times a day); only a repeated one reads the claim, in a transaction, to see whether its run finished."""
    ref = claim_ref(name)
    try:
        call(ref.create, {**claim_doc(now), "running_until": wall + lease, "done": False, "tries": 1})
        return True
    except gexc.Conflict:
        pass   # claimed before: a retry of this schedule time, or another delivery of it

    def write(snap, batch):
        held = snap.to_dict() if snap.exists else None
        if held is not None and (held.get("done", True) or held["running_until"] > wall):
            raise Unchanged(False)
        put_unchanged(batch, ref, snap, {**claim_doc(now), "running_until": wall + lease, "done": False,
                                         "tries": (held or {}).get("tries", 0) + 1})
        return True
    return read_then_write(ref, write, f"the run {name} was claimed at the same time, try again")


def finish_run(name: str, wall: datetime, fields: dict) -> None:
    """Mark a run claimed by claim_run as done (a retry of it is then a duplicate), with what it did."""
    call(claim_ref(name).update, {"done": True, "finished_at": wall, **fields})


def release(name: str) -> None:
    """Delete claims/{name}: the effect it guarded did not happen after all."""
    call(claim_ref(name).delete)


def commit(batch, claim: str | None = None, missing_means_inactive: bool = False) -> list:
    """Commit a batch; return its write results (with each transform's result). A repeated claim is
    AlreadyClaimed, a missing live/{key} NotActive (with missing_means_inactive), a lost race Conflict."""
    try:
        return call(batch.commit)
    except gexc.NotFound as e:
        if missing_means_inactive:
            raise NotActive() from None
        raise Conflict(str(e)) from None
    except (gexc.Conflict, gexc.FailedPrecondition) as e:
        if claim and is_claimed(claim):
            raise AlreadyClaimed(claim) from None
        raise Conflict(str(e)) from None


def counted(ref, fields: dict, transforms: dict, claim: str | None, now: datetime) -> dict:
    """Count an occurrence in one commit with no read: update a document that must exist with `fields` and the
    Increment / Maximum `transforms`, with the delivery's claim when there is one; return each transform's
    result by field name (the document's values right after this write, whoever else wrote it). NotActive when
    the document is gone, AlreadyClaimed for a replayed delivery.

    Firestore returns the transform results in the order of the write's field transforms, which the library
    sorts by field path (tests/test_store_client.py holds it to that)."""
    batch = client().batch()
    batch.update(ref, {**fields, **transforms})
    add_claim(batch, claim, now)
    result = commit(batch, claim, missing_means_inactive=True)[0]
    return dict(zip(sorted(transforms), (number(v) for v in result.transform_results), strict=True))


# ---------------------------------------------------------------- contention

def contended(attempt: Callable, message: str, deadline: float = CONTENTION_DEADLINE,
              lost: tuple[type[Exception], ...] = ()):
    """Return attempt(), tried again after a random, growing pause while it loses a race (LostRace, or one of
    `lost`); past `deadline`, Contended(message) (answered 409 "changed meanwhile, try again").

    Several people clicking at once is normal (Discord buttons). The pause is what lets the attempts that lost
    stop colliding: the client's own retries follow each other at once and, on contended documents, all lose
    again. attempt must be safe to run again (it reads what it changes).
    """
    timer = clock()
    give_up, pause = timer.monotonic() + deadline, 0.05
    while True:
        try:
            return attempt()
        except (LostRace, *lost):
            pass
        wait = random.uniform(0, pause)
        if timer.monotonic() + wait > give_up:
            raise Contended(message)
        timer.sleep(wait)
        pause = min(pause * 2, 1.0)


def put_unchanged(batch, ref, snap, fields: dict) -> None:
    """Add to the batch the write of `fields` to a document on the precondition that it is as `snap` read it:
    updated if it existed then, created if it did not (either fails if someone wrote it meanwhile)."""
    if snap.exists:
        batch.update(ref, fields, option=client().write_option(last_update_time=snap.update_time))
    else:
        batch.create(ref, fields)


def read_then_write(ref, write: Callable, message: str, deadline: float = CONTENTION_DEADLINE):
    """Read one document, let write(snapshot, batch) add the writes that depend on it (put_unchanged) and
    return a result, commit, and return that result; read again and retry while someone changes it meanwhile
    (contended). A write that raises Unchanged(result) commits nothing and returns its result."""
    db = client()

    def attempt():
        snap = call(ref.get)
        batch = db.batch()
        try:
            result = write(snap, batch)
        except Unchanged as nothing:
            return nothing.result
        call(batch.commit)
        return result
    return contended(attempt, message, deadline,
                     lost=(gexc.FailedPrecondition, gexc.Aborted, gexc.Conflict, gexc.NotFound))


class Unchanged(Exception):
    """Raised by a write of read_then_write that finds nothing to change; read_then_write returns its result."""

    def __init__(self, result=None):
        super().__init__()
        self.result = result


def run_transaction(fn, deadline: float = CONTENTION_DEADLINE):
    """Run fn(tx) in a transaction (one try each time, fn reads inside it with get_all(refs, tx)), retried while
    others hold the documents (contended).

    Only closing an incident needs one: it must lock live/{key} and its shards against the alert path's blind
    writes (a preconditioned close would lose every race during a storm); every other change is a
    preconditioned write (read_then_write). The library begins and commits a transaction with its own retry
    settings, not the caller's window: the caller reads first (within its window), so an unreachable Firestore
    is answered 503 before a transaction starts.
    """
    def attempt():
        try:
            return call(lambda **_: firestore.transactional(fn)(client().transaction(max_attempts=1)))
        except gexc.Aborted:
            raise LostRace() from None
        except ValueError as e:  # the client gave up on its attempt, or lost the transaction's id
            text = str(e).lower()
            if "failed to commit transaction in" in text:
                raise LostRace() from None
            if "transaction" in text:
                raise Unavailable(f"Firestore transaction failed: {str(e)[:200]}") from None
            raise
    return contended(attempt, "the incident changed meanwhile, try again", deadline)
