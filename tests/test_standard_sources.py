"""Alertmanager, Grafana and PagerDuty Events v2: auth, validation as the vendors do it, end to end."""
from __future__ import annotations

import json

import pytest

from shared.notify import delivery
from shared.sources.common import hmac_sha256
from tests.conftest import dump_firestore, fixture_bytes, fixture_json
from tests.notify_fixtures import local
from tests.teams import variant

TOKEN = "?token=test-ingest-token"
TUESDAY = local("2026-11-24 10:00:00")
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr("shared.web.http.now", lambda: TUESDAY)


def grafana_signature(body: bytes, stamp: str | None = None) -> str:
    message = (stamp.encode() + b":" + body) if stamp else body
    return hmac_sha256(b"test-grafana-secret", message)


# ---------------------------------------------------------------- Alertmanager

def test_alertmanager_group_opens_one_incident_per_alert_and_resolves_them(ingest, api, clock):
    r = ingest.post("/alertmanager" + TOKEN, data=fixture_bytes("alertmanager_firing.json"), headers=JSON)
    assert r.status_code == 200
    opened = r.get_json()["incidents"]
    assert [o["status"] for o in opened] == ["created", "created"] and len({o["incident"] for o in opened}) == 2
    first = api.get(f"/incidents/{opened[0]['incident']}").get_json()
    assert (first["title"], first["severity"], first["source"]) == ("High CPU core temperature", "critical",
                                                                     "alertmanager")
    assert first["severity_reason"] == "alertmanager level 'critical'"
    closed = ingest.post("/alertmanager" + TOKEN, data=fixture_bytes("alertmanager_resolved.json"),
                         headers=JSON).get_json()["incidents"]
    assert [c["status"] for c in closed] == ["resolved", "resolved"]
    assert [c["incident"] for c in closed] == [o["incident"] for o in opened]


def test_alertmanager_truncated_group_is_noted_and_labels_map_through_config(ingest, api, clock):
    r = ingest.post("/alertmanager" + TOKEN, data=fixture_bytes("alertmanager_truncated.json"), headers=JSON)
    got = api.get(f"/incidents/{r.get_json()['incident']}").get_json()
    assert (got["service"], got["environment"], got["severity"]) == ("petties-backend", "production", "medium")
    assert "5 more alerts were truncated from this group" in got["timeline"][0]["detail"]
    assert got["links"]["runbook"] == "https://wiki.petties.world/runbooks/latency"


def test_alertmanager_group_mode_makes_one_incident_per_group(ingest, api, clock, monkeypatch, use_team):
    cfg = variant({"sources.alertmanager.one_incident_per": "group"})
    use_team(cfg)
    r = ingest.post("/alertmanager" + TOKEN, data=fixture_bytes("alertmanager_firing.json"), headers=JSON)
    assert [o["status"] for o in r.get_json()["incidents"]] == ["created", "duplicate"]
    assert api.get("/incidents").get_json()["count"] == 1


@pytest.mark.parametrize("query", ["", "?token=wrong"])
def test_alertmanager_needs_the_token(ingest, firestore, query):
    r = ingest.post("/alertmanager" + query, data=fixture_bytes("alertmanager_firing.json"), headers=JSON)
    assert r.status_code == 401 and dump_firestore(firestore) == {}


@pytest.mark.parametrize("body,message", [
    ({"version": "4", "alerts": []}, "alerts: expected a non-empty list"),
    ({"alerts": [{"status": "pending", "labels": {"a": "b"}}]}, "alerts.0.status: expected firing or resolved"),
    ({"alerts": [{"status": "firing"}]}, "no labels and no fingerprint"),
    ({"alerts": ["x"]}, "alerts.0: expected an object"),
])
def test_alertmanager_malformed_is_400(ingest, firestore, body, message):
    r = ingest.post("/alertmanager" + TOKEN, data=json.dumps(body), headers=JSON)
    assert r.status_code == 400 and message in r.get_json()["error"]
    assert dump_firestore(firestore) == {}


# ---------------------------------------------------------------- Grafana

def test_grafana_signed_firing_then_resolved(ingest, api, clock):
    body = fixture_bytes("grafana_firing.json")
    r = ingest.post("/grafana", data=body, headers={**JSON, "X-Grafana-Alerting-Signature": grafana_signature(body)})
    assert [o["status"] for o in r.get_json()["incidents"]] == ["created", "created"]
    body = fixture_bytes("grafana_resolved.json")
    r = ingest.post("/grafana", data=body, headers={**JSON, "X-Grafana-Alerting-Signature": grafana_signature(body)})
    assert [o["status"] for o in r.get_json()["incidents"]] == ["resolved", "resolved"]


@pytest.mark.parametrize(("alertname", "title"), [
    ("DatasourceError", "Query error: tg_api_5xx_spike"),
    ("DatasourceNoData", "No data: tg_api_5xx_spike"),
    ("HighErrorRate", "5xx responses on POST /api/v1/digests"),   # a rule that fired: its own summary
])
def test_grafana_says_a_rule_could_not_be_evaluated_instead_of_its_summary(ingest, api, clock, alertname, title):
    # Grafana sends these under the rule's own labels and annotations (shape of a real DatasourceError delivery)
    alert = {"status": "firing", "labels": {"alertname": alertname, "datasource_uid": "prometheus", "ref_id": "A",
                                            "rulename": "tg_api_5xx_spike", "severity": "warning"},
             "annotations": {"summary": "5xx responses on POST /api/v1/digests"}, "startsAt": "2026-06-02T17:15:30Z",
             "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "b5a3e0633aff0a2f", "values": None, "valueString": ""}
    body = json.dumps({"receiver": "webhook", "status": "firing", "orgId": 1, "version": "1", "groupKey": "{}:{}",
                       "truncatedAlerts": 0, "alerts": [alert]}).encode()
    r = ingest.post("/grafana", data=body, headers={**JSON, "X-Grafana-Alerting-Signature": grafana_signature(body)})
    assert api.get(f"/incidents/{r.get_json()['incident']}").get_json()["title"] == title


@pytest.mark.parametrize("headers,query", [
    ({}, ""),
    ({"X-Grafana-Alerting-Signature": "0" * 64}, ""),
    ({"X-Grafana-Alerting-Signature": "0" * 64}, TOKEN),   # a wrong signature is not rescued by the token
])
def test_grafana_bad_or_missing_credentials_are_401(ingest, firestore, headers, query):
    r = ingest.post("/grafana" + query, data=fixture_bytes("grafana_firing.json"), headers={**JSON, **headers})
    assert r.status_code == 401 and dump_firestore(firestore) == {}


def test_grafana_token_and_timestamped_signature(ingest, clock, monkeypatch):
    assert ingest.post("/grafana" + TOKEN, data=fixture_bytes("grafana_firing.json"), headers=JSON).status_code == 200
    monkeypatch.setenv("GRAFANA_TIMESTAMP_HEADER", "X-Grafana-Alerting-Timestamp")
    from shared.config.settings import settings
    settings.cache_clear()
    try:
        body = fixture_bytes("grafana_resolved.json")
        signed = {**JSON, "X-Grafana-Alerting-Timestamp": "1795788950",
                  "X-Grafana-Alerting-Signature": grafana_signature(body, "1795788950")}
        assert ingest.post("/grafana", data=body, headers=signed).status_code == 200
        unsigned_stamp = {**signed, "X-Grafana-Alerting-Signature": grafana_signature(body)}
        assert ingest.post("/grafana", data=body, headers=unsigned_stamp).status_code == 401
    finally:
        monkeypatch.delenv("GRAFANA_TIMESTAMP_HEADER")
        settings.cache_clear()


# ---------------------------------------------------------------- PagerDuty Events v2

def pd(ingest, body):
    return ingest.post("/pagerduty/v2/enqueue", data=json.dumps(body) if isinstance(body, dict) else body,
                       headers=JSON)


def test_pagerduty_trigger_acknowledge_resolve_answered_like_pagerduty(ingest, api, clock):
    r = pd(ingest, fixture_json("pagerduty_trigger.json"))
    assert (r.status_code, r.get_json()) == (202, {"status": "success", "message": "Event processed",
                                                   "dedup_key": "srv01/HTTP"})
    [incident] = api.get("/incidents").get_json()["incidents"]
    assert (incident["service"], incident["severity"]) == ("petties-backend", "critical")
    assert pd(ingest, fixture_json("pagerduty_acknowledge.json")).status_code == 202
    acked = api.get(f"/incidents/{incident['id']}").get_json()
    assert (acked["status"], acked["owner"]) == ("acknowledged", "Sample Monitoring Service")
    assert acked["timeline"][-1]["actor"] == "Sample Monitoring Service"
    assert pd(ingest, fixture_json("pagerduty_resolve.json")).get_json()["dedup_key"] == "srv01/HTTP"
    assert api.get(f"/incidents/{incident['id']}").get_json()["status"] == "resolved"
    # PagerDuty drops an acknowledge or resolve for a resolved key; so do we
    assert pd(ingest, fixture_json("pagerduty_acknowledge.json")).status_code == 202
    assert api.get(f"/incidents/{incident['id']}").get_json()["status"] == "resolved"


@pytest.mark.parametrize(("group", "environment", "severity"), [
    ("stg", "staging", "medium"),            # an alias of staging (Grafana's PagerDuty contact point sends it): no page
    ("Development", "staging", "medium"),
    ("production", "production", "critical"),
    ("prod-datapipe", "production", "critical"),   # PagerDuty's own example: a grouping, not an environment
    ("", "production", "critical"),
])
def test_pagerduty_group_is_the_environment_only_when_it_names_one(ingest, api, clock, group, environment, severity):
    event = fixture_json("pagerduty_trigger.json")
    event["payload"]["group"] = group
    assert pd(ingest, event).status_code == 202
    [incident] = api.get("/incidents").get_json()["incidents"]
    assert (incident["environment"], incident["severity"]) == (environment, severity)


def test_pagerduty_trigger_without_dedup_key_gets_one(ingest, clock):
    event = fixture_json("pagerduty_trigger.json")
    del event["dedup_key"]
    key = pd(ingest, event).get_json()["dedup_key"]
    assert len(key) == 32
    resolve = {**fixture_json("pagerduty_resolve.json"), "dedup_key": key}
    assert pd(ingest, resolve).status_code == 202


def _without(path: str) -> dict:
    event = fixture_json("pagerduty_trigger.json")
    del event["payload"][path]
    return event


@pytest.mark.parametrize("event,errors", [
    (_without("summary"), ["'payload.summary' is missing or blank"]),
    ({**fixture_json("pagerduty_trigger.json"), "payload": {**fixture_json("pagerduty_trigger.json")["payload"],
                                                            "severity": "fatal"}},
     ["'payload.severity' is invalid (must be one of: critical, error, warning, info)"]),
    ({**fixture_json("pagerduty_trigger.json"), "dedup_key": "x" * 256},
     ["'dedup_key' is too long (must be at most 255 characters)"]),
    ({**fixture_json("pagerduty_trigger.json"), "routing_key": "T" * 32}, ["Invalid routing key"]),
    ({**fixture_json("pagerduty_trigger.json"), "routing_key": "samplekeyhere"},
     ["Length of 'routing_key' is incorrect (should be 32 characters)"]),
    ({**fixture_json("pagerduty_resolve.json"), "dedup_key": ""},
     ["'dedup_key' is missing or blank (required to acknowledge or resolve)"]),
    ({**fixture_json("pagerduty_trigger.json"), "event_action": "explode"},
     ["'event_action' is invalid (must be one of: trigger, acknowledge, resolve)"]),
    (_without("source"), ["'payload.source' is missing or blank"]),
])
def test_pagerduty_validation_errors_are_answered_as_pagerduty_does(ingest, firestore, event, errors):
    r = pd(ingest, event)
    assert r.status_code == 400
    assert r.get_json() == {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
    assert dump_firestore(firestore) == {}


def test_pagerduty_malformed_json_is_an_invalid_event(ingest, firestore):
    r = pd(ingest, b"{not json")
    assert r.status_code == 400 and r.get_json()["status"] == "invalid event"


# ---------------------------------------------------------------- end to end

@pytest.mark.parametrize("path,firing,resolved,headers", [
    ("/alertmanager" + TOKEN, "alertmanager_truncated.json", None, JSON),
    ("/grafana" + TOKEN, "grafana_firing.json", "grafana_resolved.json", JSON),
    ("/pagerduty/v2/enqueue", "pagerduty_trigger.json", "pagerduty_resolve.json", JSON),
])
def test_alert_to_incident_to_notification_to_resolve(ingest, api, channels, clock, path, firing, resolved, headers):
    ingest.post(path, data=fixture_bytes(firing), headers=headers)
    if resolved is None:  # the truncated Alertmanager group, resolved
        body = json.loads(fixture_bytes(firing))
        body["status"] = "resolved"
        body["alerts"][0]["status"] = "resolved"
        ingest.post(path, data=json.dumps(body), headers=headers)
    else:
        ingest.post(path, data=fixture_bytes(resolved), headers=headers)
    delivery.wait_idle()
    incidents = api.get("/incidents").get_json()["incidents"]
    assert incidents and all(i["status"] == "resolved" for i in incidents)
    openings = [m for m in channels.prod() if m.get("embeds")]
    closings = [m for m in channels.prod() if m["content"].startswith("✅ RESOLVED")]
    github = list(channels.github.issues.values())
    reached = {m["embeds"][0]["footer"]["text"].split(" ")[0] for m in openings}
    reached |= {label.removeprefix("incident:") for issue in github for label in issue["labels"]
                if label.startswith("incident:")}
    assert {i["id"] for i in incidents} <= reached  # every incident reached its channels
    assert len(closings) == len(openings) and all(i["state"] == "closed" for i in github)
    assert all(m["edits"] for m in openings)  # each original card shows the resolution
