"""@frozen (shared/config/frozen.py) behaves as @dataclass(frozen=True) does, for the product's value types."""
from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from shared.config.frozen import frozen
from shared.model import Incident


@frozen
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    note: str = dataclasses.field(default="", repr=False, compare=False)


def test_a_value_cannot_change_once_built():
    p = Point(1, 2)
    for change in (lambda: setattr(p, "x", 5), lambda: setattr(p, "z", 5), lambda: delattr(p, "y")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            change()
    assert (p.x, p.y) == (1, 2) and not hasattr(p, "z")


def test_equality_hash_and_repr_follow_the_fields_flags_as_dataclass_does():
    assert Point(1, 2, note="a") == Point(1, 2, note="b") and hash(Point(1, 2, note="a")) == hash(Point(1, 2))
    assert Point(1, 2) != Point(2, 1) and Point(1) != (1, 0, (), "")
    assert {Point(1), Point(1), Point(2)} == {Point(1), Point(2)}
    assert repr(Point(1, 2, ("a",), note="hidden")) == "Point(x=1, y=2, tags=('a',))"
    assert dataclasses.is_dataclass(Point) and [f.name for f in dataclasses.fields(Point)] == ["x", "y", "tags",
                                                                                                "note"]


def test_replace_copy_and_pickle_give_equal_values():
    p = Point(1, 2, ("a",))
    assert dataclasses.replace(p, y=3) == Point(1, 3, ("a",))
    assert copy.deepcopy(p) == p and pickle.loads(pickle.dumps(p)) == p


def test_the_models_incident_keeps_its_stored_document_out_of_equality_and_repr():
    from datetime import datetime, timezone
    doc = {"id": "INC-1", "dedup_key": "k", "key_doc": "k", "title": "t", "service": "s", "environment": "production",
           "source": "sentry", "status": "open", "severity_rank": 3,
           "created_at": datetime(2026, 12, 7, tzinfo=timezone.utc)}
    a, b = Incident.from_doc(doc), Incident.from_doc({**doc, "extra": "only in the document"})
    assert a == b and "only in the document" not in repr(b)
