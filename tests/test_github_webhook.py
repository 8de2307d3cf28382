"""GitHub in step: the incident's issue closed or reopened on GitHub (POST /ingest/github) moves the incident."""
from __future__ import annotations

import json
import uuid

import pytest

from shared.notify import delivery
from shared.sources.common import hmac_sha256
from shared.store import outbox
from tests.conftest import dump_firestore, fixture_json
from tests.notify_fixtures import local, sentry_alert
from tests.teams import variant

SECRET = "test-github-webhook-secret"
TUESDAY = local("2026-11-24 10:00:00")   # business hours


@pytest.fixture
def github_team(monkeypatch, use_team, channels):
    """The fakes, GITHUB_WEBHOOK_SECRET set, and Dev B known on GitHub as dev-b-gh."""
    from shared.config.settings import settings
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    settings.cache_clear()
    use_team(variant({"people.dev-b.github": "Dev-B-GH"}))
    return channels


def signed(payload: dict, event: str = "issues", delivery_id: str | None = None,
           secret: str = SECRET) -> tuple[bytes, dict]:
    """A body and the headers GitHub sends with it (https://docs.github.com/en/webhooks/webhook-events-and-payloads)."""
    body = json.dumps(payload).encode()
    return body, {"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/6f1b2c3",
                  "X-GitHub-Event": event, "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
                  "X-GitHub-Hook-ID": "512345678", "X-GitHub-Hook-Installation-Target-Type": "repository",
                  "X-GitHub-Hook-Installation-Target-ID": "186853002",
                  "X-Hub-Signature-256": "sha256=" + hmac_sha256(secret, body)}


def issue_event(action: str, incident: str, number: int, repo: str = "petties/petties",
                login: str = "dev-b-gh") -> dict:
    payload = fixture_json(f"github_issues_{action}.json")
    payload["issue"]["number"] = number
    payload["issue"]["labels"][-1]["name"] = f"incident:{incident}"
    payload["repository"]["full_name"] = repo
    payload["sender"]["login"] = login
    return payload


def post(ingest, monkeypatch, payload: dict, when=TUESDAY, **kwargs):
    monkeypatch.setattr("shared.web.http.now", lambda: when)
    body, headers = signed(payload, **kwargs)
    return ingest.post("/github", data=body, headers=headers)


def low_incident(ingest, monkeypatch, channels, issue_id: str = "8001") -> tuple[str, int, dict]:
    """A Low incident whose GitHub issue the product filed; return its id, the issue's number and the issue."""
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, issue_id, "Typo on the footer", level="warning")
    delivery.wait_idle()
    [(number, issue)] = channels.github.issues.items()
    assert f"incident:{opened['incident']}" in issue["labels"]
    return opened["incident"], number, issue


def test_closing_the_issue_of_a_sentry_bug_on_github_resolves_its_sentry_issue_too(ingest, github_team, monkeypatch,
                                                                                   use_team):
    """The last step of the team's workflow is closing the Sentry issue: a Low bug fixed and closed on GitHub is."""
    from shared.config.settings import settings
    from tests.fakes.sentry_api import FakeSentryApi
    use_team(variant({"people.dev-b.github": "Dev-B-GH", "sentry.organization": "petties"}))
    sentry = FakeSentryApi(clock=github_team.clock).serve()
    try:
        sentry.add_issue("8001")
        monkeypatch.setenv("SENTRY_API_TOKEN", sentry.token)
        monkeypatch.setenv("SENTRY_API_URL", sentry.base_url)
        settings.cache_clear()
        iid, number, issue = low_incident(ingest, monkeypatch, github_team, "8001")
        issue["state"] = "closed"
        assert post(ingest, monkeypatch, issue_event("closed", iid, number)).status_code == 200
        delivery.wait_idle()
        assert sentry.updates == [("8001", "resolved")]
    finally:
        sentry.stop()


def test_closing_the_issue_on_github_resolves_the_incident_as_the_person(ingest, api, github_team, monkeypatch):
    iid, number, issue = low_incident(ingest, monkeypatch, github_team)
    issue["state"] = "closed"   # a person closed it on GitHub
    r = post(ingest, monkeypatch, issue_event("closed", iid, number), when=local("2026-11-24 11:00:00"))
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json() == {"incident": iid, "status": "resolved"}
    delivery.wait_idle()
    incident = api.get(f"/incidents/{iid}").get_json()
    assert incident["status"] == "resolved"
    assert incident["timeline"][-1]["actor"] == "dev-b"
    assert incident["timeline"][-1]["detail"] == f"closed issue #{number} on GitHub"
    # nothing goes back to GitHub: no comment, no second close
    assert issue["comments"] == [] and [e["event"] for e in issue["events"]] == ["created"]
    assert [r["method"] for r in github_team.github.requests] == ["POST"]
    record = outbox.get(f"{iid}:resolved:github")
    assert record["status"] == "superseded" and record["note"] == "the issue was closed on GitHub"


def test_medium_closed_on_github_tells_the_team_who_resolved_it(ingest, github_team, monkeypatch):
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "8002", "Image upload slow on /pets/photo")
    delivery.wait_idle()
    [(number, issue)] = github_team.github.issues.items()
    post(ingest, monkeypatch, issue_event("closed", opened["incident"], number, login="someone-else"),
         when=local("2026-11-24 11:00:00"))
    delivery.wait_idle()
    resolved = github_team.prod()[-1]["content"]
    assert resolved.startswith("✅ RESOLVED") and "Resolved by GitHub (@someone-else)" in resolved
    assert issue["comments"] == []


def test_wrong_or_missing_signature_is_401_and_changes_nothing(ingest, github_team, monkeypatch, firestore):
    iid, number, _ = low_incident(ingest, monkeypatch, github_team)
    before = dump_firestore(firestore)
    monkeypatch.setattr("shared.web.http.now", lambda: TUESDAY)
    body, headers = signed(issue_event("closed", iid, number), secret="not-the-secret")
    assert ingest.post("/github", data=body, headers=headers).status_code == 401
    del headers["X-Hub-Signature-256"]
    assert ingest.post("/github", data=body, headers=headers).status_code == 401
    assert dump_firestore(firestore) == before


def test_without_the_secret_the_source_is_off(ingest, channels, monkeypatch, firestore):
    body, headers = signed(issue_event("closed", "INC-7K3QXD", 1))
    r = ingest.post("/github", data=body, headers=headers)
    assert r.status_code == 401 and "not configured" in r.get_json()["error"]


def test_reopened_on_github_reopens_and_a_resolve_here_closes_it_again(ingest, api, github_team, monkeypatch):
    iid, number, issue = low_incident(ingest, monkeypatch, github_team)
    issue["state"] = "closed"
    post(ingest, monkeypatch, issue_event("closed", iid, number), when=local("2026-11-24 11:00:00"))
    issue["state"] = "open"   # the fix did not hold: reopened on GitHub
    r = post(ingest, monkeypatch, issue_event("reopened", iid, number), when=local("2026-11-24 12:00:00"))
    assert r.get_json() == {"incident": iid, "status": "reopened"}
    incident = api.get(f"/incidents/{iid}").get_json()
    assert incident["status"] != "resolved" and incident["timeline"][-1]["action"] == "reopened"
    # the same problem seen again counts on the same incident
    again = sentry_alert(ingest, monkeypatch, local("2026-11-24 12:05:00"), "8001", "Typo on the footer",
                         level="warning")
    assert again["incident"] == iid
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 13:00:00"))
    r = api.post(f"/incidents/{iid}/resolve", json={"actor": "dev-c"})
    assert r.status_code == 200, r.get_data(as_text=True)
    delivery.wait_idle()
    assert issue["state"] == "closed" and len(issue["comments"]) == 1
    assert api.get(f"/incidents/{iid}").get_json()["status"] == "resolved"


def test_a_bug_reopened_days_later_gets_fresh_sla_clocks_and_pages_nobody_at_once(ingest, api, escalate,
                                                                                  github_team, monkeypatch):
    from tests.notify_fixtures import sweep
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "8002", "Image upload slow on the photo page", users=1)
    iid = opened["incident"]   # a Medium: Discord and a GitHub issue; respond within 4 h of business time
    delivery.wait_idle()
    [(number, issue)] = github_team.github.issues.items()
    assert api.get(f"/incidents/{iid}").get_json()["severity"] == "medium"
    issue["state"] = "closed"
    post(ingest, monkeypatch, issue_event("closed", iid, number), when=local("2026-11-24 10:30:00"))
    issue["state"] = "open"   # a week later the bug is back: reopened on GitHub, nobody has acknowledged it
    reopened_at = local("2026-12-01 10:00:00")
    post(ingest, monkeypatch, issue_event("reopened", iid, number), when=reopened_at)
    incident = api.get(f"/incidents/{iid}").get_json()
    assert incident["status"] == "open" and incident["respond_by"] == "2026-12-01T07:00:00.000Z"   # 4 h from now
    before = len(github_team.prod())
    sweep(escalate, local("2026-12-01 10:01:00"))
    delivery.wait_idle()
    assert [m["content"] for m in github_team.prod()[before:] if "SLA breach" in m["content"]] == []


def test_redelivery_changes_nothing(ingest, github_team, monkeypatch, firestore):
    iid, number, issue = low_incident(ingest, monkeypatch, github_team)
    closed, reopened = issue_event("closed", iid, number), issue_event("reopened", iid, number)
    assert post(ingest, monkeypatch, closed, delivery_id="d-1").get_json()["status"] == "resolved"
    assert post(ingest, monkeypatch, reopened, delivery_id="d-2").get_json()["status"] == "reopened"
    delivery.wait_idle()
    before = dump_firestore(firestore)
    assert post(ingest, monkeypatch, closed, delivery_id="d-1").get_json()["status"] == "replayed"
    assert post(ingest, monkeypatch, reopened, delivery_id="d-2").get_json()["status"] == "replayed"
    assert dump_firestore(firestore) == before


@pytest.mark.parametrize("change", [
    lambda p: p["repository"].update(full_name="someone/else"),
    lambda p: p["issue"].update(labels=[{"name": "bug"}]),
    lambda p: p["issue"]["labels"].append({"name": "postmortem"}),
    lambda p: p.update(action="labeled"),
    lambda p: p["issue"].update(number=p["issue"]["number"] + 100),   # its label copied onto another issue
])
def test_other_issues_and_actions_are_ignored(ingest, github_team, monkeypatch, firestore, change):
    iid, number, _ = low_incident(ingest, monkeypatch, github_team)
    payload = issue_event("closed", iid, number)
    change(payload)
    before = dump_firestore(firestore)
    r = post(ingest, monkeypatch, payload)
    assert r.status_code == 200 and r.get_json() == {"incident": None, "status": "ignored"}
    assert dump_firestore(firestore) == before


def test_ping_and_other_events_are_answered(ingest, github_team, monkeypatch, firestore):
    before = dump_firestore(firestore)
    assert post(ingest, monkeypatch, fixture_json("github_ping.json"), event="ping").status_code == 200
    assert post(ingest, monkeypatch, {"ref": "refs/heads/main"}, event="push").status_code == 200
    assert dump_firestore(firestore) == before


@pytest.mark.parametrize("body,event,said", [
    (b"{not json", "issues", "not valid JSON"),
    (json.dumps({"action": "closed"}).encode(), "issues", "issue"),
    (json.dumps({"action": "closed", "issue": {"number": 3}, "repository": {"full_name": "petties/petties"},
                 "sender": {}}).encode(), "issues", "sender.login"),
    (b"{}", "", "X-GitHub-Event"),
])
def test_malformed_deliveries_are_400_saying_why(ingest, github_team, monkeypatch, body, event, said):
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event, "X-GitHub-Delivery": "x",
               "X-Hub-Signature-256": "sha256=" + hmac_sha256(SECRET, body)}
    r = ingest.post("/github", data=body, headers=headers)
    assert r.status_code == 400 and said in r.get_json()["error"]


def test_the_close_the_product_made_comes_back_and_changes_nothing(ingest, api, github_team, monkeypatch, firestore):
    iid, number, issue = low_incident(ingest, monkeypatch, github_team)
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 11:00:00"))
    assert api.post(f"/incidents/{iid}/resolve", json={"actor": "dev-c"}).status_code == 200
    delivery.wait_idle()
    assert issue["state"] == "closed" and len(issue["comments"]) == 1
    before, calls = dump_firestore(firestore), len(github_team.github.requests)
    r = post(ingest, monkeypatch, issue_event("closed", iid, number, login="petties-incidents[bot]"),
             when=local("2026-11-24 11:00:05"))
    assert r.get_json() == {"incident": iid, "status": "duplicate"}
    delivery.wait_idle()
    assert len(github_team.github.requests) == calls and len(issue["comments"]) == 1
    after = dump_firestore(firestore)
    [new] = after.keys() - before.keys()
    assert new.startswith("claims/github-") and {k: v for k, v in after.items() if k != new} == before

