"""The Firestore client, error mapping and exactly-once claims, for every aggregate in this package.

Collections: incidents/{id}, incident_keys/{key}, live/{key} (store/incidents.py), live_shards/{key}-{n}
(store/shards.py), outbox/{id} and
previews/{auto} (store/outbox.py), status/{job} (store/status.py), oncall_overrides/{id} and
handoff_notes/{id} (store/oncall.py), claims/{name} (here).
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from shared.clock import clock
from shared.errors import Contended, Unavailable
from shared.lazy import firestore, gapic_method, gexc, retries
from shared.settings import settings

CLAIMS = "claims"
CLAIM_TTL = timedelta(days=30)  # a TTL policy on expire_at deletes claims after this (firestore.indexes.json)

_client: firestore.Client | None = None
_lock = threading.Lock()


class Conflict(Exception):
    """Another writer changed the same state first: read again and retry."""


class AlreadyClaimed(Exception):
    """This exactly-once effect (e.g. a Sentry Request-ID) has already happened."""


class NotActive(Exception):
    """The dedup key has no active incident (live/{key} does not exist)."""


# How long one Firestore call may keep retrying a server that does not answer (connection refused,
# UNAVAILABLE) before the caller is told Unavailable, and how long a single attempt may take. Each caller
# sets the first to fit its own contract (with_deadline): a webhook must answer within Sentry's 1 s.
RETRY_WINDOW = 5.0
ATTEMPT_TIMEOUT = 10.0
_window: contextvars.ContextVar[float] = contextvars.ContextVar("firestore_retry_window", default=RETRY_WINDOW)


@functools.cache
def _transient():
    """Errors worth another attempt (built on first use: the library loads lazily, shared/lazy.py)."""
    return retries.if_exception_type(gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError,
                                     gexc.ResourceExhausted)
_RPCS = ("batch_get_documents", "begin_transaction", "commit", "get_document", "rollback", "run_query",
         "run_aggregation_query", "list_documents", "create_document", "update_document", "delete_document")


@contextlib.contextmanager
def with_deadline(seconds: float):
    """Within this block, a Firestore call that cannot reach the server gives up after `seconds`."""
    token = _window.set(seconds)
    try:
        yield
    finally:
        _window.reset(token)


def _retry():
    """The retry of transient errors within the caller's window, with backoff."""
    window = _window.get()
    return retries.Retry(predicate=_transient(), initial=0.05, maximum=min(window, 1.0), multiplier=2.0,
                         timeout=window)


def _bounded(method):
    """Give an RPC the caller's retry window unless the call names its own (transactions' begin and commit
    do not let their callers name one, hence this wrapper on the client rather than on each call)."""
    @functools.wraps(method)
    def call_with_deadline(*args, **kwargs):
        default = gapic_method.DEFAULT
        if kwargs.get("retry", default) is default:
            kwargs["retry"] = _retry()
        if kwargs.get("timeout", default) in (default, None):
            kwargs["timeout"] = ATTEMPT_TIMEOUT
        return method(*args, **kwargs)
    return call_with_deadline


def _raw_commit(db) -> Callable:
    """Return raw_commit(request): the Commit RPC for a raw protobuf CommitRequest, on the client's own
    channel, returning the raw CommitResponse (store/wire.py, the alert path's storm-rate writes).

    The generated client's commit wraps the call in proto-plus messages, api-core's retry and timeout
    layers and a logging interceptor: about a quarter of a commit's CPU in this process. This sends the
    same request with the same metadata, and keeps the same contract: an attempt times out after
    ATTEMPT_TIMEOUT, transient errors are retried with backoff within the caller's window (with_deadline),
    and errors come out as api-core exceptions (NotFound, AlreadyExists, FailedPrecondition...).
    The wrappers at the store boundary (tests/bench/write_trace.py, firestore_counter.py) see these commits
    through the raw_commit attribute of the API they wrap.
    """
    from google.api_core.gapic_v1 import routing_header
    from google.cloud.firestore_v1.types import firestore as firestore_types
    from grpc import RpcError

    transport = db._firestore_api._transport
    rpc = transport.grpc_channel.unary_unary(
        "/google.firestore.v1.Firestore/Commit",
        request_serializer=firestore_types.CommitRequest.pb().SerializeToString,
        response_deserializer=firestore_types.CommitResponse.pb().FromString)
    # the client's x-goog-api-client header, as the generated client's wrapped commit adds it (api-core names
    # the attribute _default_metadata, older releases _metadata)
    wrapped = transport._wrapped_methods.get(transport.commit)
    library = getattr(wrapped, "_default_metadata", None) or getattr(wrapped, "_metadata", None) or ()
    metadata = (*db._rpc_metadata, *library, routing_header.to_grpc_metadata((("database", db._database_string),)))

    def attempt(request):
        try:
            return rpc(request, timeout=ATTEMPT_TIMEOUT, metadata=metadata)
        except RpcError as e:
            raise gexc.from_grpc_error(e) from None

    def raw_commit(request):
        try:
            return attempt(request)  # the common case: no retry machinery built
        except gexc.GoogleAPICallError as e:
            if not _transient()(e):
                raise
        return _retry()(attempt)(request)
    return raw_commit


def client() -> firestore.Client:
    """Return the Firestore client, created on first use in the process that serves (not before a fork)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                made = firestore.Client(project=settings().project)
                api = made._firestore_api  # the generated client every call goes through
                for name in _RPCS:
                    setattr(api, name, _bounded(getattr(api, name)))
                api.raw_commit = _raw_commit(made)
                _client = made
    return _client


def _unavailable() -> tuple:
    return gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError, gexc.RetryError


def call(fn):
    """Run one Firestore call; a server-side or network failure becomes Unavailable (answered 503)."""
    try:
        return fn()
    except _unavailable() as e:
        raise Unavailable(f"Firestore is unavailable: {str(e)[:300]}") from None


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
        call(lambda: claim_ref(name).create(claim_doc(now)))
    except gexc.Conflict:
        return False
    return True


def commit(batch, claim: str | None = None, missing_means_inactive: bool = False):
    """Commit a batch; map a repeated claim to AlreadyClaimed, a missing live/{key} to NotActive, a lost race to
    Conflict."""
    return committed(batch.commit, claim, missing_means_inactive)


def committed(send: Callable, claim: str | None = None, missing_means_inactive: bool = False):
    """Run `send`, a commit, with commit()'s mapping of its errors."""
    try:
        return call(send)
    except gexc.NotFound as e:
        if missing_means_inactive:
            raise NotActive() from None
        raise Conflict(str(e)) from None
    except (gexc.Conflict, gexc.FailedPrecondition) as e:
        if claim and is_claimed(claim):
            raise AlreadyClaimed(claim) from None
        raise Conflict(str(e)) from None


CONTENTION_DEADLINE = 10.0   # seconds a person's change may keep retrying under contention before it is refused


class LostRace(Exception):
    """Another writer changed what this attempt read: read again and try again."""


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


def run_transaction(fn, deadline: float = CONTENTION_DEADLINE):
    """Run fn(tx) in a transaction (one try each time, fn reads inside it), retried while others hold the
    documents (contended)."""
    def attempt():
        try:
            return call(lambda: firestore.transactional(fn)(client().transaction(max_attempts=1)))
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
