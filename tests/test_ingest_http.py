"""The ingest function through its real entry point: auth, bad input, limits, replays (real emulator)."""
from __future__ import annotations

import json

import pytest

from tests.conftest import dump_firestore, fixture_bytes, sentry_headers


def test_get_lists_the_sources(ingest):
    r = ingest.get("/")
    assert r.status_code == 200
    names = [s["name"] for s in r.get_json()["sources"]]
    assert names == ["sentry", "sentry-legacy", "uptimerobot", "alertmanager", "grafana", "pagerduty", "github"]


def test_signed_sentry_issue_creates_an_incident(ingest, api):
    body = fixture_bytes("sentry_issue_created.json")
    r = ingest.post("/sentry", data=body, headers=sentry_headers(body, "issue"))
    assert r.status_code == 200
    answer = r.get_json()
    assert answer["status"] == "created" and answer["incident"].startswith("INC-")
    got = api.get(f"/incidents/{answer['incident']}").get_json()
    assert got["title"] == "ReferenceError: blooopy is not defined"
    assert (got["status"], got["severity"], got["occurrences"], got["users_affected"]) == ("open", "medium", 1, 1)


@pytest.mark.parametrize("headers,why", [
    ({}, "missing Sentry-Hook-Signature"),
    ({"Sentry-Hook-Signature": "0" * 64}, "wrong Sentry-Hook-Signature"),
    ({"Sentry-Hook-Signature": "not-hex"}, "wrong Sentry-Hook-Signature"),
    ("other-secret", "wrong Sentry-Hook-Signature"),
])
def test_bad_or_missing_signature_is_401_and_changes_nothing(ingest, firestore, headers, why):
    body = fixture_bytes("sentry_issue_created.json")
    if headers == "other-secret":
        headers = sentry_headers(body, "issue", secret=b"other-secret")
    else:
        signed = sentry_headers(body, "issue")
        signed.pop("Sentry-Hook-Signature")
        headers = {**signed, **headers}
    before = dump_firestore(firestore)
    r = ingest.post("/sentry", data=body, headers=headers)
    assert r.status_code == 401
    assert why in r.get_json()["error"]
    assert "test-sentry-secret" not in r.get_data(as_text=True)
    assert dump_firestore(firestore) == before


def test_signature_covers_the_exact_bytes(ingest, firestore):
    body = fixture_bytes("sentry_issue_created.json")
    headers = sentry_headers(body, "issue")
    reformatted = json.dumps(json.loads(body)).encode()  # same JSON, other bytes
    assert ingest.post("/sentry", data=reformatted, headers=headers).status_code == 401
    assert dump_firestore(firestore) == {}


def test_replayed_request_id_answers_200_and_changes_nothing(ingest, api, firestore):
    body = fixture_bytes("sentry_issue_created.json")
    headers = sentry_headers(body, "issue", request_id="a" * 32)
    first = ingest.post("/sentry", data=body, headers=headers).get_json()
    second_body = fixture_bytes("sentry_error_created.json")
    ingest.post("/sentry", data=second_body, headers=sentry_headers(second_body, "error", request_id="b" * 32))
    state = dump_firestore(firestore)
    for _ in range(3):
        r = ingest.post("/sentry", data=body, headers=headers)
        assert r.status_code == 200
        assert r.get_json() == {"incident": first["incident"], "status": "replayed"}
    assert dump_firestore(firestore) == state
    assert api.get(f"/incidents/{first['incident']}").get_json()["occurrences"] == 2


@pytest.mark.parametrize("path,query,headers", [
    ("/uptimerobot", "", {}),
    ("/uptimerobot", "?token=wrong", {}),
    ("/uptimerobot", "", {"Authorization": "Bearer wrong"}),
    ("/sentry-legacy", "", {}),
    ("/sentry-legacy", "?token=test-ingest-tokenX", {}),
])
def test_missing_or_wrong_token_is_401_and_changes_nothing(ingest, firestore, path, query, headers):
    body = fixture_bytes("uptimerobot_down.json" if "uptime" in path else "sentry_legacy_plugin.json")
    r = ingest.post(path + query, data=body, headers={"Content-Type": "application/json", **headers})
    assert r.status_code == 401
    assert dump_firestore(firestore) == {}


@pytest.mark.parametrize("token_in", ["query", "header", "bearer"])
def test_token_accepted_in_query_or_header(ingest, token_in):
    body = fixture_bytes("uptimerobot_down.json")
    query = "?token=test-ingest-token" if token_in == "query" else ""
    headers = {"Content-Type": "application/json",
               **({"X-Ingest-Token": "test-ingest-token"} if token_in == "header" else {}),
               **({"Authorization": "Bearer test-ingest-token"} if token_in == "bearer" else {})}
    assert ingest.post("/uptimerobot" + query, data=body, headers=headers).get_json()["status"] == "created"


BAD_SENTRY = [
    (b"{not json", "issue", "body is not valid JSON"),
    (b"", "issue", "empty body"),
    (b"[1, 2]", "issue", "expected a JSON object, got list"),
    (b'{"action": "created", "data": {"issue": {"title": "no id"}}}', "issue", "data.issue.id is missing"),
    (b'{"action": "exploded", "data": {"issue": {"id": "1"}}}', "issue", "unknown issue action 'exploded'"),
    (b'{"action": "created", "data": {}}', "issue", "data.issue: expected an object"),
    (b'{"action": "created", "data": "x"}', "issue", "data: expected an object, got str"),
    (b'{"action": "created", "data": {"x": 1}}', "widget", "unknown Sentry-Hook-Resource 'widget'"),
    (b'{"action": "critical", "data": {"metric_alert": {"id": "4"}}}', "metric_alert",
     "needs alert_rule.id and identifier"),
    (b'{"action": "fired", "data": {"metric_alert": {}}}', "metric_alert", "unknown metric_alert action 'fired'"),
    (b'{"action": "triggered", "data": {"event": {"title": "x"}}}', "event_alert", "data.event.issue_id is missing"),
    (b'{"action": "created", "data": {"issue": {"id": "1", "userCount": "many"}}}', "issue",
     "data.issue.userCount: expected a number"),
]


@pytest.mark.parametrize("body,resource,message", BAD_SENTRY, ids=[b[2] for b in BAD_SENTRY])
def test_malformed_sentry_payload_is_400_saying_why_and_changes_nothing(ingest, firestore, body, resource, message):
    r = ingest.post("/sentry", data=body, headers=sentry_headers(body, resource))
    assert r.status_code == 400
    assert message in r.get_json()["error"]
    assert dump_firestore(firestore) == {}


BAD_UPTIME = [
    ('{"monitorID": "1", "alertType": "9"}', "application/json", "alertType '9' is not one of"),
    ('{"monitorID": "1"}', "application/json", "alertType is missing"),
    ('{"alertType": "1"}', "application/json", "does not say which monitor"),
    ('{"monitorID": "1", "alertType": "1", "alertDuration": "long"}', "application/json",
     "alertDuration: expected a number"),
    ("<xml/>", "application/xml", "cannot read a body of type 'application/xml'"),
    ("{broken", "application/json", "body is not valid JSON"),
]


@pytest.mark.parametrize("body,ctype,message", BAD_UPTIME, ids=[b[2] for b in BAD_UPTIME])
def test_malformed_uptimerobot_payload_is_400_and_changes_nothing(ingest, firestore, body, ctype, message):
    r = ingest.post("/uptimerobot?token=test-ingest-token", data=body, headers={"Content-Type": ctype})
    assert r.status_code == 400
    assert message in r.get_json()["error"]
    assert dump_firestore(firestore) == {}


def test_body_over_one_mib_is_413_and_changes_nothing(ingest, firestore):
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    r = ingest.post("/sentry", data=body, headers=sentry_headers(body, "issue"))
    assert r.status_code == 413
    assert dump_firestore(firestore) == {}


def test_body_of_exactly_one_mib_is_not_413(ingest):
    pad = 1024 * 1024 - len(b'{"monitorID": "1", "alertType": "1", "pad": ""}')
    body = b'{"monitorID": "1", "alertType": "1", "pad": "' + b"x" * pad + b'"}'
    assert len(body) == 1024 * 1024
    r = ingest.post("/uptimerobot?token=test-ingest-token", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200


@pytest.mark.parametrize("method,path,allow", [
    ("GET", "/sentry", "POST"), ("PUT", "/uptimerobot", "POST, GET"), ("DELETE", "/sentry", "POST"),
    ("POST", "/", "GET, HEAD"), ("PATCH", "/", "GET, HEAD"),
])
def test_wrong_method_is_405_and_changes_nothing(ingest, firestore, method, path, allow):
    r = ingest.open(path, method=method, data=b"{}")
    assert r.status_code == 405
    assert r.headers["Allow"] == allow
    assert dump_firestore(firestore) == {}


def test_unknown_source_is_404(ingest):
    r = ingest.post("/nagios", data=b"{}")
    assert r.status_code == 404
    assert "known: sentry, sentry-legacy, uptimerobot, alertmanager, grafana, pagerduty" in r.get_json()["error"]


@pytest.mark.parametrize("resource", ["installation", "comment", "seer", "preprod_artifact"])
def test_sentry_resources_that_are_no_alert_are_acknowledged_and_ignored(ingest, firestore, resource):
    body = json.dumps({"action": "created", "data": {"installation": {"uuid": "abc"}},
                       "installation": {"uuid": "abc"}}).encode()
    r = ingest.post("/sentry", data=body, headers=sentry_headers(body, resource))
    assert (r.status_code, r.get_json()) == (200, {"incident": None, "status": "ignored"})
    assert dump_firestore(firestore) == {}


def test_hostile_shapes_are_400_or_stored_safely_never_500(ingest, api, firestore):
    deep = b'{"action": "created", "data": ' + b'[' * 100000 + b']' * 100000 + b'}'
    r = ingest.post("/sentry", data=deep, headers=sentry_headers(deep, "issue"))
    assert r.status_code == 400 and "nested too deeply" in r.get_json()["error"]
    assert dump_firestore(firestore) == {}

    event = json.loads(fixture_bytes("sentry_error_created.json"))
    event["actor"] = "not an object"
    event["data"]["error"]["tags"] = [["", "empty"], ["__name__", "reserved"], ["a.b/c", "x" * 5000], "junk", [1]]
    body = json.dumps(event).encode()
    r = ingest.post("/sentry", data=body, headers=sentry_headers(body, "error", request_id="../../x/__y__"))
    assert r.status_code == 200, r.get_data(as_text=True)
    got = api.get(f"/incidents/{r.get_json()['incident']}").get_json()
    assert got["timeline"][0]["actor"] == "Sentry"
    replay = ingest.post("/sentry", data=body, headers=sentry_headers(body, "error", request_id="../../x/__y__"))
    assert replay.get_json()["status"] == "replayed"
    assert api.get(f"/incidents/{got['id']}").get_json()["occurrences"] == 1


def test_uptimerobot_body_without_a_json_content_type_is_still_read(ingest):
    body = b'{"monitorID": "77", "alertType": "1"}'
    r = ingest.post("/uptimerobot?token=test-ingest-token", data=body, headers={"Content-Type": "text/plain"})
    assert r.get_json()["status"] == "created"
    r = ingest.post("/uptimerobot?token=test-ingest-token", data=b"monitorID=78&alertType=1")
    assert r.get_json()["status"] == "created"


def test_an_uptimerobot_contact_without_a_post_value_calls_with_get_and_its_query_is_read(ingest, api, firestore):
    query = "?token=test-ingest-token&monitorID=91&monitorURL=https%3A%2F%2Fpetties.world&alertType=1" \
            "&alertDetails=Connection%20Timeout&alertFriendlyDuration=*alertFriendlyDuration*"
    r = ingest.get("/uptimerobot" + query)
    assert (r.status_code, r.get_json()["status"]) == (200, "created")
    incident = api.get(f"/incidents/{r.get_json()['incident']}").get_json()
    assert incident["service"] == "petties-web"
    assert incident["title"] == "https://petties.world is down: Connection Timeout"
    assert ingest.get("/uptimerobot" + query.replace("alertType=1", "alertType=2")).get_json()["status"] == "resolved"
    before = dump_firestore(firestore)
    assert ingest.get("/uptimerobot?monitorID=91&alertType=1").status_code == 401   # no token: nothing stored
    assert ingest.get("/uptimerobot?token=test-ingest-token").status_code == 400   # no fields
    assert dump_firestore(firestore) == before


def test_an_uptimerobot_monitor_is_the_teams_service_by_its_url_else_shown_by_its_friendly_name(ingest, api):
    def service(monitor_id: str, url: str, name: str) -> str:
        body = json.dumps({"monitorID": monitor_id, "monitorURL": url, "monitorFriendlyName": name, "alertType": "1"})
        r = ingest.post("/uptimerobot?token=test-ingest-token", data=body, headers={"Content-Type": "application/json"})
        return api.get(f"/incidents/{r.get_json()['incident']}").get_json()["service"]
    assert service("81", "https://api.petties.world/health", "Backend Health") == "petties-backend"   # the team file's
    assert service("82", "https://blog.petties.world/", "Petties blog") == "Petties blog"   # was its URL
    assert service("83", "https://shop.petties.world/", "") == "https://shop.petties.world/"


def test_odd_incident_ids_are_404(api):
    for typed in ("INC-" + "A" * 2000, "..", "__x__", "INC-", "INC-ZZZZZZ"):
        assert api.get(f"/incidents/{typed}").status_code == 404, typed
