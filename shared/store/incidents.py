"""Incidents (incidents/{id}) as people and sweeps read them: one, a page of a listing, those created since a
time, those whose escalation check is due; with the live counters of the active ones overlaid.

Documents of the incident aggregate:
  incidents/{id}        the incident: what, where, severity reasons, status, SLA clocks, timeline (its
                        first and newest entries; older ones in incidents/{id}/timeline_archive, store/timeline.py)
  incident_keys/{key}   per dedup key, permanent: its current incident id, generation, status
  live/{key}            per dedup key, exists only while its incident is active: the live counters
  live_shards/{key}-{n} while a hot key's incident is active: its counters spread out (store/shards.py)
The alert path writes them (store/alerts.py), people's changes too (store/changes.py).
"""
from __future__ import annotations

from datetime import datetime

from shared.config.frozen import frozen
from shared.lazy import firestore
from shared.model import Incident
from shared.store import shards as hot
from shared.store import timeline
from shared.store.client import call, client, docs, get_all

INCIDENTS = "incidents"
KEYS = "incident_keys"
LIVE = hot.LIVE

# Counters that live in live/{key} while the incident is active and are copied into it when it closes.
LIVE_FIELDS = ("occurrences", "users_affected", "severity_rank", "last_seen", "latest_message")


def doc_ref(collection: str, name: str):
    return client().collection(collection).document(name)


# ---------------------------------------------------------------- reads

def _merge(incident: dict, live: dict | None) -> Incident:
    """Overlay the live counters (with those of its shards when the key is hot) on the stored incident."""
    if live is not None and live.get("incident_id") == incident["id"]:
        if live.get("shards"):
            live = {**live, **hot.totals(incident["key_doc"], live)}
        incident = {**incident, **{k: live[k] for k in LIVE_FIELDS if k in live}}
    return Incident.from_doc(incident)


def _with_live(incidents: list[dict]) -> list[Incident]:
    """Return stored incidents with the live counters of the active ones overlaid (one batch read)."""
    refs = [doc_ref(LIVE, i["key_doc"]) for i in incidents if i.get("active")]
    live = {s.id: s.to_dict() for s in get_all(refs) if s.exists}
    return [_merge(i, live.get(i["key_doc"])) for i in incidents]


def get_incident(incident_id: str) -> Incident | None:
    """Return one incident with its live counters, or None."""
    snap = call(doc_ref(INCIDENTS, incident_id).get)
    if not snap.exists:
        return None
    incident = snap.to_dict()
    live = call(doc_ref(LIVE, incident["key_doc"]).get) if incident.get("active") else None
    return _merge(incident, live.to_dict() if live and live.exists else None)


def list_incidents(statuses: list[str] | None, limit: int) -> list[Incident]:
    """Return incidents, newest first, optionally only those in `statuses` (indexed query)."""
    query = client().collection(INCIDENTS)
    if statuses:
        query = query.where(filter=firestore.FieldFilter("status", "in", statuses))
    query = query.order_by("created_at", direction=firestore.Query.DESCENDING).limit(limit)
    return _with_live(docs(query))


@frozen
class Filters:
    """What a listing narrows incidents to; every field is optional (None: any)."""

    statuses: tuple[str, ...] = ()
    service: str | None = None
    environment: str | None = None
    severity_rank: int | None = None     # the effective severity (a team lead's pin counts)
    since: datetime | None = None        # created at or after
    until: datetime | None = None        # created before


def list_page(filters: Filters, limit: int, after: tuple[datetime, str] | None = None) -> tuple[list[Incident], bool]:
    """Return up to `limit` incidents matching `filters`, newest first, starting after the cursor `after`
    (created_at, id) of the previous page, and whether more may follow; reads about `limit` documents whatever
    the total.

    Equality filters are served by one composite index per field with created_at (Firestore merges them);
    the days bound the order by cursors, so they need no index of their own.
    The effective severity is a pin when there is one: two queries (automatic rank, pinned rank) are merged,
    and the page stops where the first of them that filled its limit stopped, so nothing is skipped.
    """
    def query(rank_field: str | None) -> list[dict]:
        q = client().collection(INCIDENTS)
        if filters.statuses:
            q = q.where(filter=firestore.FieldFilter("status", "in", list(filters.statuses)))
        for name, value in (("service", filters.service), ("environment", filters.environment),
                            (rank_field, filters.severity_rank)):
            if name and value is not None:
                q = q.where(filter=firestore.FieldFilter(name, "==", value))
        q = q.order_by("created_at", direction=firestore.Query.DESCENDING) \
            .order_by("__name__", direction=firestore.Query.DESCENDING)
        # The days are cursors on the order, not range filters: equalities and an order are served by merging
        # the per-field indexes; a range beside two equalities would need an index for each combination.
        if after:
            q = q.start_after({"created_at": after[0], "__name__": doc_ref(INCIDENTS, after[1])})
        elif filters.until:
            q = q.start_after({"created_at": filters.until})   # newest first: only those created before
        if filters.since:
            q = q.end_at({"created_at": filters.since})        # down to those created at `since`
        return docs(q.limit(limit))

    def key(doc: dict) -> tuple:
        return doc["created_at"], doc["id"]

    if filters.severity_rank is None:
        results = [query(None)]
        found = results[0]
    else:  # the automatic rank where no pin overrides it, and the pinned rank
        rank = filters.severity_rank
        results = [query("severity_rank"), query("pinned_rank")]
        merged = {d["id"]: d for d in results[0] if d.get("pinned_rank") in (None, 0, rank)}
        merged.update({d["id"]: d for d in results[1]})
        bounds = [key(r[-1]) for r in results if len(r) == limit]
        found = sorted((d for d in merged.values() if not bounds or key(d) >= max(bounds)), key=key,
                       reverse=True)[:limit]
    more = any(len(r) == limit for r in results)
    return _with_live(found), more


def incidents_created_since(since: datetime, limit: int, live: bool = False) -> list[Incident]:
    """Return incidents created at or after `since`, oldest first (single-field index on created_at); `live`:
    with the live counters of active ones merged in (occurrences, users, last seen)."""
    query = (client().collection(INCIDENTS).where(filter=firestore.FieldFilter("created_at", ">=", since))
             .order_by("created_at").limit(limit))
    found = docs(query)
    return _with_live(found) if live else [Incident.from_doc(i) for i in found]


def due_incidents(now: datetime, limit: int) -> list[Incident]:
    """Return incidents whose escalation check is due (indexed on next_check_at; only active ones have it)."""
    query = (client().collection(INCIDENTS).where(filter=firestore.FieldFilter("next_check_at", "<=", now))
             .order_by("next_check_at").limit(limit))
    return [Incident.from_doc(i) for i in docs(query)]


def whole_timeline(incident: Incident) -> list[dict]:
    """Return an incident's whole timeline, its archived entries included (store/timeline.py)."""
    return timeline.whole(doc_ref(INCIDENTS, incident.id), incident.doc)


def add_timeline(incident_id: str, entry: dict) -> None:
    """Append one entry to an incident's timeline (e.g. a notification sent or failed)."""
    call(doc_ref(INCIDENTS, incident_id).update, {"timeline": firestore.ArrayUnion([entry])})
