"""Regressions from a hostile probe (issue 26, finding 10): postmortem action items under contention.

Ten people adding or changing action items of one postmortem at the same moment must all succeed: each item is
its own document, so changes to different items never collide, and new items race only for their number.
Against the real API entry point and the Firestore emulator, through a tap on the wire that records every commit
Firestore refused (tests/fakes/firestore_tap.py); the product's pauses run on a fake clock.
"""
from __future__ import annotations

from shared.model import iso
from shared.notify import delivery
from tests.fakes.firestore_tap import tapped
from tests.notify_fixtures import local
from tests.test_hardening import _parallel
from tests.test_postmortem_followup import _at, _pings, _postmortem_issues, _resolved_critical, _runs

PEOPLE = ("dev-a", "dev-b", "dev-c", "dev-d")


def _item(i: int) -> dict:
    return {"action": f"Step {i}", "owner": PEOPLE[i % 4], "deadline": f"2026-12-{i + 1:02d}"}


def _refused(tap, iid: str) -> list:
    """The commits Firestore refused that would have written the postmortem or one of its action items."""
    return [r for r in tap.refused if any(path.startswith(f"postmortems/{iid}") for path, _ in r.writes)]


def test_ten_parallel_posts_all_add_an_item_each_numbered_1_to_10(ingest, api, escalate, channels, monkeypatch):
    # Given a drafted postmortem with its GitHub issue
    iid = _resolved_critical(ingest, api, escalate, monkeypatch, "9851")
    _runs(escalate, "2026-11-24 10:45:00", "2026-11-24 10:46:00")
    _at(monkeypatch, "2026-11-24 14:00:00")
    # When ten people add an action item at once
    with tapped() as tap:
        added = _parallel(10, lambda i: api.post(f"/postmortems/{iid}/action-items", json=_item(i)))
        delivery.wait_idle()
    # Then all are added, each with its own number
    assert [r.status_code for r in added] == [201] * 10, [r.get_json() for r in added]
    numbers = [next(a["n"] for a in r.get_json()["action_items"] if a["action"] == f"Step {i}")
               for i, r in enumerate(added)]
    assert sorted(numbers) == list(range(1, 11))
    stored = api.get(f"/postmortems/{iid}").get_json()
    assert [a["n"] for a in stored["action_items"]] == list(range(1, 11))
    assert {a["action"]: a["n"] for a in stored["action_items"]} == {f"Step {i}": n for i, n in enumerate(numbers)}
    assert stored["version"] == 11 and stored["next_deadline"] == "2026-12-01"
    # and they raced only for the numbers: the only writes refused created an item whose number was taken
    items = f"postmortems/{iid}/action_items/"
    assert all(r.code == "ALREADY_EXISTS" and any(path.startswith(items) and how == "create" for path, how in r.writes)
               for r in _refused(tap, iid)), tap.refused
    # and the issue's task list ends with all ten
    _runs(escalate, "2026-11-24 14:05:00")
    [issue] = _postmortem_issues(channels.github)
    assert all(f"- [ ] Step {i} (" in issue["body"] for i in range(10))


def test_ten_parallel_patches_on_ten_items_are_all_applied_without_a_collision(ingest, api, escalate, channels,
                                                                                monkeypatch):
    # Given a postmortem with ten action items
    iid = _resolved_critical(ingest, api, escalate, monkeypatch, "9852")
    _runs(escalate, "2026-11-24 10:45:00", "2026-11-24 10:46:00")
    _at(monkeypatch, "2026-11-24 14:00:00")
    for i in range(10):
        assert api.post(f"/postmortems/{iid}/action-items", json=_item(i)).status_code == 201
    delivery.wait_idle()
    _at(monkeypatch, "2026-11-24 15:00:00")

    def change(i: int) -> dict:   # the items change in different ways: done, a new owner, a new deadline
        return ({"done": True}, {"owner": PEOPLE[(i + 1) % 4]}, {"deadline": "2027-01-15"})[i % 3]

    # When ten people each change a different item at once
    with tapped() as tap:
        changed = _parallel(10, lambda i: api.patch(f"/postmortems/{iid}/action-items/{i + 1}", json=change(i)))
        delivery.wait_idle()
    # Then every change is applied and stored
    assert [r.status_code for r in changed] == [200] * 10, [r.get_json() for r in changed]
    got = api.get(f"/postmortems/{iid}").get_json()
    for i, item in enumerate(got["action_items"]):
        expected = {**_item(i), "n": i + 1, "done": False, "done_at": None,
                    "created_at": iso(local("2026-11-24 14:00:00"))}
        expected.update({"done": True, "done_at": iso(local("2026-11-24 15:00:00"))} if i % 3 == 0 else change(i))
        assert item == expected
    assert got["version"] == 21 and got["next_deadline"] == "2026-12-02"
    # and no change collided with another: Firestore refused none of their writes
    assert _refused(tap, iid) == []
    # and the issue's task list shows every change
    _runs(escalate, "2026-11-24 15:05:00")
    [issue] = _postmortem_issues(channels.github)
    assert "- [x] Step 0 (Dev A, due 2026-12-01)" in issue["body"] and "Step 2 (Dev C, due 2027-01-15)" in issue["body"]


def test_a_change_that_keeps_colliding_is_refused_naming_the_postmortem(ingest, api, escalate, channels,
                                                                       monkeypatch):
    import shared.postmortems as use_cases
    from shared.store.client import client
    iid = _resolved_critical(ingest, api, escalate, monkeypatch, "9853")
    _runs(escalate, "2026-11-24 10:45:00")
    _at(monkeypatch, "2026-11-24 14:00:00")
    api.post(f"/postmortems/{iid}/action-items", json=_item(0))
    item = client().collection("postmortems").document(iid).collection("action_items").document("1")
    real, changes = use_cases._sync_records, []

    def meanwhile(*args, **kwargs):   # someone else changes the item between every read and write of this change
        changes.append(True)
        item.update({"action": f"Changed by someone else {len(changes)} times"})
        return real(*args, **kwargs)

    monkeypatch.setattr(use_cases, "_sync_records", meanwhile)
    refused = api.patch(f"/postmortems/{iid}/action-items/1", json={"done": True})
    assert refused.status_code == 409
    assert refused.get_json()["error"] == f"action item 1 of postmortem {iid} changed at the same time; try again"
    assert api.get(f"/postmortems/{iid}").get_json()["action_items"][0]["done"] is False


def test_a_postmortem_stored_with_its_action_items_inline_still_reads_changes_and_pings(ingest, api, escalate,
                                                                                        channels, monkeypatch):
    from shared.store import postmortems as store
    # Given a postmortem stored the way it was before items had documents of their own
    iid = _resolved_critical(ingest, api, escalate, monkeypatch, "9854")
    _runs(escalate, "2026-11-24 10:45:00")
    inline = [{"n": 1, "action": "Old one", "owner": "dev-b", "deadline": "2026-11-30", "done": False,
               "done_at": None},
              {"n": 2, "action": "Old two", "owner": "dev-c", "deadline": "2026-12-05", "done": False,
               "done_at": None}]
    store.update(iid, {"action_items": inline, "next_deadline": "2026-11-30", "version": 3})
    # Then it reads as before, and its overdue item is pinged
    got = api.get(f"/postmortems/{iid}").get_json()
    assert got["action_items"] == inline and got["next_deadline"] == "2026-11-30" and got["version"] == 3
    _runs(escalate, "2026-12-01 09:30:00")
    assert _pings(iid, 1, "2026-12-01") is not None and _pings(iid, 2, "2026-12-01") is None
    # and its items change, and new ones follow them
    _at(monkeypatch, "2026-12-01 10:00:00")
    assert api.patch(f"/postmortems/{iid}/action-items/1", json={"done": True}).status_code == 200
    added = api.post(f"/postmortems/{iid}/action-items", json=_item(2))
    assert added.status_code == 201
    got = api.get(f"/postmortems/{iid}").get_json()
    assert [(a["n"], a["action"], a["done"]) for a in got["action_items"]] == [
        (1, "Old one", True), (2, "Old two", False), (3, "Step 2", False)]
    assert got["next_deadline"] == "2026-12-03" and got["version"] == 5
    assert api.patch(f"/postmortems/{iid}/action-items/4", json={"done": True}).status_code == 404
    # and the items now overdue are pinged from their documents, the one done is not
    _runs(escalate, "2026-12-06 09:30:00")
    assert [n for n in (1, 2, 3) if _pings(iid, n, "2026-12-06")] == [2, 3]
