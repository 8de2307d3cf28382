"""Severity rules: table-driven, each classification with its reason (pure, no I/O)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from shared.config import load_config
from shared.model import Action, Alert, Severity
from shared.rules.severity import Facts, classify

CFG = load_config()


def alert(level="error", table="sentry", title="", message="", source="sentry", tags=None):
    return Alert(source=source, action=Action.TRIGGER, dedup_key="k", title=title, message=message,
                 level=level, level_table=table, tags=tags or {})


CASES = [
    # id, alert, environment, occurrences, users, minutes open, expected severity, expected reason
    ("sentry error", alert(), "production", 1, 1, 0, Severity.MEDIUM, "sentry level 'error'"),
    ("sentry fatal", alert("fatal"), "production", 1, 0, 0, Severity.CRITICAL, "sentry level 'fatal'"),
    ("sentry warning", alert("warning"), "production", 1, 0, 0, Severity.LOW, "sentry level 'warning'"),
    ("unknown level uses default", alert("weird"), "production", 1, 0, 0, Severity.MEDIUM,
     "sentry level 'weird' is not in the table"),
    ("database down keyword", alert(title="HikariPool: Connection pool exhausted"), "production", 1, 0, 0,
     Severity.CRITICAL, "rule 'database-unavailable': mentions 'connection pool exhausted'"),
    ("payment keyword", alert("warning", message="Payment gateway returned 503"), "production", 1, 0, 0,
     Severity.CRITICAL, "rule 'payment-down': mentions 'payment gateway'"),
    ("booking broken at error level", alert(title="BookingCreationException"), "production", 1, 0, 0,
     Severity.HIGH, "rule 'major-feature-broken': mentions 'booking', level error"),
    ("booking at warning level is not high", alert("warning", title="Booking form slow to render"), "production",
     1, 0, 0, Severity.MEDIUM, "rule 'slow-responses': mentions 'slow'"),
    ("many users", alert(), "production", 3, 150, 30, Severity.HIGH,
     "rule 'many-users': 150 users affected >= 100"),
    ("99 users is not many", alert(), "production", 3, 99, 30, Severity.MEDIUM, "sentry level 'error'"),
    ("error rate", alert(), "production", 40, 2, 2, Severity.HIGH, "rule 'error-rate': 20.0 events/min >= 10"),
    ("rate uses at least one minute", alert(), "production", 9, 2, 0.1, Severity.MEDIUM, "sentry level 'error'"),
    ("recurring warning", alert("warning"), "production", 50, 0, 600, Severity.MEDIUM,
     "rule 'recurring': 50 occurrences >= 50"),
    ("production monitor down", alert("down", "uptimerobot", source="uptimerobot"), "production", 1, 0, 0,
     Severity.CRITICAL, "uptimerobot level 'down'"),
    ("staging monitor down is capped", alert("down", "uptimerobot", source="uptimerobot"), "staging", 1, 0, 0,
     Severity.MEDIUM, "uptimerobot level 'down'; capped at medium in staging"),
    ("ssl expiry", alert("ssl_expiry", "uptimerobot", source="uptimerobot"), "production", 1, 0, 0,
     Severity.MEDIUM, "uptimerobot level 'ssl_expiry'"),
    ("metric critical", alert("critical", "sentry_metric"), "production", 1, 0, 0, Severity.CRITICAL,
     "sentry_metric level 'critical'"),
    ("metric warning", alert("warning", "sentry_metric"), "production", 1, 0, 0, Severity.MEDIUM,
     "sentry_metric level 'warning'"),
]


@pytest.mark.parametrize("a,env,occ,users,minutes,want,reason", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify(a, env, occ, users, minutes, want, reason):
    got = classify(Facts(a, "petties-backend", env, occ, users, minutes), CFG)
    assert (got.severity, got.reason) == (want, reason)


def test_tag_service_and_environment_conditions():
    from shared.config import SeverityRule
    cfg = replace(CFG, severity=replace(CFG.severity, rules=[
        SeverityRule(name="vip", severity="high", tags={"customer": "vip"}, services=["petties-backend"],
                     environments=["production"])]))
    vip = alert("info", tags={"customer": "vip"})
    assert classify(Facts(vip, "petties-backend", "production"), cfg).reason == \
        "rule 'vip': service petties-backend, environment production, tag customer=vip"
    assert classify(Facts(vip, "petties-web", "production"), cfg).severity is Severity.LOW
    assert classify(Facts(alert("info"), "petties-backend", "production"), cfg).severity is Severity.LOW
