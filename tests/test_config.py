"""Configuration: the Petties default loads; every mistake is named by its key."""
from __future__ import annotations

import pytest

from shared.config import DEFAULT_CONFIG, ConfigError, load_config, parse_config
from shared.config.settings import Settings
from tests.teams import team_yaml, variant

DEFAULT_TEXT = DEFAULT_CONFIG.read_text()


def test_default_is_the_petties_team():
    cfg = load_config()
    assert cfg.team.time_zone == "Asia/Ho_Chi_Minh"
    assert cfg.person(cfg.team_lead).name == "Dev A"
    assert [cfg.person(p).name for p in cfg.rotation.order] == ["Dev A", "Dev B", "Dev C", "Dev D"]
    assert {p.role for p in cfg.people} >= {"team-lead", "developer", "devops", "db-admin"}
    assert {s.name: s.url for s in cfg.services} == {
        "petties-web": "https://petties.world",
        "petties-backend": "https://api.petties.world/health",
        "ai-service": "https://ai.petties.world/health"}
    assert set(cfg.environments) == {"production", "staging"}
    hours = cfg.team.business_hours
    assert (hours.days, hours.start, hours.end) == (["mon", "tue", "wed", "thu", "fri"], "09:00", "18:00")


def test_incident_config_points_to_another_file(tmp_path, monkeypatch):
    other = tmp_path / "team.yaml"
    other.write_text(team_yaml({"team.name": "Other Team"}))
    monkeypatch.setenv("INCIDENT_CONFIG", str(other))
    assert load_config().team.name == "Other Team"


@pytest.mark.parametrize("old,new,message", [
    ("time_zone: Asia/Ho_Chi_Minh", "time_zone: Mars/Olympus", "team.time_zone: unknown time zone 'Mars/Olympus'"),
    ('start: "09:00"', 'start: "9am"', "team.business_hours.start: expected HH:MM, got '9am'"),
    ('end: "18:00"', 'end: "25:00"', "team.business_hours.end: expected HH:MM, got '25:00'"),
    ("team_lead: dev-a", "team_lead: dev-z", "team_lead: 'dev-z' is not in people"),
    ("order: [dev-a, dev-b, dev-c, dev-d]", "order: [dev-a, dev-q]", "rotation.order: 'dev-q' is not in people"),
    ("    severity: critical\n      keywords: [\"payment", "    severity: urgent\n      keywords: [\"payment",
     "severity.rules.1.severity: Input should be 'critical', 'high', 'medium' or 'low'"),
    ("    max_severity: medium", "    max_severity: medium\n    colour: red",
     "environments.staging.colour: Extra inputs"),
    ("default_environment: production", "default_environment: prod", "'prod' is not in environments"),
    ("stakeholders: []", "stakeholders: []\nescalaton: {}", "escalaton: Extra inputs are not permitted"),
])
def test_config_errors_name_the_bad_key(old, new, message):
    assert old in DEFAULT_TEXT
    with pytest.raises(ConfigError) as e:
        parse_config(DEFAULT_TEXT.replace(old, new, 1), "team.yaml")
    assert message in str(e.value)
    assert str(e.value).startswith("team.yaml: ")


def test_rule_without_condition_is_refused():
    with pytest.raises(ConfigError, match="rule 'everything' has no condition"):
        variant(edit=lambda data: data["severity"]["rules"].insert(0, {"name": "everything", "severity": "critical"}))


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("team: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- a list")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(bad)


def test_secrets_never_show_themselves():
    s = Settings.from_env({"SENTRY_CLIENT_SECRET": "hunter2", "INGEST_TOKEN": "tok", "API_TOKEN": "api"})
    assert s.sentry_client_secret.reveal() == "hunter2"
    assert "hunter2" not in repr(s.sentry_client_secret) + str(s.sentry_client_secret) + repr(vars(s))


# ---------------------------------------------------------------- a newcomer adapting the team file

@pytest.mark.parametrize(("old", "new", "message"), [
    ("  time_zone: Asia/Ho_Chi_Minh", "  timezone: Asia/Ho_Chi_Minh",
     "team.timezone: Extra inputs are not permitted (did you mean time_zone?)"),
    ("{id: dev-b, name: Dev B,", "{id: dev-b, discord_id: 111111111111111111, name: Dev B,",
     'people.1.discord_id: Input should be a valid string (YAML read 111111111111111111 as a number: put it in '
     'quotes, e.g. discord_id: "111111111111111111")'),
    ('  start: "2025-12-29"       #', '  start: "9999-12-29"       #',
     "rotation.start: expected a date from 2000 to 2099, got 9999-12-29"),
])
def test_common_mistakes_come_with_a_hint(old, new, message):
    assert old in DEFAULT_TEXT
    with pytest.raises(ConfigError) as e:
        parse_config(DEFAULT_TEXT.replace(old, new, 1), "team.yaml")
    assert message in str(e.value)


def test_the_example_team_file_loads_with_no_warning():
    from shared.local import team
    cfg = load_config(DEFAULT_CONFIG.parent / "example.yaml")
    assert cfg.team.name == "Acme" and team.warnings(cfg) == []
    assert cfg.team_lead not in cfg.rotation.order


def test_a_lead_in_the_rotation_is_warned_of():
    from shared.local import team
    [warning] = team.warnings(load_config())
    assert warning.startswith("rotation.order: the team lead Dev A is also in the rotation")


def _deploy(args: list[str], cwd, **env):
    import os
    import subprocess

    from tests.conftest import ROOT
    environment = {k: v for k, v in os.environ.items() if k != "INCIDENT_CONFIG"}
    return subprocess.run([str(ROOT / "deploy.sh"), *args], cwd=cwd, env={**environment, **env},
                          capture_output=True, text=True, timeout=120)


def test_deploy_local_checks_the_team_file_first_relative_to_where_you_stand(tmp_path):
    (tmp_path / "acme.yaml").write_text(DEFAULT_TEXT.replace("  time_zone:", "  timezone:", 1))
    done = _deploy(["local"], tmp_path, INCIDENT_CONFIG="acme.yaml", PORT="1", FIRESTORE_EMULATOR_HOST="")
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if not line.startswith("==")]
    assert lines == [f"the team file is invalid: {tmp_path}/acme.yaml: team.time_zone: Field required; "
                     "team.timezone: Extra inputs are not permitted (did you mean time_zone?)"], done.stderr
    assert "Traceback" not in done.stderr and "emulator" not in done.stderr
