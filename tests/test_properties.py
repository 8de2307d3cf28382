"""Property: whatever JSON value sits in whatever field of a real vendor payload, every source answers 2xx or 4xx,
never 5xx, and a 4xx stores nothing. Hypothesis picks the field and the value and shrinks any failure to the
smallest payload that shows it. Each example starts from the same state (the unchanged payload already ingested),
so an example shrunk or replayed alone behaves as it did in the run."""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.notify import delivery
from tests.conftest import dump_firestore, examples, fixture_json, sentry_headers, wipe_firestore
from tests.test_standard_sources import grafana_signature

TOKEN = "?token=test-ingest-token"

# (fixture, path, how to sign): one real payload per parser and payload shape
CASES = [
    ("sentry_issue_created.json", "/sentry", "issue"),
    ("sentry_issue_resolved.json", "/sentry", "issue"),
    ("sentry_event_alert_triggered.json", "/sentry", "event_alert"),
    ("sentry_error_created.json", "/sentry", "error"),
    ("sentry_metric_alert_critical.json", "/sentry", "metric_alert"),
    ("sentry_legacy_plugin.json", "/sentry-legacy" + TOKEN, None),
    ("uptimerobot_down.json", "/uptimerobot" + TOKEN, None),
    ("uptimerobot_up.json", "/uptimerobot" + TOKEN, None),
    ("uptimerobot_ssl.json", "/uptimerobot" + TOKEN, None),
    ("alertmanager_firing.json", "/alertmanager" + TOKEN, None),
    ("grafana_firing.json", "/grafana", "grafana"),
    ("pagerduty_trigger.json", "/pagerduty/v2/enqueue", None),
]

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=30) | st.sampled_from(["", " ", "inf", "-1", "1e400", "9999-12-31T23:59:59-14:00",
                                                     "0001-01-01", "\ud800", "x" * 3000, str(2 ** 64)]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)


def paths(value, prefix=()) -> list[tuple]:
    """Return the path of every node under value (object keys and list indexes), the root excluded."""
    out = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        out.append((*prefix, key))
        out += paths(child, (*prefix, key))
    return out


def replaced(payload: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(payload)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def headers(body: bytes, signing: str | None) -> dict:
    if signing == "grafana":
        return {"Content-Type": "application/json", "X-Grafana-Alerting-Signature": grafana_signature(body)}
    if signing:
        return sentry_headers(body, signing)
    return {"Content-Type": "application/json"}


@pytest.mark.slow
@pytest.mark.parametrize(("fixture", "path", "signing"), CASES, ids=[c[0].removesuffix(".json") for c in CASES])
def test_any_json_value_in_any_field_is_answered_2xx_or_4xx(ingest, firestore, fixture, path, signing):
    base = fixture_json(fixture)
    where = paths(base)
    unchanged = json.dumps(base).encode()   # the problem as the vendor first reported it

    def seeded() -> dict:
        """Start again from the state the unchanged payload leaves; return it."""
        wipe_firestore()
        assert ingest.post(path, data=unchanged, headers=headers(unchanged, signing)).status_code < 300
        delivery.wait_idle()   # its notifications are out (they finish after the answer): a still database
        return dump_firestore(firestore)
    state = {"before": seeded()}

    @settings(max_examples=examples(15), deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.sampled_from(where), json_values, st.booleans())
    def check(field, value, add_sibling):
        payload = replaced(base, field, value)
        if add_sibling:  # an extra field a newer payload version might carry, next to the changed one
            payload = replaced(payload, (*field[:-1], "extra_field"), value) if isinstance(field[-1], str) else payload
        body = json.dumps(payload).encode()
        r = ingest.post(path, data=body, headers=headers(body, signing))
        assert r.status_code < 500, (field, value, r.get_data(as_text=True)[:300])
        delivery.wait_idle()
        if 400 <= r.status_code < 500:
            answer = r.get_json()   # {"error"}, or PagerDuty's own {"status", "message", "errors"}
            assert answer.get("error") or answer.get("errors"), r.get_data(as_text=True)[:300]
            assert dump_firestore(firestore) == state["before"], (field, value)
        else:   # it may have changed the state: the next example starts from the seeded state again
            state["before"] = seeded()

    check()
