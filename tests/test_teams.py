"""The team-variant helper: changes apply by path, and a path that names nothing fails loudly."""
from __future__ import annotations

import datetime

import pytest

from shared.config import ConfigError, load_config
from tests.teams import TeamPathError, team_data, variant


def test_no_change_is_the_petties_team():
    assert variant() == load_config()


def test_changes_by_dotted_path_list_item_id_name_and_index():
    cfg = variant({"team.holidays": ["2026-11-30"], "escalation.repeat_every": "10m",
                   "people.devops.email": "ops@petties.world", "services.ai-service.url": "https://ai.example",
                   "severity.rules.payment-down.severity": "high",
                   "notifications.routes.1.channels.0.mention": ["team-lead"]})
    assert cfg.team.holidays == [datetime.date(2026, 11, 30)] and cfg.escalation.repeat_every == "10m"
    assert cfg.person("devops").email == "ops@petties.world"
    assert next(s for s in cfg.services if s.name == "ai-service").url == "https://ai.example"
    assert next(r for r in cfg.severity.rules if r.name == "payment-down").severity == "high"
    assert cfg.notifications.routes[1].channels[0].mention == ["team-lead"]
    assert team_data()["people"][4] == {"id": "devops", "name": "DevOps", "role": "devops"}  # a fresh copy each time


def test_edit_works_on_the_data():
    cfg = variant(edit=lambda data: data["stakeholders"].append("devops"))
    assert cfg.stakeholders == ["devops"]


@pytest.mark.parametrize("path", [
    "team.holidayz",                      # a misspelt last key the schema does not declare
    "escalaton.repeat_every",             # a misspelt step
    "people.dev-z.email",                 # no such person
    "people.9.email",                     # no such index
    "team.name.first",                    # a step into a scalar
    "severity.levels.sentry.fatl",        # a free mapping: new keys are never guessed
])
def test_a_path_that_names_nothing_fails_loudly(path):
    with pytest.raises(TeamPathError):
        variant({path: "x"})


def test_a_bad_value_is_the_products_config_error():
    with pytest.raises(ConfigError, match="sla.high.respond: expected a duration like 15m"):
        variant({"sla.high.respond": "soon"})
