"""On-call overrides ("X covers for Y from ... to ...") and handoff notes in Firestore."""
from __future__ import annotations

import re
import uuid
from datetime import datetime

from shared.lazy import firestore
from shared.store.client import call, client, docs

OVERRIDES = "oncall_overrides"
HANDOFF_NOTES = "handoff_notes"
OVERRIDE_ID = re.compile(r"[0-9a-f]{12}")  # what add_override makes: uuid4().hex[:12]


def add_override(override: dict) -> dict:
    """Store an override and return it with its id."""
    override = {**override, "id": uuid.uuid4().hex[:12]}
    call(client().collection(OVERRIDES).document(override["id"]).create, override)
    return override


def delete_override(override_id: str) -> bool:
    """Delete an override; False when there was none.

    Anything but one of our ids is refused before Firestore sees it: `__name__`, `.` and `..` are not
    valid document ids there, and the client library raises on them (a 500) instead of finding nothing.
    """
    if not isinstance(override_id, str) or not OVERRIDE_ID.fullmatch(override_id):
        return False
    ref = client().collection(OVERRIDES).document(override_id)
    if not call(ref.get).exists:
        return False
    call(ref.delete)
    return True


def overrides_ending_after(at: datetime) -> list[dict]:
    """Return overrides still running or to come at `at` (indexed on end)."""
    query = client().collection(OVERRIDES).where(filter=firestore.FieldFilter("end", ">", at)).order_by("end")
    return docs(query)


def add_handoff_note(note: dict) -> dict:
    note = {**note, "id": uuid.uuid4().hex[:12]}
    call(client().collection(HANDOFF_NOTES).document(note["id"]).create, note)
    return note


def handoff_notes_since(at: datetime) -> list[dict]:
    query = client().collection(HANDOFF_NOTES).where(filter=firestore.FieldFilter("at", ">=", at)).order_by("at")
    return docs(query)
