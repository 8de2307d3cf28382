"""./deploy.sh alert: each sample, sent over real HTTP to the local server, makes the incident it promises."""
from __future__ import annotations

import pytest

from shared.local import alert
from shared.notify import delivery
from tests.conftest import dump_firestore, fixture_bytes, sentry_headers

OPENING = {"sentry": "firing", "sentry-legacy": "firing", "uptimerobot": "down", "alertmanager": "firing",
           "grafana": "firing", "pagerduty": "trigger"}
LEVELLED = [s for s in OPENING if s != "uptimerobot"]  # UptimeRobot's down is always critical


@pytest.fixture(autouse=True)
def last_deliveries(tmp_path, monkeypatch):
    """Keep --replay's record of the last deliveries in the test's own folder."""
    monkeypatch.setattr(alert, "LAST", tmp_path / "last-alerts.json", raising=False)
    return alert.LAST


def default_service(source: str) -> str:
    """The team file's first service; for PagerDuty the first with a routing key (conftest: petties-backend)."""
    return "petties-backend" if source == "pagerduty" else "petties-web"


def send(live_server, capsys, *args: str) -> str:
    """Given the running stack, when the alert command runs, then it exits 0; return what it printed."""
    code = alert.main([*args, "--url", live_server])
    printed = capsys.readouterr().out
    assert code == 0, printed
    return printed


def answers(printed: str) -> list[str]:
    """Return the ingest statuses the command printed (the in-process server logs to the same stdout)."""
    return [line.split('"status": "')[1].split('"')[0] for line in printed.splitlines() if line.startswith("  -> ")]


def only_incident(api) -> dict:
    incidents = api.get("/incidents").get_json()["incidents"]
    assert len(incidents) == 1, incidents
    return incidents[0]


@pytest.mark.parametrize("severity", ["critical", "high", "medium", "low"])
@pytest.mark.parametrize("source", LEVELLED)
def test_severity_option_gives_that_severity(live_server, api, capsys, source, severity):
    printed = send(live_server, capsys, source, "--severity", severity)
    got = only_incident(api)
    service = default_service(source)
    assert (got["severity"], got["service"], got["environment"]) == (severity, service, "production"), \
        got["severity_reason"]
    assert f"/api/incidents/{got['id']}" in printed and "/_local/notifications" in printed
    assert f"{got['id']}: {severity}, {service}, production, open, occurrences 1" in printed


def test_uptimerobot_down_is_critical_and_other_severities_are_refused(live_server, api, firestore, capsys):
    send(live_server, capsys, "uptimerobot", "down")
    got = only_incident(api)
    assert (got["severity"], got["service"], got["environment"]) == ("critical", "petties-web", "production")
    before = dump_firestore(firestore)
    assert alert.main(["uptimerobot", "--severity", "low", "--url", live_server]) == 1
    err = capsys.readouterr().err
    assert err.startswith("alert: the team file's severity rules give no uptimerobot alert on petties-web in "
                          "production the severity low: they give critical (uptimerobot level 'down')")
    assert dump_firestore(firestore) == before  # nothing sent


@pytest.mark.parametrize("source", list(OPENING))
def test_service_option_picks_the_project_or_monitor_of_that_service(live_server, api, capsys, source):
    send(live_server, capsys, source, "--service", "ai-service")
    assert only_incident(api)["service"] == "ai-service"


@pytest.mark.parametrize("source", LEVELLED)
def test_staging_is_staging_and_capped_at_medium(live_server, api, capsys, source):
    printed = send(live_server, capsys, source, "--env", "staging", "--severity", "high")
    got = only_incident(api)
    assert (got["environment"], got["severity"]) == ("staging", "medium")
    assert got["severity_reason"].endswith("capped at medium in staging")
    assert "expected severity medium (asked high; staging caps it at medium)" in printed


def test_uptimerobot_has_no_staging_monitor_in_the_team_file(live_server, firestore, capsys):
    assert alert.main(["uptimerobot", "--env", "staging", "--url", live_server]) == 1
    assert "maps no UptimeRobot monitor to petties-web in staging (environments.staging.monitors)" in \
        capsys.readouterr().err
    assert dump_firestore(firestore) == {}


@pytest.mark.parametrize("source", list(OPENING))
def test_repeat_counts_occurrences_of_one_problem(live_server, api, capsys, source):
    printed = send(live_server, capsys, source, "--repeat", "3", "--severity", "critical")
    assert only_incident(api)["occurrences"] == 3
    if source != "pagerduty":
        assert answers(printed) == ["created", "duplicate", "duplicate"]
    else:
        assert answers(printed) == ["success"] * 3


@pytest.mark.parametrize("source,close,status", [("uptimerobot", "up", "resolved"),
                                                 ("alertmanager", "resolved", "resolved"),
                                                 ("grafana", "resolved", "resolved"),
                                                 ("pagerduty", "resolve", "resolved"),
                                                 ("pagerduty", "ack", "acknowledged")])
def test_closing_actions_act_on_the_problem_the_opening_one_made(live_server, api, capsys, source, close, status):
    send(live_server, capsys, source, OPENING[source], "--severity", "critical")
    printed = send(live_server, capsys, source, close, "--severity", "critical")
    assert only_incident(api)["status"] == status
    if source == "pagerduty":  # PagerDuty's own answer shape
        assert '-> 202 {"status": "success", "message": "Event processed", "dedup_key": ' in printed


def test_sentry_replay_sends_only_the_replay_changes_nothing_and_answers_replayed(live_server, api, firestore,
                                                                                 capsys, monkeypatch):
    first = send(live_server, capsys, "sentry")
    delivery.wait_idle()
    before = dump_firestore(firestore)
    posted = []
    real_post = alert.post
    monkeypatch.setattr(alert, "post", lambda client, one: posted.append(one) or real_post(client, one))
    printed = send(live_server, capsys, "sentry", "--replay")
    delivery.wait_idle()
    assert len(posted) == 1 and answers(printed) == ["replayed"]
    assert dump_firestore(firestore) == before
    request_ids = [line.split("Request-ID ")[1].split(":")[0] for line in (first + printed).splitlines()
                   if "Request-ID " in line]
    assert len(request_ids) == 2 and request_ids[0] == request_ids[1]
    assert only_incident(api)["occurrences"] == 1


def test_a_replay_without_a_delivery_id_is_one_more_occurrence_not_two(live_server, api, capsys):
    """The replay of a source without delivery ids counts as what it says, once (it was 14 -> 15 -> 16)."""
    send(live_server, capsys, "alertmanager", "--repeat", "2")
    assert only_incident(api)["occurrences"] == 2
    printed = send(live_server, capsys, "alertmanager", "--replay")
    assert answers(printed) == ["duplicate"] and "carry no delivery id" in printed
    assert only_incident(api)["occurrences"] == 3


def test_nothing_to_replay_exits_1(live_server, firestore, capsys):
    assert alert.main(["grafana", "--replay", "--url", live_server]) == 1
    err = capsys.readouterr().err
    assert err == "alert: no grafana delivery to replay: send one first (./deploy.sh alert grafana)\n"
    assert dump_firestore(firestore) == {}


def test_a_replayed_resolve_answers_replayed_and_another_resolve_duplicate(ingest, api):
    opened = fixture_bytes("sentry_issue_created.json")
    incident = ingest.post("/sentry", data=opened, headers=sentry_headers(opened, "issue")).get_json()["incident"]
    body = fixture_bytes("sentry_issue_resolved.json")
    headers = sentry_headers(body, "issue", request_id="d" * 32)
    assert ingest.post("/sentry", data=body, headers=headers).get_json() == {"incident": incident, "status": "resolved"}
    assert ingest.post("/sentry", data=body, headers=headers).get_json() == {"incident": incident, "status": "replayed"}
    another = ingest.post("/sentry", data=body, headers=sentry_headers(body, "issue")).get_json()
    assert another == {"incident": incident, "status": "duplicate"}


@pytest.mark.parametrize("args,message", [
    (["nagios"], "alert: unknown source 'nagios' (choose: sentry, sentry-legacy, uptimerobot, alertmanager, grafana, "
                 "pagerduty)"),
    ([], "alert: which source? (choose: sentry"),
    (["uptimerobot", "sideways"], "alert: unknown uptimerobot action 'sideways' (choose: down|up)"),
    (["sentry", "--severity", "urgent"], "alert: unknown severity 'urgent' (choose: critical, high, medium, low)"),
    (["sentry", "--service", "billing"], "alert: unknown service 'billing' (choose: petties-web, petties-backend"),
    (["sentry", "--colour", "red"], "alert: unrecognized arguments: --colour red (options: --severity"),
])
def test_a_bad_source_or_option_exits_2_with_one_line(capsys, args, message):
    assert alert.main(args) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(message) and captured.err.count("\n") == 1 and captured.out == ""
