"""The incidents API: bearer auth, the JSON contract, filters."""
from __future__ import annotations

import pytest

from shared.rules import ids
from tests.conftest import fixture_bytes, sentry_headers

FIELDS = {"id", "title", "status", "severity", "severity_reason", "service", "environment", "occurrences",
          "users_affected", "created_at", "timeline"}


@pytest.fixture
def incident(ingest):
    body = fixture_bytes("sentry_issue_created.json")
    return ingest.post("/sentry", data=body, headers=sentry_headers(body, "issue")).get_json()["incident"]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic dGVzdA==", "test-api-token", "Bearer "])
def test_api_needs_the_bearer_token(api_app, firestore, authorization):
    client = api_app.test_client()
    headers = {"Authorization": authorization} if authorization else {}
    r = client.get("/incidents", headers=headers)
    assert r.status_code == 401
    assert "test-api-token" not in r.get_data(as_text=True)


def test_incident_json_contract(api, incident):
    got = api.get(f"/incidents/{incident}").get_json()
    assert set(got) >= FIELDS
    assert got["id"] == incident
    assert got["severity"] in {"critical", "high", "medium", "low"}
    assert got["created_at"].endswith("Z")
    assert set(got["timeline"][0]) == {"at", "actor", "action", "detail"}


def test_ids_are_short_typeable_and_case_insensitive(api, incident):
    assert len(incident) == len("INC-") + 6
    assert set(incident[4:]) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    assert api.get(f"/incidents/{incident.lower()}").get_json()["id"] == incident
    assert api.get(f"/incidents/{incident[4:]}").get_json()["id"] == incident
    assert ids.normalize("inc-o1l") == "INC-011"


def test_list_filters_by_status(api, incident, ingest):
    assert [i["id"] for i in api.get("/incidents?status=open").get_json()["incidents"]] == [incident]
    assert api.get("/incidents?status=resolved").get_json() == {"incidents": [], "count": 0}
    assert api.get("/incidents?status=active").get_json()["count"] == 1
    assert api.get("/incidents?status=open,resolved&limit=1").get_json()["count"] == 1


@pytest.mark.parametrize("query,message", [
    ("status=opened", "unknown status 'opened'"),
    ("limit=abc", "limit must be a whole number"),
    ("limit=0", "limit must be between 1 and 500"),
    ("limit=501", "limit must be between 1 and 500"),
])
def test_bad_query_is_400(api, query, message):
    r = api.get(f"/incidents?{query}")
    assert r.status_code == 400
    assert message in r.get_json()["error"]


def test_unknown_incident_and_path_are_404_and_writes_are_405(api, incident):
    assert api.get("/incidents/INC-ZZZZZZ").status_code == 404
    assert api.get("/nothing").status_code == 404
    r = api.post("/incidents")
    assert (r.status_code, r.headers["Allow"]) == (405, "GET, HEAD")
