"""On-call overrides ("X covers for Y from ... to ...") and handoff notes in Firestore."""
from __future__ import annotations

import uuid
from datetime import datetime

from shared.store import _call, _fs, client

OVERRIDES = "oncall_overrides"
HANDOFF_NOTES = "handoff_notes"


def add_override(override: dict) -> dict:
    """Store an override and return it with its id."""
    override = {**override, "id": uuid.uuid4().hex[:12]}
    _call(lambda: client().collection(OVERRIDES).document(override["id"]).create(override))
    return override


def delete_override(override_id: str) -> bool:
    """Delete an override; False when there was none."""
    ref = client().collection(OVERRIDES).document(override_id)
    if not _call(ref.get).exists:
        return False
    _call(ref.delete)
    return True


def overrides_ending_after(at: datetime) -> list[dict]:
    """Return overrides still running or to come at `at` (indexed on end)."""
    fs = _fs()
    query = client().collection(OVERRIDES).where(filter=fs.FieldFilter("end", ">", at)).order_by("end")
    return _call(lambda: [s.to_dict() for s in query.stream()])


def add_handoff_note(note: dict) -> dict:
    note = {**note, "id": uuid.uuid4().hex[:12]}
    _call(lambda: client().collection(HANDOFF_NOTES).document(note["id"]).create(note))
    return note


def handoff_notes_since(at: datetime) -> list[dict]:
    fs = _fs()
    query = client().collection(HANDOFF_NOTES).where(filter=fs.FieldFilter("at", ">=", at)).order_by("at")
    return _call(lambda: [s.to_dict() for s in query.stream()])
