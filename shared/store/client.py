"""The Firestore client, error mapping and exactly-once claims, for every aggregate in this package.

Collections: incidents/{id}, incident_keys/{key}, live/{key} (store/incidents.py), outbox/{id} and
previews/{auto} (store/outbox.py), status/{job} (store/status.py), oncall_overrides/{id} and
handoff_notes/{id} (store/oncall.py), claims/{name} (here).
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

from google.api_core import exceptions as gexc
from google.cloud import firestore

from shared.errors import Unavailable
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


def client() -> firestore.Client:
    """Return the Firestore client, created on first use in the process that serves (not before a fork)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = firestore.Client(project=settings().project)
    return _client


UNAVAILABLE = (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError, gexc.RetryError)


def call(fn):
    """Run one Firestore call; a server-side or network failure becomes Unavailable (answered 503)."""
    try:
        return fn()
    except UNAVAILABLE as e:
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


def run_transaction(fn):
    """Run fn(tx) in a transaction; an abort after the client's retries is a Conflict."""
    try:
        return call(lambda: firestore.transactional(fn)(client().transaction()))
    except gexc.Aborted as e:
        raise Conflict(str(e)) from None
