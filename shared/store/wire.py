"""The alert path's storm-rate writes, built as raw protobuf `Write` messages and committed through the same
channel every other call uses.

A duplicate alert is one commit of one or two writes (the counter update and the delivery's claim). Built
through the library's WriteBatch, each write goes through proto-plus marshalling and field-path parsing:
about 1.3 ms of CPU a duplicate on the benchmark machine, more than the commit's own round trip costs the
process, and under a storm the instance's CPU is what limits its rate. These writes have top-level field
names and plain values only, so they are built directly on the protobuf classes: the same messages
(tests/test_wire.py compares them with the library's, field by field), a tenth of the CPU. They are sent
by the client's raw_commit (store/client.py), which skips the generated client's proto-plus and api-core
layers but keeps its retry window, metadata and errors.

Everything else (people's changes, transactions, the sweeps) stays on the library.
"""
from __future__ import annotations

import calendar
import functools
import re
from datetime import datetime

from shared.store.client import CLAIMS, claim_doc, client, committed

_NAME = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")  # a field name that needs no quoting in a field path
_TRANSFORMS = {"Increment": "increment", "Maximum": "maximum", "Minimum": "minimum"}


@functools.cache
def _types():
    """The raw Write and CommitRequest classes, looked up on first use (the library loads lazily)."""
    from google.cloud.firestore_v1.types import firestore as firestore_types
    from google.cloud.firestore_v1.types import write

    return write.Write.pb(), firestore_types.CommitRequest.pb()


def _set(target, value) -> None:
    """Encode a Python value into a raw Value message (the types Firestore stores for this package)."""
    if value is None:
        target.null_value = 0
    elif isinstance(value, bool):
        target.boolean_value = value
    elif isinstance(value, int):
        target.integer_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a naive datetime has no place in Firestore here")
        target.timestamp_value.seconds = calendar.timegm(value.utctimetuple())
        target.timestamp_value.nanos = value.microsecond * 1000
    elif isinstance(value, dict):
        target.map_value.SetInParent()
        for key, item in value.items():
            _set(target.map_value.fields[key], item)
    elif isinstance(value, (list, tuple)):
        target.array_value.SetInParent()
        for item in value:
            _set(target.array_value.values.add(), item)
    else:
        raise TypeError(f"no wire encoding for {type(value).__name__}")


def path(collection: str, doc_id: str) -> str:
    return f"{client()._database_string}/documents/{collection}/{doc_id}"


def _fields(write, fields: dict) -> None:
    for name, value in fields.items():
        if not _NAME.match(name):
            raise ValueError(f"field {name!r} needs a quoted field path: use the library's batch")
        _set(write.update.fields[name], value)


def update(doc_path: str, fields: dict, transforms: dict | None = None, last_update=None):
    """Return the write of batch.update(ref, {**fields, **transforms}): set `fields`, apply the Increment /
    Maximum / Minimum `transforms` (their results come back in field-name order), on a document that must
    exist, or with `last_update` (a snapshot's update_time) that must still be as read (the library's
    write_option(last_update_time=...))."""
    write = _types()[0]()
    write.update.name = doc_path
    _fields(write, fields)
    write.update_mask.field_paths.extend(sorted(fields))
    if last_update is None:
        write.current_document.exists = True
    else:
        write.current_document.update_time.CopyFrom(last_update.timestamp_pb())
    for name in sorted(transforms or {}):
        sentinel = transforms[name]
        kind = _TRANSFORMS.get(type(sentinel).__name__)
        if kind is None or not _NAME.match(name):
            raise ValueError(f"no wire encoding for the transform of {name!r}")
        transform = write.update_transforms.add()
        transform.field_path = name
        _set(getattr(transform, kind), sentinel.value)
    return write


def create(doc_path: str, fields: dict):
    """Return the write of batch.create(ref, fields): a document that must not exist yet."""
    write = _types()[0]()
    write.update.name = doc_path
    _fields(write, fields)
    write.current_document.exists = False
    return write


def claim(name: str, now: datetime):
    """Return the write of add_claim: claims/{name} created in the same commit as the change it guards."""
    return create(path(CLAIMS, name), claim_doc(now))


def commit(writes: list) -> list:
    """Commit raw writes atomically, as WriteBatch.commit does; return the raw WriteResults (with each
    transform's result), in the order of `writes`."""
    db = client()
    request = _types()[1](database=db._database_string)
    request.writes.extend(writes)
    return list(db._firestore_api.raw_commit(request).write_results)  # store/client.py: _raw_commit


def number(value) -> float | int:
    """The number a transform's raw result Value holds."""
    return value.double_value if value.WhichOneof("value_type") == "double_value" else value.integer_value


def counted_update(collection: str, doc_id: str, fields: dict, transforms: dict, claim_name: str | None,
                   now: datetime) -> dict:
    """A counted occurrence: one commit, no read, of an update (`fields` and the Increment / Maximum
    `transforms`) of a document that must exist, with the delivery's claim when there is one; return each
    transform's result by field name. NotActive when the document is gone, AlreadyClaimed for a replay."""
    writes = [update(path(collection, doc_id), fields, transforms)]
    if claim_name:
        writes.append(claim(claim_name, now))
    result = committed(lambda: commit(writes), claim_name, missing_means_inactive=True)[0]
    # transform results come back in field-path order
    return dict(zip(sorted(transforms), (number(v) for v in result.transform_results), strict=True))

