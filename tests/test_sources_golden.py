"""Each vendor payload parses into the expected alert (golden files in tests/golden/).

Regenerate after an intended change with UPDATE_GOLDEN=1 ./deploy.sh test -k golden (that run writes and
skips), review the diff, then run again without.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.sources import REGISTRY
from shared.sources.common import InboundRequest
from tests.conftest import fixture_bytes
from tests.golden_files import golden

GOLDEN = Path(__file__).parent / "golden"

CASES = [
    # fixture, source, headers
    ("sentry_issue_created.json", "sentry", {"sentry-hook-resource": "issue"}),
    ("sentry_issue_resolved.json", "sentry", {"sentry-hook-resource": "issue"}),
    ("sentry_issue_assigned.json", "sentry", {"sentry-hook-resource": "issue"}),
    ("sentry_issue_ignored.json", "sentry", {"sentry-hook-resource": "issue"}),
    ("sentry_issue_unresolved.json", "sentry", {"sentry-hook-resource": "issue"}),
    ("sentry_event_alert_triggered.json", "sentry", {"sentry-hook-resource": "event_alert"}),
    ("sentry_error_created.json", "sentry", {"sentry-hook-resource": "error"}),
    ("sentry_metric_alert_critical.json", "sentry", {"sentry-hook-resource": "metric_alert"}),
    ("sentry_metric_alert_resolved.json", "sentry", {"sentry-hook-resource": "metric_alert"}),
    ("sentry_legacy_plugin.json", "sentry-legacy", {"content-type": "application/json"}),
    ("uptimerobot_down.json", "uptimerobot", {"content-type": "application/json"}),
    ("uptimerobot_down_snake_case.json", "uptimerobot", {"content-type": "application/json"}),
    ("uptimerobot_up.json", "uptimerobot", {"content-type": "application/json"}),
    ("uptimerobot_ssl.json", "uptimerobot", {"content-type": "application/json"}),
    ("alertmanager_firing.json", "alertmanager", {"content-type": "application/json"}),
    ("alertmanager_resolved.json", "alertmanager", {"content-type": "application/json"}),
    ("alertmanager_truncated.json", "alertmanager", {"content-type": "application/json"}),
    ("grafana_firing.json", "grafana", {"content-type": "application/json"}),
    ("grafana_resolved.json", "grafana", {"content-type": "application/json"}),
    ("pagerduty_trigger.json", "pagerduty", {"content-type": "application/json"}),
    ("pagerduty_acknowledge.json", "pagerduty", {"content-type": "application/json"}),
    ("pagerduty_resolve.json", "pagerduty", {"content-type": "application/json"}),
]


@pytest.mark.parametrize("fixture,source,headers", CASES, ids=[c[0] for c in CASES])
def test_payload_parses_to_golden_alert(fixture, source, headers):
    alerts = REGISTRY[source].parse(InboundRequest(fixture_bytes(fixture), headers))
    got = [a.golden() for a in alerts]
    text = json.dumps(got, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    assert got == json.loads(golden(GOLDEN / fixture.replace(".json", ".alert.json"), text))


def test_every_golden_alert_file_belongs_to_a_case():
    assert sorted(p.name for p in GOLDEN.glob("*.alert.json")) == sorted(c[0].replace(".json", ".alert.json")
                                                                        for c in CASES)


def test_sentry_resource_is_inferred_when_the_header_is_missing():
    alerts = REGISTRY["sentry"].parse(InboundRequest(fixture_bytes("sentry_metric_alert_critical.json"), {}))
    assert alerts[0].dedup_key == "sentry-metric:7:1"


def test_installation_and_comment_are_acknowledged_without_alerts():
    body = json.dumps({"action": "created", "data": {"installation": {"uuid": "x"}}}).encode()
    assert REGISTRY["sentry"].parse(InboundRequest(body, {"sentry-hook-resource": "installation"})) == []
    assert REGISTRY["sentry"].parse(InboundRequest(body, {"sentry-hook-resource": "comment"})) == []


def test_every_sentry_resource_about_one_issue_shares_its_dedup_key():
    keys = {REGISTRY["sentry"].parse(InboundRequest(fixture_bytes(f), {"sentry-hook-resource": r}))[0].dedup_key
            for f, r in [("sentry_issue_created.json", "issue"), ("sentry_error_created.json", "error"),
                         ("sentry_issue_resolved.json", "issue")]}
    legacy = REGISTRY["sentry-legacy"].parse(InboundRequest(fixture_bytes("sentry_legacy_plugin.json")))[0]
    assert keys == {"sentry:1170820242"} == {legacy.dedup_key}
