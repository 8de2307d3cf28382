"""The local tools fit any team: a three-person team file of another shape (other services, zone, environments and
severity rules) gets its own samples from ./deploy.sh alert, through the real ingest function, and its own banner."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.config import DEFAULT_CONFIG, load_config
from shared.local import alert, team
from shared.local.samples import LOCAL_ROUTING_KEY
from tests.conftest import dump_firestore

# Three people in São Paulo; "live" and "preview" rather than production and staging; Sentry's error is only Medium
# here and "booking" is Critical, so the Petties wordings give other severities: High comes only from a checkout
# rule that Sentry and PagerDuty alerts can match, and Grafana has no High at all.
OTHER_TEAM = """
team:
  name: Quokka Shop
  time_zone: America/Sao_Paulo
  business_hours: {days: [mon, tue, wed, thu, fri], start: "08:00", end: "17:00"}
people:
  - {id: rui, name: Rui, email: rui@quokka.example}
  - {id: ana, name: Ana, email: ana@quokka.example}
  - {id: teo, name: Teo, email: teo@quokka.example}
team_lead: rui
rotation: {order: [rui, ana, teo], start: "2026-01-05"}
services:
  - {name: storefront, url: "https://quokka.example", sentry_projects: [quokka-storefront],
     monitors: ["https://quokka.example"]}
  - {name: payments-api, url: "https://pay.quokka.example/health", sentry_projects: [quokka-payments]}
default_environment: live
environments:
  live: {aliases: [production, prod]}
  preview: {aliases: [staging], max_severity: medium}
severity:
  levels:
    sentry: {fatal: critical, error: medium, warning: low, info: low}
    uptimerobot: {down: high}
    grafana: {critical: critical, warning: low, info: low}
    pagerduty: {critical: critical, error: medium, warning: low, info: low}
  default: low
  rules:
    - {name: checkout-broken, severity: high, keywords: [checkout], levels: [error], sources: [sentry, pagerduty]}
    - {name: bookings-are-everything, severity: critical, keywords: [booking]}
notifications:
  routes:
    - environments: ["*"]
      severities: [critical, high, medium, low]
      channels: [{channel: discord}]
"""


@pytest.fixture
def quokka(tmp_path, monkeypatch, use_team):
    """Run the server and the alert command with the Quokka team file (as INCIDENT_CONFIG would)."""
    path = tmp_path / "quokka.yaml"
    path.write_text(OTHER_TEAM, encoding="utf-8")
    monkeypatch.setenv("INCIDENT_CONFIG", str(path))
    monkeypatch.setattr(alert, "LAST", tmp_path / "last-alerts.json", raising=False)
    return use_team(load_config(path))


def incidents(api) -> list[dict]:
    return api.get("/incidents").get_json()["incidents"]


def test_sentry_high_opens_a_high_incident_on_one_of_that_teams_services(live_server, api, quokka, capsys):
    code = alert.main(["sentry", "--severity", "high", "--url", live_server])
    printed = capsys.readouterr().out
    assert code == 0, printed
    [got] = incidents(api)
    assert (got["severity"], got["service"], got["environment"]) == ("high", "storefront", "live")
    assert got["severity_reason"].startswith("rule 'checkout-broken': mentions 'checkout', level error")
    assert "sentry firing: storefront, live, expected severity high" in printed
    assert "petties" not in printed.lower()


@pytest.mark.parametrize("args,severity,service", [
    (["sentry", "--severity", "critical", "--service", "payments-api"], "critical", "payments-api"),
    (["alertmanager", "--severity", "critical", "--env", "preview"], "medium", "storefront"),   # preview's cap
    (["uptimerobot", "down"], "high", "storefront"),          # what this team makes of a down
])
def test_each_sample_gets_the_severity_this_team_file_gives_it(live_server, api, quokka, capsys, args, severity,
                                                               service):
    code = alert.main([*args, "--url", live_server])
    printed = capsys.readouterr().out
    assert code == 0, printed
    [got] = incidents(api)
    assert (got["severity"], got["service"]) == (severity, service), got["severity_reason"]
    assert f"expected severity {severity}" in printed


def test_pagerduty_works_with_the_teams_own_routing_keys(live_server, api, quokka, capsys, monkeypatch):
    from shared.config.settings import settings
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEYS", "Q" * 32 + "=payments-api")
    settings.cache_clear()
    code = alert.main(["pagerduty", "--severity", "high", "--url", live_server])
    printed = capsys.readouterr().out
    assert code == 0, printed
    [got] = incidents(api)
    assert (got["severity"], got["service"], got["source"]) == ("high", "payments-api", "pagerduty")


@pytest.mark.parametrize("args,why", [
    (["grafana", "--severity", "high"], "alert: the team file's severity rules give no grafana alert on storefront in "
                                        "live the severity high: they give "),
    # the checkout rule names the sources sentry and pagerduty, not sentry-legacy
    (["sentry-legacy", "--severity", "high"], "alert: the team file's severity rules give no sentry-legacy alert on "
                                              "storefront in live the severity high: they give "),
    (["uptimerobot", "down", "--severity", "critical"], "alert: the team file's severity rules give no uptimerobot "
                                                        "alert on storefront in live the severity critical"),
    (["uptimerobot", "down", "--service", "payments-api"], "alert: the team file maps no UptimeRobot monitor to "
                                                           "payments-api in live (services.payments-api.monitors)"),
])
def test_what_the_team_file_cannot_give_is_said_and_exits_1_sending_nothing(live_server, firestore, quokka, capsys,
                                                                           args, why):
    assert alert.main([*args, "--url", live_server]) == 1
    out, err = capsys.readouterr()
    assert err.startswith(why) and err.count("\n") == 1 and out == ""
    assert dump_firestore(firestore) == {}


def test_a_server_on_another_team_file_is_caught(live_server, api, quokka, capsys, use_team):
    """The command's team file says High; a server running the Petties file makes it Medium: exit 1, saying so."""
    use_team(load_config(DEFAULT_CONFIG))
    code = alert.main(["sentry", "--severity", "high", "--url", live_server])
    printed = capsys.readouterr().out
    assert code == 1
    assert "expected severity high" in printed and "not as expected: the server made it medium (sentry level " \
        "'error'), not high: does it run the same team file (INCIDENT_CONFIG) as this command?" in printed


def test_the_banner_names_only_this_teams_services_and_keys(quokka):
    now = datetime(2026, 1, 6, 12, 0, tzinfo=timezone.utc)   # Rui's week: Rui is the lead, so Ana backs him up
    lines = team.summary(quokka, "quokka.yaml", now, env={})
    text = "\n".join(lines)
    assert "Quokka Shop, 3 people, America/Sao_Paulo (UTC-03:00, now Tue 09:00)" in text
    assert "Services        storefront, payments-api" in text
    assert "On call         Rui (backup Ana)" in text
    assert f"PagerDuty keys  {LOCAL_ROUTING_KEY}=storefront   (key=service, PAGERDUTY_ROUTING_KEYS)" in text
    others = "\n".join(team.summary(quokka, "quokka.yaml", now, env={
        "PAGERDUTY_ROUTING_KEYS": "P" * 32 + "=petties-backend," + "Q" * 32 + "=payments-api"}))
    assert f"PagerDuty keys  {'Q' * 32}=payments-api   (key=service, PAGERDUTY_ROUTING_KEYS; 1 more names no " \
           "service of this team file)" in others
    assert "petties" not in (text + others).lower() and "P" * 32 not in others
    assert team.warnings(quokka) == []


def test_the_local_routing_key_is_the_team_files_first_service(quokka, capsys):
    assert team.main(["routing-keys"]) == 0
    assert capsys.readouterr().out == f"{LOCAL_ROUTING_KEY}=storefront\n"
