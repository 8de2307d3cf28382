"""Hardening, second round, incidents: no incident can be made unresolvable by a long history (finding 2), each
through the HTTP boundary against the Firestore emulator."""
from __future__ import annotations

from shared.notify import delivery
from shared.store import timeline
from tests.notify_fixtures import local, sentry_alert, sweep

TUESDAY = local("2026-11-24 10:00:00")
NOTE = "😀" * 2000   # 2,000 characters, 8,000 bytes: the longest note there is, in the widest characters


def _at(monkeypatch, when: str) -> None:
    monkeypatch.setattr("shared.web.http.now", lambda: local(when))


def _stored(firestore, iid: str) -> tuple[dict, list[dict]]:
    ref = firestore.collection("incidents").document(iid)
    parts = [s.to_dict() for s in ref.collection(timeline.ARCHIVE).stream()]
    return ref.get().to_dict(), [e for p in sorted(parts, key=lambda p: p["first"]) for e in p["entries"]]


def test_an_incident_with_more_notes_than_a_document_holds_can_still_be_acknowledged_and_resolved(
        ingest, api, escalate, channels, firestore, monkeypatch):
    """150 notes of 8,000 bytes are 1.2 MB, past Firestore's 1 MiB per document: before, every change after the
    130th answered 500 and the incident could not be resolved. Now the oldest entries move to the archive."""
    iid = sentry_alert(ingest, monkeypatch, TUESDAY, "8601", "Checkout down", level="fatal")["incident"]
    _at(monkeypatch, "2026-11-24 10:05:00")
    for n in range(150):
        r = api.post(f"/incidents/{iid}/note", json={"actor": "dev-b", "text": f"{n:03d} {NOTE}"})
        assert r.status_code == 200, (n, r.get_data(as_text=True)[:300])
    assert api.post(f"/incidents/{iid}/ack", json={"actor": "dev-d"}).status_code == 200
    assert api.post(f"/incidents/{iid}/investigating", json={"actor": "dev-d"}).status_code == 200
    assert api.post(f"/incidents/{iid}/severity", json={"actor": "dev-a", "severity": "critical"}).status_code == 200

    shown = api.get(f"/incidents/{iid}").get_json()
    assert shown["timeline_archived"] > 0 and shown["timeline"][0]["action"] == "opened"
    assert [e["action"] for e in shown["timeline"][-3:]] == ["acknowledged", "investigating", "severity"]
    stored, archived = _stored(firestore, iid)
    assert timeline.size(stored["timeline"]) <= timeline.BUDGET
    whole = stored["timeline"][:1] + archived + stored["timeline"][1:]
    notes = [e["detail"][:3] for e in whole if e["action"] == "note"]
    assert notes == [f"{n:03d}" for n in range(150)]   # every note kept, once, in order
    assert len(archived) == stored["timeline_archived"] == shown["timeline_archived"]

    sentry_alert(ingest, monkeypatch, local("2026-11-24 10:30:00"), "8601", "Checkout down", level="fatal",
                 action="resolved")                      # the source's own resolve works too
    assert api.get(f"/incidents/{iid}").get_json()["status"] == "resolved"
    assert api.post(f"/incidents/{iid}/note", json={"actor": "dev-b", "text": "after: " + NOTE}).status_code == 200

    sweep(escalate, local("2026-11-24 10:35:00"))        # a Critical: its postmortem is drafted from it all
    delivery.wait_idle()
    draft = api.get(f"/postmortems/{iid}").get_json()
    rows = draft["timeline"]
    assert len(rows) == 101 and rows[0]["event"] == "Alert triggered" and "more entries" in rows[50]["detail"]


def test_a_change_firestore_refuses_as_too_large_is_a_413_and_changes_nothing(ingest, api, firestore, monkeypatch):
    iid = sentry_alert(ingest, monkeypatch, TUESDAY, "8602", "Checkout down")["incident"]
    ref = firestore.collection("incidents").document(iid)
    ref.update({"imported": "x" * 1_040_000})   # a document already near the limit (say, written by an old version)
    before = ref.get().to_dict()
    _at(monkeypatch, "2026-11-24 10:05:00")
    r = api.post(f"/incidents/{iid}/note", json={"actor": "dev-b", "text": NOTE})
    assert r.status_code == 413 and "1 MiB" in r.get_json()["error"], r.get_data(as_text=True)[:300]
    assert ref.get().to_dict() == before
