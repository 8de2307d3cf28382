"""Incidents in the real emulator: dedup under concurrency, resolve, regression, severity over time."""
from __future__ import annotations

import copy
import json
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from tests.conftest import fixture_bytes, fixture_json, http, sentry_headers
from tests.teams import variant

TOKEN = "?token=test-ingest-token"


def post_sentry(ingest, payload: dict | bytes, resource: str):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    r = ingest.post("/sentry", data=body, headers=sentry_headers(body, resource))
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


def issue_payload(name="sentry_issue_created.json", **changes) -> dict:
    payload = fixture_json(name)
    payload["data"]["issue"].update(changes)
    return payload


def test_concurrent_deliveries_of_one_issue_give_one_incident_and_the_exact_count(live_server, api, firestore):
    """Sentry fires several webhooks at once: 60 deliveries from 12 threads, all over real HTTP."""
    body = fixture_bytes("sentry_issue_created.json")
    deliveries = 60

    def deliver(_):
        r = http().post(live_server + "/ingest/sentry", content=body, headers=sentry_headers(body, "issue"))
        return r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(deliver, range(deliveries)))
    assert {code for code, _ in results} == {200}
    assert len({answer["incident"] for _, answer in results}) == 1
    assert sorted(answer["status"] for _, answer in results) == ["created"] + ["duplicate"] * (deliveries - 1)
    incidents = api.get("/incidents").get_json()["incidents"]
    assert len(incidents) == 1
    assert incidents[0]["occurrences"] == deliveries
    # 60 events inside a minute cross the error-rate rule once: one rise, recorded once
    assert incidents[0]["severity"] == "high"
    # which racing writer records the rise (at 10, 11, ... events) is up to the race
    assert re.fullmatch(r"rule 'error-rate': \d+\.0 events/min >= 10", incidents[0]["severity_reason"])
    assert [e["action"] for e in incidents[0]["timeline"]] == ["opened", "severity", "severity"]


def test_every_sentry_resource_about_one_issue_lands_on_one_incident(ingest, api):
    first = post_sentry(ingest, fixture_bytes("sentry_issue_created.json"), "issue")
    second = post_sentry(ingest, fixture_bytes("sentry_error_created.json"), "error")
    legacy = ingest.post("/sentry-legacy" + TOKEN, data=fixture_bytes("sentry_legacy_plugin.json"),
                         headers={"Content-Type": "application/json"}).get_json()
    assert first["status"] == "created"
    assert second == legacy == {"incident": first["incident"], "status": "duplicate"}
    got = api.get(f"/incidents/{first['incident']}").get_json()
    assert got["occurrences"] == 3
    assert got["latest_message"] == "BookingCreationException: could not reserve slot"


def test_resolve_then_regression_opens_a_linked_incident(ingest, api):
    first = post_sentry(ingest, fixture_bytes("sentry_issue_created.json"), "issue")["incident"]
    assert post_sentry(ingest, fixture_bytes("sentry_issue_resolved.json"), "issue") == \
        {"incident": first, "status": "resolved"}
    assert post_sentry(ingest, fixture_bytes("sentry_issue_resolved.json"), "issue") == \
        {"incident": first, "status": "duplicate"}
    resolved = api.get(f"/incidents/{first}").get_json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    assert resolved["timeline"][-1]["action"] == "resolved"
    assert resolved["timeline"][-1]["actor"] == "Dev B"

    again = post_sentry(ingest, fixture_bytes("sentry_event_alert_triggered.json"), "event_alert")
    assert again["status"] == "created"  # a different Sentry issue
    regression = post_sentry(ingest, fixture_bytes("sentry_error_created.json"), "error")
    assert regression["status"] == "created" and regression["incident"] != first
    new = api.get(f"/incidents/{regression['incident']}").get_json()
    assert new["previous_incident"] == first
    assert [e["action"] for e in new["timeline"]] == ["opened", "regression", "severity"]
    assert new["timeline"][1]["detail"] == f"regression of {first}"
    assert api.get(f"/incidents/{first}").get_json()["status"] == "resolved"
    assert {i["id"] for i in api.get("/incidents?status=open").get_json()["incidents"]} == \
        {regression["incident"], again["incident"]}


def test_resolve_for_an_unknown_problem_is_ignored(ingest, api):
    assert post_sentry(ingest, fixture_bytes("sentry_issue_resolved.json"), "issue") == \
        {"incident": None, "status": "ignored"}
    assert api.get("/incidents").get_json()["count"] == 0


def test_assigned_ignored_and_unresolved_are_recorded(ingest, api):
    incident = post_sentry(ingest, fixture_bytes("sentry_issue_created.json"), "issue")["incident"]
    assert post_sentry(ingest, fixture_bytes("sentry_issue_assigned.json"), "issue")["status"] == "updated"
    assert post_sentry(ingest, fixture_bytes("sentry_issue_ignored.json"), "issue")["status"] == "updated"
    assert api.get(f"/incidents/{incident}").get_json()["status"] == "ignored"
    # a muted incident still counts what happens, without reopening
    assert post_sentry(ingest, fixture_bytes("sentry_error_created.json"), "error")["status"] == "duplicate"
    assert post_sentry(ingest, fixture_bytes("sentry_issue_unresolved.json"), "issue")["status"] == "updated"
    got = api.get(f"/incidents/{incident}").get_json()
    assert (got["status"], got["assignee"], got["occurrences"]) == ("open", "Dev C", 2)
    assert [(e["action"], e["actor"]) for e in got["timeline"]] == [
        ("opened", "Sentry"), ("severity", "system"), ("assigned", "Dev A"), ("ignored", "Dev A"),
        ("reopened", "Sentry")]


def test_an_ignored_issue_counts_its_events_silently_until_sentry_unresolves_it(ingest, api, firestore):
    incident = post_sentry(ingest, fixture_bytes("sentry_issue_created.json"), "issue")["incident"]
    post_sentry(ingest, fixture_bytes("sentry_issue_ignored.json"), "issue")
    told = {d.id for d in firestore.collection("outbox").stream()}
    for _ in range(12):   # Sentry sends error.created for every event, whatever the issue's status
        assert post_sentry(ingest, fixture_bytes("sentry_error_created.json"), "error")["status"] == "duplicate"
    got = api.get(f"/incidents/{incident}").get_json()
    # 13 events in a minute would raise it (error-rate) and pass the 10th-occurrence milestone: not while ignored
    assert (got["status"], got["occurrences"], got["severity"]) == ("ignored", 13, "medium")
    assert {d.id for d in firestore.collection("outbox").stream()} == told
    post_sentry(ingest, fixture_bytes("sentry_issue_unresolved.json"), "issue")
    post_sentry(ingest, fixture_bytes("sentry_error_created.json"), "error")
    got = api.get(f"/incidents/{incident}").get_json()
    assert (got["status"], got["severity"]) == ("open", "high")   # heard again, and told
    assert f"{incident}:severity-high:discord" in {d.id for d in firestore.collection("outbox").stream()}


def test_severity_rises_with_users_and_never_falls(ingest, api):
    incident = post_sentry(ingest, issue_payload(userCount=3), "issue")["incident"]
    assert api.get(f"/incidents/{incident}").get_json()["severity"] == "medium"
    post_sentry(ingest, issue_payload(userCount=150), "issue")
    got = api.get(f"/incidents/{incident}").get_json()
    assert (got["severity"], got["users_affected"]) == ("high", 150)
    assert got["severity_reason"] == "rule 'many-users': 150 users affected >= 100"
    assert got["timeline"][-1]["detail"] == "medium -> high: rule 'many-users': 150 users affected >= 100"
    post_sentry(ingest, issue_payload(userCount=2, level="warning"), "issue")
    got = api.get(f"/incidents/{incident}").get_json()
    assert (got["severity"], got["users_affected"], got["occurrences"]) == ("high", 150, 3)
    assert sum(e["action"] == "severity" for e in got["timeline"]) == 2


def test_severity_rise_is_recorded_once_under_concurrency(live_server, api, firestore):
    def deliver(users):
        payload = issue_payload(userCount=users)
        body = json.dumps(payload).encode()
        r = http().post(live_server + "/ingest/sentry", content=body, headers=sentry_headers(body, "issue"))
        return r.status_code

    assert deliver(1) == 200
    with ThreadPoolExecutor(max_workers=10) as pool:
        assert set(pool.map(deliver, [200] * 20)) == {200}
    got = api.get("/incidents").get_json()["incidents"][0]
    assert (got["severity"], got["occurrences"]) == ("high", 21)
    assert [e["detail"] for e in got["timeline"] if e["action"] == "severity"] == [
        "medium: sentry level 'error'", "medium -> high: rule 'many-users': 200 users affected >= 100"]


def test_metric_alert_critical_then_resolved(ingest, api):
    opened = post_sentry(ingest, fixture_bytes("sentry_metric_alert_critical.json"), "metric_alert")
    got = api.get(f"/incidents/{opened['incident']}").get_json()
    assert (got["severity"], got["title"], got["dedup_key"]) == ("critical", "Too many errors", "sentry-metric:7:1")
    closed = post_sentry(ingest, fixture_bytes("sentry_metric_alert_resolved.json"), "metric_alert")
    assert closed == {"incident": opened["incident"], "status": "resolved"}


def uptime(ingest, fields: dict, how: str):
    if how == "json":
        return ingest.post("/uptimerobot" + TOKEN, data=json.dumps(fields),
                           headers={"Content-Type": "application/json"})
    if how == "form":
        return ingest.post("/uptimerobot" + TOKEN, data=urlencode(fields),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    return ingest.post("/uptimerobot" + TOKEN + "&" + urlencode(fields))


def test_uptimerobot_down_and_up_as_json_form_and_query(ingest, api):
    down, up = fixture_json("uptimerobot_down.json"), fixture_json("uptimerobot_up.json")
    for how in ("json", "form", "query"):
        r = uptime(ingest, down, how)
        assert r.status_code == 200, r.get_data(as_text=True)
        opened = r.get_json()
        assert opened["status"] == "created", how
        got = api.get(f"/incidents/{opened['incident']}").get_json()
        assert (got["service"], got["environment"], got["severity"]) == ("petties-backend", "production", "critical")
        assert got["title"] == "Backend Health is down: Connection Timeout"
        closed = uptime(ingest, up, how).get_json()
        assert closed == {"incident": opened["incident"], "status": "resolved"}
        got = api.get(f"/incidents/{opened['incident']}").get_json()
        assert (got["status"], got["downtime_seconds"]) == ("resolved", 2677)
        assert got["timeline"][-1]["detail"] == "monitor is up after 44 minutes and 37 seconds down"
    # three downs: the second and third are regressions of the one before
    assert api.get("/incidents").get_json()["count"] == 3


def test_uptimerobot_retries_count_as_occurrences(ingest, api):
    down = fixture_bytes("uptimerobot_down.json")
    answers = [ingest.post("/uptimerobot" + TOKEN, data=down, headers={"Content-Type": "application/json"}).get_json()
               for _ in range(3)]
    assert [a["status"] for a in answers] == ["created", "duplicate", "duplicate"]
    assert api.get(f"/incidents/{answers[0]['incident']}").get_json()["occurrences"] == 3


def test_uptimerobot_tolerates_placeholders_snake_case_and_numbers(ingest, api):
    r = ingest.post("/uptimerobot" + TOKEN, data=fixture_bytes("uptimerobot_down_snake_case.json"),
                    headers={"Content-Type": "application/json"})
    got = api.get(f"/incidents/{r.get_json()['incident']}").get_json()
    assert (got["title"], got["severity"]) == ("Web Server is down: Host Is Unreachable", "critical")
    numeric = ingest.post("/uptimerobot" + TOKEN, json={"monitorID": 42, "alertType": 1, "alertDuration": 0.0})
    assert numeric.get_json()["status"] == "created"


def test_staging_monitor_down_is_medium(ingest, api, monkeypatch, use_team):
    fields = dict(fixture_json("uptimerobot_down.json"), monitorURL="https://staging.petties.world",
                  monitorID="900", monitorFriendlyName="Staging web")
    staged = variant({"environments.staging.monitors": ["https://staging.petties.world"]})
    use_team(staged)
    got = api.get(f"/incidents/{uptime(ingest, fields, 'json').get_json()['incident']}").get_json()
    assert (got["environment"], got["severity"]) == ("staging", "medium")
    assert got["severity_reason"] == "uptimerobot level 'down'; capped at medium in staging"


def test_uptimerobot_ssl_expiry_is_its_own_incident(ingest, api):
    ssl = ingest.post("/uptimerobot" + TOKEN, data=fixture_bytes("uptimerobot_ssl.json"),
                      headers={"Content-Type": "application/json"}).get_json()
    got = api.get(f"/incidents/{ssl['incident']}").get_json()
    assert (got["severity"], got["service"], got["dedup_key"]) == ("medium", "petties-web", "uptimerobot:793528:ssl")


def test_sentry_environment_maps_through_aliases(ingest, api):
    r = ingest.post("/sentry-legacy" + TOKEN, data=fixture_bytes("sentry_legacy_plugin.json"),
                    headers={"Content-Type": "application/json"}).get_json()
    got = api.get(f"/incidents/{r['incident']}").get_json()
    assert (got["environment"], got["service"], got["severity"]) == ("production", "petties-backend", "high")
    assert got["severity_reason"] == "rule 'major-feature-broken': mentions 'booking', level error"


def test_hostile_text_is_stored_as_text(ingest, api):
    payload = copy.deepcopy(issue_payload(title="@everyone <script>alert(1)</script> " + "x" * 10000))
    got = api.get(f"/incidents/{post_sentry(ingest, payload, 'issue')['incident']}").get_json()
    assert got["title"].startswith("@everyone <script>") and len(got["title"]) == 4000


def test_replay_of_an_opening_delivery_after_resolve_does_not_reopen(ingest, api):
    body = fixture_bytes("sentry_issue_created.json")
    headers = sentry_headers(body, "issue", request_id="c" * 32)
    first = ingest.post("/sentry", data=body, headers=headers).get_json()
    post_sentry(ingest, fixture_bytes("sentry_issue_resolved.json"), "issue")
    replay = ingest.post("/sentry", data=body, headers=headers).get_json()
    assert replay == {"incident": first["incident"], "status": "replayed"}
    assert api.get("/incidents").get_json()["count"] == 1
    assert api.get(f"/incidents/{first['incident']}").get_json()["status"] == "resolved"


@pytest.mark.slow
def test_resolve_racing_a_storm_loses_no_occurrence(live_server, api, firestore):
    """Every trigger answered for an incident is counted on exactly that incident, resolves or not."""
    body = fixture_bytes("uptimerobot_down.json")
    up = fixture_bytes("uptimerobot_up.json")
    resolves = {40, 90, 140}

    def send(i):
        r = http().post(live_server + "/ingest/uptimerobot" + TOKEN, content=up if i in resolves else body,
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        return i, r.json()

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(send, range(200)))
    expected: dict[str, int] = {}
    for i, answer in answers:
        if i not in resolves:
            assert answer["status"] in ("created", "duplicate")
            expected[answer["incident"]] = expected.get(answer["incident"], 0) + 1
    got = {i["id"]: i["occurrences"] for i in api.get("/incidents").get_json()["incidents"]}
    assert got == expected
    assert sum(got.values()) == 197
