"""Which index a Firestore query needs, by Firestore's rules, and whether shared/firestore.indexes.json has it.

The emulator answers every query without an index; production refuses a query whose composite index is
missing (FAILED_PRECONDITION "The query requires an index"). Rules applied
(https://cloud.google.com/firestore/docs/query-data/index-overview,
https://cloud.google.com/firestore/docs/query-data/multiple-range-fields):
  - equality filters only (==, in), any number of fields, no order: single-field indexes (merged); none needed
  - one range field (<, <=, >, >=, !=, not-in) ordered by itself or not at all: single-field index
  - one order_by field and no filter: single-field index
  - several equality fields and an order (no range): served by merging one composite index per equality field,
    each (field, then the order), when no single index has them all (index merging)
  - anything else (equality plus a range or an order on another field, array-contains with another filter,
    order on several fields): a composite index with the equality fields first, then the range/order fields
    in their order and direction
  - a collection-group query (every subcollection of that name, `collection_group()`) is served only by indexes of
    scope COLLECTION_GROUP: automatic single-field indexes have collection scope, and deploy/firestore.py applies
    no other field override than "not indexed", so such a query needs a composite index of that scope
A field whose single-field indexes an override disables cannot be queried on its own at all.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from google.cloud.firestore_v1.types import StructuredQuery

INDEX_FILE = Path(__file__).resolve().parents[1] / "shared" / "firestore.indexes.json"
F = StructuredQuery.FieldFilter.Operator
EQUALITY = {F.EQUAL, F.IN}
RANGE = {F.LESS_THAN, F.LESS_THAN_OR_EQUAL, F.GREATER_THAN, F.GREATER_THAN_OR_EQUAL, F.NOT_EQUAL, F.NOT_IN}
ARRAY = {F.ARRAY_CONTAINS, F.ARRAY_CONTAINS_ANY}


@dataclass(frozen=True)
class Query:
    collection: str
    equality: frozenset[str]
    array: frozenset[str]
    ranges: tuple[str, ...]
    order: tuple[tuple[str, str], ...]   # (field, ASCENDING|DESCENDING), as asked
    group: bool = False                  # a collection-group query (all_descendants)

    @property
    def scope(self) -> str:
        return "COLLECTION_GROUP" if self.group else "COLLECTION"

    def __str__(self) -> str:
        parts = [f"{f} ==" for f in sorted(self.equality)] + [f"{f} array-contains" for f in sorted(self.array)]
        parts += [f"{f} range" for f in self.ranges] + [f"order {f} {d}" for f, d in self.order]
        return f"{self.collection}{' (collection group)' if self.group else ''}: " + ", ".join(parts)


def from_structured(q: StructuredQuery) -> Query:
    """Read a query as the client sent it (RunQueryRequest.structured_query)."""
    equality, array, ranges = set(), set(), []

    def visit(flt) -> None:
        if "composite_filter" in flt:
            for inner in flt.composite_filter.filters:
                visit(inner)
        elif "field_filter" in flt:
            op, name = flt.field_filter.op, flt.field_filter.field.field_path
            if op in EQUALITY:
                equality.add(name)
            elif op in ARRAY:
                array.add(name)
            elif name not in ranges:
                ranges.append(name)
        elif "unary_filter" in flt:   # IS NULL / IS NAN are equalities; IS NOT NULL is a range
            op = flt.unary_filter.op
            name = flt.unary_filter.field.field_path
            (equality.add(name) if op in (StructuredQuery.UnaryFilter.Operator.IS_NULL,
                                          StructuredQuery.UnaryFilter.Operator.IS_NAN) else ranges.append(name))

    if "where" in q:
        visit(q.where)
    order = tuple((o.field.field_path, StructuredQuery.Direction(o.direction).name) for o in q.order_by
                  if o.field.field_path != "__name__")
    return Query(q.from_[0].collection_id, frozenset(equality), frozenset(array), tuple(ranges), order,
                 bool(q.from_[0].all_descendants))


def needed(q: Query) -> tuple[tuple[str, str], ...] | None:
    """Return the ordered (field, direction) tail of the composite index the query needs, None if none."""
    ordered = [f for f, _ in q.order]
    fields = set(q.equality) | set(q.array) | set(q.ranges) | set(ordered)
    if len(fields) <= 1 and len(q.order) <= 1:
        return None
    if not q.ranges and not q.order and not q.array:
        return None                                 # equalities only: merged single-field indexes
    tail = list(q.order)
    for r in q.ranges:                              # a range field must come first among the ordered ones
        if r not in ordered:
            tail.insert(0, (r, "ASCENDING"))
    tail += [(a, "CONTAINS") for a in sorted(q.array)]
    return tuple(tail)


def problems(queries: list[Query], spec: dict) -> list[str]:
    """Return each query the index file does not serve, saying which index it needs."""
    out = []
    overrides = spec.get("fieldOverrides") or []
    exempt = {(o["collectionGroup"], o["fieldPath"]) for o in overrides if o.get("indexes") == []}
    for q in sorted(set(queries), key=str):
        tail = needed(q)
        if tail is None and q.group:
            out.append(f"{q}: needs a collection-group index, which only a composite index (two fields or more) "
                       "gives here")
            continue
        if tail is None:
            used = set(q.equality) | set(q.array) | set(q.ranges) | {f for f, _ in q.order}
            blocked = sorted(f for f in used if (q.collection, f) in exempt)
            if blocked:
                out.append(f"{q}: single-field indexes of {', '.join(blocked)} are disabled in the index file")
            continue
        if not any(_serves(i, q, tail) for i in spec.get("indexes") or []) and not _merged(spec, q, tail):
            fields = [f"{f} ASCENDING" for f in sorted(q.equality)] + [f"{f} {d}" for f, d in tail]
            out.append(f"{q}: needs a composite index on {q.collection} ({', '.join(fields)}), scope {q.scope}")
    return out


def _serves(index: dict, q: Query, tail: tuple[tuple[str, str], ...]) -> bool:
    if index.get("collectionGroup") != q.collection or index.get("queryScope", "COLLECTION") != q.scope:
        return False
    fields = [(f["fieldPath"], f.get("order") or ("CONTAINS" if f.get("arrayConfig") else "")) for f in index["fields"]]
    head, rest = fields[:len(q.equality)], fields[len(q.equality):]
    return {f for f, _ in head} == set(q.equality) and tuple(rest) == tail


def _merged(spec: dict, q: Query, tail: tuple[tuple[str, str], ...]) -> bool:
    """Index merging: equality filters and an order only; one index (equality field, order...) per field."""
    if q.ranges or q.array or len(q.equality) < 2:
        return False
    return all(any(_serves(i, Query(q.collection, frozenset({f}), q.array, q.ranges, q.order, q.group), tail)
                   for i in spec.get("indexes") or []) for f in q.equality)


def load(path: Path = INDEX_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
