"""Mutated vendor payloads: every answer is 200 or 400 (never a 500), and 400s change nothing (each mutation is sent
to the state the unchanged payload left, so it meets an incident it may touch)."""
from __future__ import annotations

import copy
import json
import random

import pytest

from shared.notify import delivery
from tests.conftest import dump_firestore, examples, fixture_json, sentry_headers, wipe_firestore

ODD_VALUES = [None, True, False, 0, -1, 2**63, 1.5e308, "", " ", "*monitorID*", "x" * 5000, "\u0000\ud800"[:1],
              "💥", [], {}, [[]], {"": ""}, {"__name__": 1}, ["a", 1, None], "null", "NaN", -0.0]


def mutate(value, rng: random.Random, depth=0):
    """Return a copy of a JSON value with one random node replaced, removed or retyped."""
    if isinstance(value, dict) and value and depth < 6 and rng.random() < 0.8:
        out = dict(value)
        key = rng.choice(list(out))
        choice = rng.random()
        if choice < 0.2:
            del out[key]
        elif choice < 0.4:
            out[key] = rng.choice(ODD_VALUES)
        else:
            out[key] = mutate(out[key], rng, depth + 1)
        return out
    if isinstance(value, list) and value and depth < 6 and rng.random() < 0.8:
        out = list(value)
        i = rng.randrange(len(out))
        out[i] = mutate(out[i], rng, depth + 1)
        return out
    return rng.choice(ODD_VALUES)


SOURCES = [
    ("sentry_issue_created.json", "issue"), ("sentry_issue_resolved.json", "issue"),
    ("sentry_event_alert_triggered.json", "event_alert"), ("sentry_error_created.json", "error"),
    ("sentry_metric_alert_critical.json", "metric_alert"),
]


@pytest.mark.slow
@pytest.mark.parametrize("fixture,resource", SOURCES)
def test_mutated_sentry_payloads_never_500(ingest, firestore, fixture, resource):
    rng = random.Random(fixture)
    base = fixture_json(fixture)
    unchanged = json.dumps(base).encode()

    def seeded() -> dict:
        """Start again from the state the unchanged payload leaves (its notifications sent); return it."""
        wipe_firestore()
        assert ingest.post("/sentry", data=unchanged, headers=sentry_headers(unchanged, resource)).status_code == 200
        delivery.wait_idle()
        return dump_firestore(firestore)
    before = seeded()
    for _ in range(examples(24)):
        payload = mutate(copy.deepcopy(base), rng)
        body = json.dumps(payload).encode()
        r = ingest.post("/sentry", data=body, headers=sentry_headers(body, resource))
        assert r.status_code in (200, 400), (payload, r.get_data(as_text=True))
        if r.status_code == 400:
            assert r.get_json()["error"]
            assert dump_firestore(firestore) == before
        else:
            before = seeded()


@pytest.mark.parametrize("fixture,path", [("uptimerobot_down.json", "/uptimerobot"),
                                          ("uptimerobot_up.json", "/uptimerobot"),
                                          ("sentry_legacy_plugin.json", "/sentry-legacy")])
def test_mutated_token_source_payloads_never_500(ingest, firestore, fixture, path):
    rng = random.Random(fixture)
    base = fixture_json(fixture)
    for _ in range(examples(24)):
        payload = mutate(copy.deepcopy(base), rng)
        r = ingest.post(path + "?token=test-ingest-token", data=json.dumps(payload),
                        headers={"Content-Type": "application/json"})
        assert r.status_code in (200, 400), (payload, r.get_data(as_text=True))
