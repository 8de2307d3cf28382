"""Configuration: the Petties default loads; every mistake is named by its key."""
from __future__ import annotations

import json
import types
import typing

import pytest
import yaml

from shared.config import DEFAULT_CONFIG, Config, ConfigError, load_config, parse_config
from shared.config import settings as settings_module
from shared.config.checked import fields_of, is_record
from shared.config.settings import Settings, variables
from tests.teams import team_yaml, variant

DEFAULT_TEXT = DEFAULT_CONFIG.read_text()


def test_default_is_the_petties_team():
    cfg = load_config()
    assert cfg.team.time_zone == "Asia/Ho_Chi_Minh"
    assert cfg.person(cfg.team_lead).name == "Dev A"
    assert [cfg.person(p).name for p in cfg.rotation.order] == ["Dev A", "Dev B", "Dev C", "Dev D"]
    assert len(cfg.people) == 5   # the GUIDE: "Team Size: 5 người"
    assert {p.role for p in cfg.people} >= {"team-lead", "developer", "devops"}
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


def test_the_default_team_starts_without_warnings_and_names_another_backup_in_the_leads_week(capsys):
    """The GUIDE: Dev A, the team lead, takes week 1 and is always the backup; in Dev A's own week the backup is the
    next of the rotation, Dev B, so the lead in the rotation warns of nothing."""
    from datetime import datetime, timezone

    from shared.local import team
    cfg = load_config()
    assert team.warnings(cfg) == [] and team.main(["check"]) == 0 and capsys.readouterr().err == ""
    leads_week = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)   # the week from Mon 29 Dec 2025: Dev A's
    lines = team.summary(cfg, "petties.yaml", leads_week, env={})
    assert "Petties, 5 people, Asia/Ho_Chi_Minh" in lines[1]
    assert lines[3].startswith("On call         Dev A (backup Dev B); from Mon 05 Jan 09:00: Dev B")
    assert team.summary(cfg, "petties.yaml", datetime(2026, 1, 6, 12, 0, tzinfo=timezone.utc),
                        env={})[3].startswith("On call         Dev B (backup Dev A)")


def test_a_rotation_of_the_lead_alone_is_warned_of():
    from shared.local import team
    [warning] = team.warnings(variant({"rotation.order": ["dev-a"]}))
    assert warning.startswith("rotation.order: nobody but the team lead Dev A is in the rotation")


def _unwrap(annotation) -> list:
    """Return the types inside Optional / Annotated / list / union annotations (a dict stays a dict)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _unwrap(args[0])
    if origin in (typing.Union, types.UnionType, list):
        return [t for a in args if a is not type(None) for t in _unwrap(a)]
    return [annotation]


def _schema_keys(model: type, prefix: str = "") -> set[str]:
    """Return every key the schema accepts, as dotted paths (a free mapping's keys are `*`; list items share their
    list's path; a mapping of plain values, such as severity.levels or deploy.env, is one key)."""
    keys = set()
    for name, annotation in fields_of(model).items():
        path = f"{prefix}{name}"
        keys.add(path)
        for kind in _unwrap(annotation):
            if typing.get_origin(kind) is dict:
                value = _unwrap(typing.get_args(kind)[1])[0]
                if is_record(value):
                    keys |= {path + ".*"} | _schema_keys(value, path + ".*.")
            elif is_record(kind):
                keys |= _schema_keys(kind, path + ".")
    return keys


def _shown_keys(data, schema: set[str], prefix: str = "") -> set[str]:
    """Return the schema keys a team file's data shows."""
    if isinstance(data, list):
        return set().union(*(_shown_keys(item, schema, prefix) for item in data))
    if not isinstance(data, dict):
        return set()
    shown = set()
    for key, value in data.items():
        path = f"{prefix}{key}" if f"{prefix}{key}" in schema else f"{prefix}*"
        if path in schema:
            shown |= {path} | _shown_keys(value, schema, path + ".")
    return shown


def test_the_example_team_file_shows_every_key_the_schema_accepts():
    """Its header says every key is shown: a new setting without an example fails here."""
    schema = _schema_keys(Config)
    example = yaml.safe_load((DEFAULT_CONFIG.parent / "example.yaml").read_text(encoding="utf-8"))
    missing = sorted(schema - _shown_keys(example, schema))
    assert missing == [], f"shared/teams/example.yaml lacks {', '.join(missing)}"
    assert {"maintenance.weekly.days", "silences.max_duration", "daily_summary.time", "sentry.organization",
            "deploy.env", "services.health.url", "status_page.automatic"} <= schema   # the walk reaches them


def _pattern_variables() -> dict[str, str]:
    """Return the variables checked by a regular expression, with the expression."""
    return {name: f.metadata["read"].pattern for name, f in variables().items()
            if hasattr(f.metadata["read"], "pattern")}


def test_every_pattern_has_its_words():
    assert set(_pattern_variables()) <= set(settings_module.EXPECTED)
    assert "GITHUB_REPO" in _pattern_variables()


@pytest.mark.parametrize("variable", sorted(_pattern_variables()))
def test_a_variable_of_the_wrong_form_is_said_in_words(variable):
    with pytest.raises(ConfigError) as e:
        Settings.from_env({variable: "not/the right:form!"})
    assert str(e.value) == f"environment: {variable}: expected {settings_module.EXPECTED[variable]}"


def test_a_bad_github_repo_says_owner_slash_repo():
    with pytest.raises(ConfigError, match=r"^environment: GITHUB_REPO: expected owner/repo, e\.g\. petties/backend$"):
        Settings.from_env({"GITHUB_REPO": "https://github.com/petties/backend"})


def test_a_health_url_of_the_wrong_form_is_said_in_words():
    with pytest.raises(ConfigError) as e:
        variant(edit=lambda data: data["services"][0].update(health=[{"url": "petties.world/health"}]))
    assert "services.0.health.0.url: expected an http:// or https:// URL, e.g. https://shop.example/health, got " \
        "'petties.world/health'" in str(e.value)
    assert "pattern" not in str(e.value) and "^" not in str(e.value)


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


# ---------------------------------------------------------------- the checked form a deployed function starts from

@pytest.mark.parametrize("team_file", ["petties.yaml", "example.yaml"])   # example.yaml shows every key
def test_the_checked_form_builds_the_same_config(team_file, tmp_path):
    from shared.config import checked
    source = DEFAULT_CONFIG.parent / team_file
    copy = tmp_path / "team.yaml"
    copy.write_bytes(source.read_bytes())
    validated = load_config(copy)
    checked.write(copy, validated, checked.path_for(copy))
    built = checked.read(copy, copy.read_bytes())
    assert built is not None and built == validated and built is not validated
    assert built.team.zone.key == validated.team.zone.key and built.person(built.team_lead) == \
        validated.person(validated.team_lead)


def test_a_checked_form_is_used_only_for_the_bytes_it_was_made_from(tmp_path):
    from shared.config import checked
    team = tmp_path / "team.yaml"
    team.write_text(DEFAULT_TEXT)
    checked.write(team, load_config(team), checked.path_for(team))
    form = checked.path_for(team)
    data = json.loads(form.read_text())
    data["config"]["team"]["name"] = "From the form"
    form.write_text(json.dumps(data))
    assert load_config(team).team.name == "From the form"        # the form, for these very bytes
    team.write_text(DEFAULT_TEXT + "\n# edited\n")
    assert load_config(team).team.name == "Petties"              # the file changed: validated again
    team.write_text(DEFAULT_TEXT)
    data["config"]["team"]["colour"] = "a key this schema does not have"
    form.write_text(json.dumps(data))
    assert load_config(team).team.name == "Petties"              # a form that does not build: validated again
    form.write_text("{not json")
    assert load_config(team).team.name == "Petties"
