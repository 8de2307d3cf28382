"""Property: whatever JSON value sits in whatever field of any JSON body the API takes (plus a field it does not
know), the answer is 2xx or 4xx, never 5xx, and a 4xx stores nothing. Hypothesis picks the route, the field and the
value, and shrinks a failure to the smallest body that shows it. Each example starts from the same state: an open
incident, a resolved Critical with its postmortem and one action item, a silence (seeded again after a 2xx)."""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.notify import delivery
from tests.conftest import dump_firestore, examples, restore_firestore, wipe_firestore
from tests.notify_fixtures import local, sentry_alert, sweep
from tests.test_interactions import TEAM
from tests.test_properties import json_values, paths, replaced

TUESDAY = local("2026-11-24 10:00:00")   # business hours; Dev D is on call, Dev A leads
# values that broke an API before (half of the examples draw from these, half from any JSON value)
HOSTILE = st.sampled_from(["\ud800", "a\udfffb", "x" * 6000, "9" * 5000, "99999999999999999999d", "999999999d",
                           -1, 0, 10 ** 30, 1e308, -1e308, True, None, [], {}, "", " ", "\u200b", "\x00",
                           "2026-02-30", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", ["\ud800"],
                           {"\ud800": "x"}, "~(a+)+$", "~", "*"])

# (method, path with {open}, {resolved} or {silence}, a body the route accepts)
BODIES = [
    ("POST", "/incidents/{open}/ack", {"actor": "dev-d"}),
    ("POST", "/incidents/{open}/investigating", {"actor": "dev-d", "detail": "looking at the pool"}),
    ("POST", "/incidents/{open}/resolve", {"actor": "dev-d", "detail": "restarted"}),
    ("POST", "/incidents/{open}/invalid", {"actor": "dev-d", "detail": "cannot reproduce"}),
    ("POST", "/incidents/{open}/severity", {"actor": "dev-a", "severity": "high", "reason": "many users"}),
    ("POST", "/incidents/{open}/note", {"actor": "dev-b", "text": "the queue is backing up"}),
    ("POST", "/incidents/{open}/flag", {"actor": "dev-b", "flag": "security"}),
    ("POST", "/incidents/{open}/status-updates",
     {"status": "investigating", "title": "Checkout trouble", "message": "Some payments fail.", "impact": "1 in 10",
      "eta": "within the hour", "next_update_minutes": 30, "component_status": "partial_outage", "by": "dev-d",
      "id": "update-1"}),
    ("POST", "/oncall/overrides", {"covering": "dev-b", "for": "dev-d", "start": "2026-11-25T09:00",
                                   "end": "2026-11-25T18:00", "actor": "dev-a", "note": "swap"}),
    ("POST", "/silences", {"actor": "dev-a", "matchers": {"service": "petties-*", "title": "~(?i)timeout"},
                           "start": "2026-11-24T10:00", "duration": "1h", "comment": "deploy v2.3",
                           "include_critical": False}),
    ("DELETE", "/silences/{silence}", {"actor": "dev-a"}),
    ("POST", "/handoff/notes", {"actor": "dev-d", "text": "watch the booking queue"}),
    ("PUT", "/postmortems/{resolved}", {"summary": "Checkout was down.", "root_cause": "A full pool.",
                                       "resolution": "Restarted.", "prevention": "Alert on the pool.",
                                       "author": "Dev D", "went_well": ["fast ack"], "went_wrong": ["slow fix"],
                                       "lucky": ["quiet hour"]}),
    ("POST", "/postmortems/{resolved}/action-items", {"action": "Alert on the pool", "owner": "dev-b",
                                                     "deadline": "2026-12-01"}),
    ("PATCH", "/postmortems/{resolved}/action-items/1", {"done": True, "owner": "dev-c", "deadline": "2026-12-02"}),
    ("POST", "/postmortems/{resolved}/reviewed", {"actor": "dev-a"}),
]


@pytest.fixture
def team(use_team):
    """The team with the Discord ids the interactions below are sent from."""
    use_team(TEAM)
    return TEAM


def _seed(ingest, api, escalate, monkeypatch) -> dict:
    """The state every example starts from; return the ids the paths name."""
    wipe_firestore()
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "9901", "Connection pool exhausted")["incident"]
    resolved = sentry_alert(ingest, monkeypatch, TUESDAY, "9902", "Checkout down", level="fatal")["incident"]
    assert api.post(f"/incidents/{resolved}/resolve", json={"actor": "dev-d"}).status_code == 200
    sweep(escalate, local("2026-11-24 10:05:00"))   # drafts the postmortem
    item = {"action": "Add a pool alert", "owner": "dev-b", "deadline": "2026-12-01"}
    assert api.post(f"/postmortems/{resolved}/action-items", json=item).status_code == 201
    silence = api.post("/silences", json={"actor": "dev-a", "matchers": {"service": "ai-service"},
                                          "duration": "2h", "comment": "planned"}).get_json()["id"]
    delivery.wait_idle()
    return {"open": opened, "resolved": resolved, "silence": silence}


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path", "body"), BODIES, ids=[f"{m} {p}" for m, p, _ in BODIES])
def test_any_json_value_in_any_field_of_an_api_body_is_answered_2xx_or_4xx(ingest, api, escalate, channels,
                                                                           firestore, monkeypatch, method, path,
                                                                           body):
    where = paths(body) + [("unknown_field",)]
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 10:00:00"))
    ids = _seed(ingest, api, escalate, monkeypatch)
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 10:05:00"))
    before = dump_firestore(firestore)
    url = path.format(**ids)

    @settings(max_examples=examples(8), deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.sampled_from(where), HOSTILE | json_values, st.booleans())
    def check(field, value, add_sibling):
        sent = replaced(body, field, value) if field != ("unknown_field",) else {**copy.deepcopy(body), "x": value}
        if add_sibling and isinstance(field[-1], str) and len(field) > 1:
            sent = replaced(sent, (*field[:-1], "extra_field"), value)
        r = api.open(url, method=method, data=json.dumps(sent), content_type="application/json")
        assert r.status_code < 500, (field, value, r.get_data(as_text=True)[:300])
        delivery.wait_idle()
        if 400 <= r.status_code < 500:
            assert r.get_json().get("error"), r.get_data(as_text=True)[:300]
            assert dump_firestore(firestore) == before, (field, value, r.get_json())
        else:   # it changed the state: the next example starts from the seeded one again
            restore_firestore(firestore, before)

    check()


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_an_id_in_the_path_that_is_no_id_is_a_404_not_a_500(api, firestore, method):
    """Hardening 2, finding 5: PATCH .../action-items/<5,000 digits> answered 500 (int() of 5,000 digits)."""
    for path in (f"/postmortems/INC-AAAAAA/action-items/{'9' * 5000}", "/postmortems/INC-AAAAAA/action-items/0",
                 f"/postmortems/{'9' * 5000}/action-items/1", f"/incidents/{'9' * 5000}/ack",
                 "/postmortems/INC-AAAAAA/action-items/١"):
        r = api.open(path, method=method, json={"done": True, "actor": "dev-a"})
        assert r.status_code in (404, 405), (path[:60], r.status_code, r.get_data(as_text=True)[:200])
    assert dump_firestore(firestore) == {}


# ---------------------------------------------------------------- Discord: every option and field of an interaction

def _interactions(ids: dict) -> list[dict]:
    from tests.test_interactions import click, command, interaction
    return [
        click("ack", ids["open"]),
        command("incident", "note", id=ids["open"], text="the queue is backing up"),
        command("incident", "severity", id=ids["open"], level="high"),
        command("silence", "add", service="petties-backend", duration="30m", comment="deploy", severity="high"),
        command("silence", "end", id=ids["silence"]),
        command("status-update", None, incident=ids["open"], status="identified", message="A fix is coming.",
                title="Checkout trouble", every="30", component="partial_outage"),
        command("postmortem", "action", id=ids["resolved"], action="Alert on the pool", owner="dev-b",
                deadline="2026-12-01"),
        command("postmortem", "done", id=ids["resolved"], n="1"),
        command("oncall", "override", member="dev-b", start="2026-11-25 09:00", end="2026-11-25 18:00"),
        interaction(4, {"type": 1, "name": "incident", "options": [{"type": 1, "name": "ack", "options": [
            {"type": 3, "name": "id", "value": "INC", "focused": True}]}]}),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("which", range(10))
def test_any_json_value_in_any_field_of_an_interaction_is_never_a_5xx(ingest, api, escalate, interactions, channels,
                                                                      firestore, monkeypatch, team, which):
    """Hardening 2, finding 5: a signed interaction with "member": "abc", or /silence add duration:
    99999999999999999999d, answered 500."""
    from tests.test_interactions import send
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 10:00:00"))
    ids = _seed(ingest, api, escalate, monkeypatch)
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 10:05:00"))
    before = dump_firestore(firestore)
    base = _interactions(ids)[which]

    @settings(max_examples=examples(6), deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.sampled_from(paths(base)) | st.sampled_from([(key,) for key in base]), HOSTILE | json_values)
    def check(field, value):
        sent = replaced(base, field, value)
        sent["id"] = str(int(base["id"]) + hash((field, json.dumps(value))) % 10 ** 6)   # each a new delivery
        r = send(interactions, sent)
        assert r.status_code < 500, (field, value, r.get_data(as_text=True)[:300])
        if r.status_code < 300:
            assert r.get_json()["type"] in (1, 4, 7, 8), r.get_json()
        delivery.wait_idle()
        if dump_firestore(firestore) != before:
            restore_firestore(firestore, before)

    check()


@pytest.mark.parametrize(("change", "said"), [
    (lambda i: i.update(member="abc"), "expected"),
    (lambda i: i.update(member={"user": "abc"}), "expected"),
    (lambda i: i["data"]["options"][0]["options"].__setitem__(1, {"type": 3, "name": "duration",
                                                                  "value": "99999999999999999999d"}), "duration"),
    (lambda i: i["data"]["options"][0]["options"].__setitem__(1, {"type": 3, "name": "duration",
                                                                  "value": "999999999d"}), "duration"),
])
def test_a_hostile_interaction_is_refused_in_words(interactions, firestore, monkeypatch, team, change, said):
    from tests.test_interactions import command, send
    monkeypatch.setattr("shared.web.http.now", lambda: local("2026-11-24 10:05:00"))
    sent = command("silence", "add", service="petties-backend", duration="30m", comment="deploy")
    change(sent)
    r = send(interactions, sent)
    assert r.status_code in (200, 400), r.get_data(as_text=True)[:300]
    answer = r.get_json()
    text = answer.get("error") or answer["data"]["content"]
    assert said in text, answer
    assert dump_firestore(firestore) == {}
