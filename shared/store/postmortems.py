"""Postmortems (postmortems/{incident id}): one per incident, created once, edited by people.

Each action item is a document of its own, postmortems/{incident id}/action_items/{n}, so people changing different
items at the same moment never collide: a change is preconditioned on its item alone, and raises the postmortem's
`version` with a blind Increment in the same commit. A new item is created-if-absent under the number after the
highest; adds race only for that number, and a loser takes the next one at once. Postmortems stored before items
had documents hold them inline (`action_items`); they are read as they are and moved to documents, unchanged, by
the first change to an item.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared.lazy import firestore, gexc
from shared.model import Incident
from shared.store import outbox
from shared.store.client import (
    LostRace,
    Unchanged,
    call,
    client,
    contended,
    docs,
    get_all,
    put_unchanged,
    read_then_write,
    snapshots,
)

POSTMORTEMS = "postmortems"
ITEMS = "action_items"      # postmortems/{incident id}/action_items/{n}
REVISION = "revision"       # on an item's document: one more on each change (names its outbox record); not shown


def _ref(incident_id: str):
    return client().collection(POSTMORTEMS).document(incident_id)


def _item_ref(incident_id: str, n: int):
    return _ref(incident_id).collection(ITEMS).document(str(n))


def _shown(item: dict) -> dict:
    return {k: v for k, v in item.items() if k != REVISION}


def _with_items(stored: dict, items: list[dict]) -> dict:
    """The postmortem with its action items by number: those with documents, and any it still holds inline."""
    merged = {a["n"]: a for a in stored.get("action_items") or []} | {a["n"]: a for a in items}
    return {**stored, "action_items": [merged[n] for n in sorted(merged)]}


def get(incident_id: str) -> dict | None:
    """Return the postmortem with all its action items; None when there is none. The postmortem is read before its
    items, so what is returned holds at least every change its `version` counts."""
    snap = call(_ref(incident_id).get)
    return _with_items(snap.to_dict(), action_items(incident_id)) if snap.exists else None


def action_items(incident_id: str) -> list[dict]:
    """Return the postmortem's action items that have documents, by number."""
    return [_shown(d) for d in docs(_ref(incident_id).collection(ITEMS).order_by("n"))]


def create(incident_id: str, doc: dict, records: list[dict] = ()) -> bool:
    """Store the first draft and its outbox records in one commit unless it exists; False when it already did
    (a sweep run twice)."""
    batch = client().batch()
    batch.create(_ref(incident_id), doc)
    return _commit_with(batch, records)


def update(incident_id: str, fields: dict, records: list[dict] = ()) -> bool:
    """Change fields, and create the outbox records the change causes, in one commit; False (nothing changed)
    when one of the records exists already (another run made the same change)."""
    batch = client().batch()
    batch.update(_ref(incident_id), fields)
    return _commit_with(batch, records)


def _commit_with(batch, records: list[dict]) -> bool:
    """Commit the batch with the outbox records it causes; False when something it creates already exists."""
    outbox.add_records(batch, records)
    try:
        call(batch.commit)
    except gexc.Conflict:
        return False
    return True


def _changed(incident_id: str, what: str = "postmortem") -> str:
    return f"{what} {incident_id} changed at the same time; try again"


def change(incident_id: str, write: Callable[[dict], tuple[dict, list[dict]]]) -> dict | None:
    """Apply a person's change to the postmortem's own fields, preconditioned on it: `write(stored)` returns the
    fields to set and the outbox records the change causes (stored with it); return the postmortem as changed,
    None when there is none."""
    ref = _ref(incident_id)

    def change(snap, batch):
        if not snap.exists:
            raise Unchanged(None)
        stored = snap.to_dict()
        fields, records = write(stored)
        put_unchanged(batch, ref, snap, fields)
        outbox.add_records(batch, records)
        return {**stored, **fields}

    changed = read_then_write(ref, change, _changed(incident_id))
    return None if changed is None else _with_items(changed, action_items(incident_id))


def _items_moved(incident_id: str) -> dict | None:
    """Move the action items a postmortem holds inline to their own documents, unchanged (its version stays), in
    one commit preconditioned on the postmortem; return the postmortem without them, None when there is none."""
    ref = _ref(incident_id)

    def move(snap, batch):
        if not snap.exists:
            raise Unchanged(None)
        stored = snap.to_dict()
        inline = stored.pop("action_items", None) or []
        if not inline:
            raise Unchanged(stored)
        have = {a["n"] for a in action_items(incident_id)}   # documents win over an inline copy
        for item in inline:
            if item["n"] not in have:
                batch.create(_item_ref(incident_id, item["n"]), {**item, REVISION: 0})
        put_unchanged(batch, ref, snap, {"action_items": firestore.DELETE_FIELD, "next_deadline": None})
        return {**stored, "next_deadline": None}

    return read_then_write(ref, move, _changed(incident_id))


def _raised(now: datetime) -> dict:
    """The postmortem's part of an action item's commit: one more version, without reading it (no collision)."""
    return {"version": firestore.Increment(1), "updated_at": now}


def change_item(incident_id: str, n: int, now: datetime,
                write: Callable[[dict, dict | None], tuple[dict, list[dict]]]) -> dict | None:
    """Apply a person's change to action item `n`, preconditioned on that item alone: `write(postmortem, stored
    item)` (the item with its `revision`) returns the fields to set and the outbox records the change causes, and
    raises for a missing item (None); the item's revision and the postmortem's version go up by one in the same
    commit. Return the postmortem as changed, None when there is none."""
    postmortem = _items_moved(incident_id)
    if postmortem is None:
        return None
    ref = _item_ref(incident_id, n)

    def change(snap, batch):
        stored = snap.to_dict() if snap.exists else None
        revision = int((stored or {}).get(REVISION) or 0)
        fields, records = write(postmortem, None if stored is None else {**stored, REVISION: revision})
        put_unchanged(batch, ref, snap, {**fields, REVISION: revision + 1})
        batch.update(_ref(incident_id), _raised(now))
        outbox.add_records(batch, records)

    read_then_write(ref, change, _changed(incident_id, f"action item {n} of postmortem"))
    return get(incident_id)


def add_item(incident_id: str, now: datetime,
             write: Callable[[dict, int], tuple[dict, list[dict]]]) -> tuple[dict, dict] | None:
    """Add an action item under the number after the highest there is: `write(postmortem, n)` returns the item
    numbered `n` and the outbox records adding it causes, stored with it while the postmortem's version goes up by
    one. A number someone took meanwhile is not waited for: the next one is tried at once (each loss is another
    add's win). Return the item and the postmortem as changed; None when there is no postmortem."""
    postmortem = _items_moved(incident_id)
    if postmortem is None:
        return None
    n = max((a["n"] for a in action_items(incident_id)), default=0) + 1

    def attempt():
        nonlocal n
        while True:
            item, records = write(postmortem, n)
            batch = client().batch()
            batch.create(_item_ref(incident_id, n), {**item, REVISION: 1})
            batch.update(_ref(incident_id), _raised(now))
            outbox.add_records(batch, records)
            try:
                call(batch.commit)
                return item
            except gexc.AlreadyExists:
                n += 1
            except gexc.Aborted:   # Firestore's own contention on the postmortem's version: the same number again
                raise LostRace() from None

    try:
        item = contended(attempt, _changed(incident_id))
    except gexc.NotFound:
        return None
    return item, get(incident_id)


def with_overdue_items(day: str, limit: int) -> list[dict]:
    """Postmortems with an action item not done whose deadline is before `day`: each with those of its items that
    have documents in `action_items` (a collection-group index on action_items: done, deadline); and those still
    holding their items inline, whole (single-field index on next_deadline, the earliest open deadline they kept)."""
    items = (client().collection_group(ITEMS).where(filter=firestore.FieldFilter("done", "==", False))
             .where(filter=firestore.FieldFilter("deadline", "<", day)).order_by("deadline").limit(limit))
    found: dict[str, list[dict]] = {}
    for snap in snapshots(items):
        found.setdefault(snap.reference.parent.parent.id, []).append(_shown(snap.to_dict()))
    postmortems = [{**s.to_dict(), "action_items": found[s.id]}
                   for s in get_all([_ref(i) for i in found]) if s.exists]
    inline = (client().collection(POSTMORTEMS).where(filter=firestore.FieldFilter("next_deadline", "<", day))
              .order_by("next_deadline").limit(limit))
    return postmortems + [pm for pm in docs(inline) if pm["incident"] not in found]


def done_since(end: datetime, limit: int) -> list[dict]:
    """Postmortems with an action item done at or after `end` (open until then), each with those of its items
    (a collection-group index on action_items: done, done_at)."""
    items = (client().collection_group(ITEMS).where(filter=firestore.FieldFilter("done", "==", True))
             .where(filter=firestore.FieldFilter("done_at", ">=", end)).order_by("done_at").limit(limit))
    found: dict[str, list[dict]] = {}
    for snap in snapshots(items):
        found.setdefault(snap.reference.parent.parent.id, []).append(_shown(snap.to_dict()))
    return [{**s.to_dict(), "action_items": found[s.id]} for s in get_all([_ref(i) for i in found]) if s.exists]


def flagged_since(since: datetime, limit: int) -> list[Incident]:
    """Incidents a person flagged (data loss, security) at or after `since` (single-field index on flagged_at)."""
    query = (client().collection("incidents").where(filter=firestore.FieldFilter("flagged_at", ">=", since))
             .order_by("flagged_at").limit(limit))
    return [Incident.from_doc(d) for d in docs(query)]


def resolved_since(since: datetime, limit: int) -> list[Incident]:
    """Incidents resolved at or after `since` (single-field index on resolved_at)."""
    query = (client().collection("incidents").where(filter=firestore.FieldFilter("resolved_at", ">=", since))
             .order_by("resolved_at").limit(limit))
    return [Incident.from_doc(d) for d in docs(query)]


def unreviewed(limit: int) -> list[dict]:
    """Postmortems not reviewed yet (an equality filter on null)."""
    query = (client().collection(POSTMORTEMS).where(filter=firestore.FieldFilter("reviewed_at", "==", None))
             .limit(limit))
    return docs(query)
