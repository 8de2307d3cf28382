"""SLA due times from the team file's table, in the team's calendar (pure)."""
from __future__ import annotations

import pytest

from shared.config import ConfigError, load_config
from shared.model import Severity
from shared.rules import sla
from tests.teams import variant
from tests.test_routing import at

CFG = load_config()


@pytest.mark.parametrize("severity,opened,respond,resolve", [
    (Severity.CRITICAL, "2026-11-28 02:00:00", "2026-11-28 02:15:00", "2026-11-28 04:00:00"),  # Saturday night
    (Severity.HIGH, "2026-11-24 10:00:00", "2026-11-24 11:00:00", "2026-11-24 18:00:00"),
    (Severity.HIGH, "2026-11-27 20:00:00", "2026-11-30 10:00:00", "2026-11-30 17:00:00"),     # Friday night
    # sprints of 14 days from Mon 2025-12-29: the one holding Nov 24 runs Nov 16-29, its last working day Fri 27
    (Severity.MEDIUM, "2026-11-24 10:00:00", "2026-11-24 14:00:00", "2026-11-27 18:00:00"),
    (Severity.LOW, "2026-11-24 10:00:00", "2026-11-25 18:00:00", "2026-12-11 18:00:00"),      # next sprint's end
    (Severity.LOW, "2026-11-27 17:00:00", "2026-11-30 18:00:00", "2026-12-11 18:00:00"),      # Friday -> Monday
])
def test_due_times(severity, opened, respond, resolve):
    got = sla.due(severity, at(opened), CFG)
    assert (got.respond_by, got.resolve_by) == (at(respond), at(resolve))


def test_sprints_follow_the_configured_start_and_length():
    cfg = variant({"sprint.length_days": 7})
    assert sla.due(Severity.MEDIUM, at("2026-11-24 10:00:00"), cfg).resolve_by == at("2026-11-27 18:00:00")
    assert sla.due(Severity.MEDIUM, at("2026-11-30 10:00:00"), cfg).resolve_by == at("2026-12-04 18:00:00")


def test_bad_sla_terms_are_named():
    with pytest.raises(ConfigError, match="sla.high.respond: expected a duration like 15m"):
        variant({"sla.high.respond": "soon"})
