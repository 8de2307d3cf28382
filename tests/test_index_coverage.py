"""Every query the store runs is served by shared/firestore.indexes.json (the emulator does not enforce it).

Each query function of shared/store is run against the emulator while the client's RunQuery requests are
recorded at the RPC boundary; each recorded query is then checked by Firestore's rules for when a composite
index is needed (tests/firestore_indexes.py). A new query function fails the first test until it is listed
here, so no query escapes the check.
"""
from __future__ import annotations

import ast
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from google.cloud.firestore_v1.types import StructuredQuery

from tests import firestore_indexes as rules
from tests.fakes.firestore_tap import tapped

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)


def _calls():
    from shared.store import (
        incidents,
        oncall,
        outbox,
        postmortems,
        probes,
        removal,
        shards,
        silences,
        status_days,
        status_updates,
        timeline,
    )
    F = incidents.Filters
    return {
        "incidents.list_incidents": [lambda: incidents.list_incidents(["open", "acknowledged"], 10),
                                     lambda: incidents.list_incidents(None, 10)],
        "incidents.incidents_created_since": [lambda: incidents.incidents_created_since(NOW, 10, live=True)],
        "incidents.list_page": [lambda: incidents.list_page(F(), 10),
                                lambda: incidents.list_page(F(statuses=("open", "acknowledged")), 10),
                                lambda: incidents.list_page(F(severity_rank=0), 10),
                                lambda: incidents.list_page(F(statuses=("open",), service="api",
                                                              environment="production", severity_rank=1),
                                                            10, (NOW, "INC-1")),
                                lambda: incidents.list_page(F(since=NOW - timedelta(days=7), until=NOW), 10),
                                lambda: incidents.list_page(F(statuses=("open",), since=NOW), 10),
                                lambda: incidents.list_page(F(service="api", environment="production", since=NOW), 10)],
        "incidents.due_incidents": [lambda: incidents.due_incidents(NOW, 10)],
        "oncall.overrides_ending_after": [lambda: oncall.overrides_ending_after(NOW)],
        "oncall.handoff_notes_since": [lambda: oncall.handoff_notes_since(NOW)],
        "outbox.due": [lambda: outbox.due(NOW, 10)],
        "outbox.list_previews": [lambda: outbox.list_previews(10)],
        "outbox.for_incident": [lambda: outbox.for_incident("INC-1")],
        "outbox.list_held": [lambda: outbox.list_held(10)],
        "postmortems.resolved_since": [lambda: postmortems.resolved_since(NOW, 10)],
        "postmortems.unreviewed": [lambda: postmortems.unreviewed(10)],
        "postmortems.with_overdue_items": [lambda: postmortems.with_overdue_items("2026-11-24", 10)],
        "postmortems.done_since": [lambda: postmortems.done_since(NOW, 10)],
        "postmortems.flagged_since": [lambda: postmortems.flagged_since(NOW, 10)],
        "postmortems.action_items": [lambda: postmortems.action_items("INC-1")],
        "probes.results_between": [lambda: probes.results_between(NOW - timedelta(days=1), NOW)],
        "status_updates.of_incident": [lambda: status_updates.of_incident("INC-1")],
        "status_updates.of_incidents": [lambda: status_updates.of_incidents(["INC-1", "INC-2"])],
        "status_updates.owed": [lambda: status_updates.owed(NOW, 10)],
        "status_days.outages_resolved_since": [lambda: status_days.outages_resolved_since(NOW, ("uptimerobot", "probe"),
                                                                                          10)],
        "shards.totals": [lambda: shards.totals("k-1", {"occurrences": 1, "shards": shards.READ_ALL * 2})],
        "shards.sharded_keys": [lambda: shards.sharded_keys(10)],
        "silences.ending_after": [lambda: silences.ending_after(NOW)],
        "silences.ended_by": [lambda: silences.ended_by(NOW, 10)],
        "silences.unannounced": [lambda: silences.unannounced()],
        "silences.held_openings": [lambda: silences.held_openings(NOW)],
        "silences.records_of": [lambda: silences.records_of("SIL-1")],
        "timeline.archived": [lambda: timeline.archived(incidents.doc_ref(incidents.INCIDENTS, "INC-1"))],
        "removal.remove_incident": [lambda: removal.remove_incident("INC-1", "k-1", [])],
        "silences.page": [lambda: silences.page(10, None), lambda: silences.page(10, (NOW, "SIL-1"), ends_after=NOW),
                          lambda: silences.page(10, (NOW, "SIL-1"), ends_by=NOW)],
    }


QUERY_WORDS = (".where(", ".order_by(", ".stream(", ".count(", "docs(", "snapshots(")


def store_query_functions() -> set[str]:
    """Return module.function for every function in shared/store that builds a query."""
    found = set()
    for path in sorted((ROOT / "shared" / "store").glob("*.py")):
        if path.stem == "client":   # the helpers every query goes through, not queries of their own
            continue
        source = path.read_text(encoding="utf-8")
        for node in ast.parse(source).body:   # module-level functions (a helper nested in one is part of it)
            if isinstance(node, ast.FunctionDef):
                body = ast.get_source_segment(source, node) or ""
                if any(word in body for word in QUERY_WORDS):
                    found.add(f"{path.stem}.{node.name}")
    return found


@pytest.fixture
def recorded(firestore):
    """The queries the store sends, read off the wire to the emulator (tests/fakes/firestore_tap.py)."""
    with tapped() as tap:
        yield tap


def test_every_store_query_function_is_exercised_here():
    assert store_query_functions() == set(_calls())


def test_every_query_the_store_runs_is_served_by_the_index_file(recorded):
    # When every query function runs against the emulator
    for name, calls in _calls().items():
        before = len(recorded.queries)
        for call in calls:
            call()
        assert len(recorded.queries) > before, f"{name} ran no query"
    # Then each recorded query is served by the index file
    assert rules.problems([rules.from_structured(q) for q in recorded.queries], rules.load()) == []


def query(collection: str, where=(), order=(), group: bool = False) -> rules.Query:
    """Build a query as the client would send it (of a collection group: every subcollection so named) and read it
    back."""
    op = StructuredQuery.FieldFilter.Operator
    filters = [StructuredQuery.Filter(field_filter=StructuredQuery.FieldFilter(
        field=StructuredQuery.FieldReference(field_path=f), op=getattr(op, o))) for f, o in where]
    q = StructuredQuery(from_=[StructuredQuery.CollectionSelector(collection_id=collection, all_descendants=group)],
                        order_by=[StructuredQuery.Order(field=StructuredQuery.FieldReference(field_path=f),
                                                        direction=getattr(StructuredQuery.Direction, d))
                                  for f, d in order])
    if len(filters) == 1:
        q.where = filters[0]
    elif filters:
        q.where = StructuredQuery.Filter(composite_filter=StructuredQuery.CompositeFilter(
            op=StructuredQuery.CompositeFilter.Operator.AND, filters=filters))
    return rules.from_structured(q)


SPEC = {"indexes": [{"collectionGroup": "incidents", "queryScope": "COLLECTION", "fields": [
    {"fieldPath": "status", "order": "ASCENDING"}, {"fieldPath": "created_at", "order": "DESCENDING"}]},
    {"collectionGroup": "action_items", "queryScope": "COLLECTION_GROUP", "fields": [
        {"fieldPath": "done", "order": "ASCENDING"}, {"fieldPath": "deadline", "order": "ASCENDING"}]}],
    "fieldOverrides": [{"collectionGroup": "outbox", "fieldPath": "expire_at", "ttl": True, "indexes": []}]}


@pytest.mark.parametrize("q, problem", [
    (query("incidents", [("status", "IN")], [("created_at", "DESCENDING")]), None),
    (query("incidents", [("created_at", "GREATER_THAN_OR_EQUAL")], [("created_at", "ASCENDING")]), None),
    (query("incidents", [("status", "EQUAL"), ("service", "EQUAL")]), None),
    (query("previews", order=[("at", "DESCENDING")]), None),
    (query("incidents", [("status", "IN")], [("created_at", "ASCENDING")]),
     "needs a composite index on incidents (status ASCENDING, created_at ASCENDING)"),
    (query("incidents", [("status", "EQUAL"), ("next_check_at", "LESS_THAN_OR_EQUAL")]),
     "needs a composite index on incidents (status ASCENDING, next_check_at ASCENDING)"),
    (query("outbox", [("expire_at", "LESS_THAN")]), "single-field indexes of expire_at are disabled"),
    (query("action_items", [("done", "EQUAL"), ("deadline", "LESS_THAN")], [("deadline", "ASCENDING")], group=True),
     None),
    (query("action_items", [("done", "EQUAL"), ("deadline", "LESS_THAN")], [("deadline", "ASCENDING")]),
     "needs a composite index on action_items (done ASCENDING, deadline ASCENDING), scope COLLECTION"),
    (query("incidents", [("status", "IN")], [("created_at", "DESCENDING")], group=True),
     "needs a composite index on incidents (status ASCENDING, created_at DESCENDING), scope COLLECTION_GROUP"),
    (query("action_items", [("deadline", "LESS_THAN")], group=True), "needs a collection-group index"),
])
def test_the_rules_tell_a_served_query_from_one_that_production_would_refuse(q, problem):
    found = rules.problems([q], SPEC)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0]
