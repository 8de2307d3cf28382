"""Daily reports (reports/{YYYY-MM-DD}): written once per day with the message that posts them, read by the API;
changed only by a recompute, with the correction that posts what changed."""
from __future__ import annotations

from collections.abc import Callable

from shared.lazy import gexc
from shared.store.client import Unchanged, call, client, put_unchanged, read_then_write
from shared.store.outbox import add_records

REPORTS = "reports"


def get_report(day: str) -> dict | None:
    snap = call(client().collection(REPORTS).document(day).get)
    return snap.to_dict() if snap.exists else None


def save_report(day: str, report: dict, records: list[dict]) -> bool:
    """Store the day's report and the outbox records that post it in one commit, unless the report exists;
    return False when it already did (a re-run: nothing is posted twice, nothing stored without its post)."""
    batch = client().batch()
    batch.create(client().collection(REPORTS).document(day), report)
    add_records(batch, records)
    try:
        call(batch.commit)
    except gexc.Conflict:
        return False
    return True


def correct(day: str, write: Callable[[dict], tuple[dict, list[dict]] | None]) -> dict | None:
    """Change the stored report of `day`, preconditioned on it: `write(stored)` returns the fields to set and the
    outbox records the change causes (stored with it), or None for no change. Return the fields set, None when
    nothing changed or there is no report; read again and retried while another run changes it."""
    ref = client().collection(REPORTS).document(day)

    def change(snap, batch):
        if not snap.exists:
            raise Unchanged(None)
        got = write(snap.to_dict())
        if got is None:
            raise Unchanged(None)
        fields, records = got
        put_unchanged(batch, ref, snap, fields)
        add_records(batch, records)
        return fields

    return read_then_write(ref, change, f"the report of {day} changed at the same time; try again")
