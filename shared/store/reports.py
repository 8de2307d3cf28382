"""Daily reports (reports/{YYYY-MM-DD}): written once per day with the message that posts them, read by the API."""
from __future__ import annotations

from shared.lazy import gexc
from shared.store.client import call, client
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
