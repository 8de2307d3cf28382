"""The status page publishes what the team means (issue 27): what monitors prove and what people write, never an
alert by itself; one state per service by a stated precedence; one uptime figure for a service and day on the
page, in the JSON and in the daily report; incidents by latest activity, updates newest first.

Through the functions' HTTP entry points (ingest, api, status, daily_summary) against the Firestore emulator.
"""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from shared.model import Incident
from shared.rules import status_page as rules
from shared.status import page as status_page
from tests.conftest import fixture_json
from tests.notify_fixtures import local, scheduled, sentry_alert
from tests.teams import variant
from tests.test_daily_summary import TOKEN, down, up
from tests.test_standard_sources import grafana_signature
from tests.test_status_page import NOW, status  # noqa: F401  (status: the page's test client, now = NOW)

JSON = {"Content-Type": "application/json"}
DOCUMENTS = ("summary", "status", "components", "incidents", "incidents/unresolved")
BACKEND_MONITOR = "793527"   # https://api.petties.world/health: petties-backend


def at(monkeypatch, when):
    monkeypatch.setattr("shared.web.http.now", lambda: when)


def read(status, monkeypatch, when=NOW) -> dict:  # noqa: F811
    """Every answer the page gives at `when`, computed afresh (the page caches its view for 30 s)."""
    status_page.forget()
    at(monkeypatch, when)
    answers = {"/": status.get("/").get_data(as_text=True)}
    answers.update({d: status.get(f"/api/v2/{d}.json").get_json() for d in DOCUMENTS})
    return answers


def states(page: dict) -> dict[str, str]:
    return {c["name"]: c["status"] for c in page["components"]["components"]}


def write(api, monkeypatch, iid: str, when, **body) -> None:
    at(monkeypatch, when)
    r = api.post(f"/incidents/{iid}/status-updates", json={"by": "dev-d", **body})
    assert r.status_code == 201, r.get_json()


def labelled(name: str, **labels: str) -> bytes:
    """An Alertmanager or Grafana fixture whose alerts name a service of the team file, in production."""
    body = fixture_json(name)
    for alert in body["alerts"]:
        alert["labels"].update(labels)
    return json.dumps(body).encode()


# ---------------------------------------------------------------- alerts never show by themselves

def test_sentry_alertmanager_grafana_and_pagerduty_alerts_change_nothing_on_the_page(status, ingest, api,  # noqa: F811
                                                                                      monkeypatch):
    # Given the page as it is, with an UptimeRobot outage of the web app resolved earlier today
    down(ingest, monkeypatch, local("2026-11-27 09:00:00"), monitor="800002", url="https://petties.world")
    up(ingest, monkeypatch, local("2026-11-27 09:10:00"), monitor="800002", url="https://petties.world")
    before = read(status, monkeypatch)
    # When a Medium Sentry issue, a Critical Alertmanager group, a High Grafana group and a Critical PagerDuty
    # event arrive about the team's services in production
    medium = sentry_alert(ingest, monkeypatch, NOW - timedelta(minutes=20), "9401", "java.lang.NullPointerException",
                          project="ai-service")["incident"]
    at(monkeypatch, NOW - timedelta(minutes=15))
    body = labelled("alertmanager_firing.json", service="petties-backend", environment="production")
    assert ingest.post("/alertmanager" + TOKEN, data=body, headers=JSON).status_code == 200
    body = labelled("grafana_firing.json", service="petties-web", environment="production", severity="high")
    assert ingest.post("/grafana", data=body,
                       headers={**JSON, "X-Grafana-Alerting-Signature": grafana_signature(body)}).status_code == 200
    assert ingest.post("/pagerduty/v2/enqueue", data=json.dumps(fixture_json("pagerduty_trigger.json")),
                       headers=JSON).status_code == 202
    opened = {(i["source"], i["service"], i["environment"], i["severity"])
              for i in api.get("/incidents?status=open").get_json()["incidents"]}
    assert opened == {("sentry", "ai-service", "production", "medium"),
                      ("alertmanager", "petties-backend", "production", "critical"),
                      ("grafana", "petties-web", "production", "high"),
                      ("pagerduty", "petties-backend", "production", "critical")}
    # Then the page and every JSON document are what they were, byte for byte: no state, no banner, no incident
    # (before issue 27 the Medium showed as "Degraded performance of ai-service" and the Criticals as outages)
    after = read(status, monkeypatch)
    assert after == before
    assert after["status"]["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert [i["name"] for i in after["incidents"]["incidents"]] == ["Major outage of petties-web"]
    assert api.get(f"/incidents/{medium}").get_json()["status"] == "open"


# ---------------------------------------------------------------- monitors prove outages

def test_an_uptimerobot_down_is_a_public_outage_resolved_when_the_monitor_recovers(status, ingest, api,  # noqa: F811
                                                                                   monkeypatch):
    # Given UptimeRobot says the backend is down at 15:05, and the on-call acknowledges it and starts fixing it
    outage = down(ingest, monkeypatch, local("2026-11-27 15:05:00"))
    at(monkeypatch, local("2026-11-27 15:10:00"))
    assert api.post(f"/incidents/{outage}/fixing", json={"actor": "dev-b", "detail": "restarting"}).status_code == 200
    # When a visitor looks at 15:30
    page = read(status, monkeypatch, local("2026-11-27 15:30:00"))
    # Then the backend is in a major outage, and an incident under a neutral title says so
    assert states(page)["petties-backend"] == "major_outage"
    assert page["status"]["status"] == {"indicator": "critical", "description": "Major Service Outage"}
    [opened] = page["incidents/unresolved"]["incidents"]
    assert (opened["name"], opened["status"], opened["impact"]) == ("Major outage of petties-backend",
                                                                    "investigating", "critical")
    # (the team's own workflow is not a public statement: before issue 27, "fixing" published "identified")
    assert [u["status"] for u in opened["incident_updates"]] == ["investigating"]
    assert "Backend Health" not in json.dumps(page) and "Connection Timeout" not in page["/"]

    # When the monitor comes back at 15:49
    up(ingest, monkeypatch, local("2026-11-27 15:49:00"))
    page = read(status, monkeypatch)
    # Then the outage is over publicly too: the service is operational and the incident resolved at 15:49
    assert states(page)["petties-backend"] == "operational"
    assert page["status"]["status"]["indicator"] == "none" and page["incidents/unresolved"]["incidents"] == []
    [closed] = page["incidents"]["incidents"]
    assert (closed["name"], closed["status"], closed["resolved_at"]) == (
        "Major outage of petties-backend", "resolved", "2026-11-27T08:49:00.000Z")
    assert [(u["status"], u["created_at"]) for u in closed["incident_updates"]] == [
        ("resolved", "2026-11-27T08:49:00.000Z"), ("investigating", "2026-11-27T08:05:00.000Z")]
    # and each update has Statuspage's tweet fields, empty
    for u in closed["incident_updates"]:
        assert u["custom_tweet"] is None and u["tweet_id"] is None


def test_with_automatic_none_a_monitor_changes_no_state_but_its_downtime_still_counts(status, ingest, use_team,  # noqa: F811
                                                                                      monkeypatch):
    # Given a team file that leaves the page to people (status_page.automatic: none)
    use_team(variant({"status_page.automatic": "none"}))
    # When UptimeRobot says the backend is down at 15:00 and still is at 16:00
    down(ingest, monkeypatch, local("2026-11-27 15:00:00"))
    page = read(status, monkeypatch)
    # Then no state changes and no incident shows, while today's bar counts the hour down
    assert states(page)["petties-backend"] == "operational" and page["incidents"]["incidents"] == []
    [backend] = [c for c in page["components"]["components"] if c["name"] == "petties-backend"]
    assert backend["uptime_days"][-1] == {"date": "2026-11-27", "percent": round(100 * (1 - 60 / 960), 2),
                                          "downtime_minutes": 60}


# ---------------------------------------------------------------- people's updates and the precedence

def test_a_persons_update_shows_newest_first_and_incidents_by_latest_activity(status, ingest, api,  # noqa: F811
                                                                             monkeypatch):
    # Given a High on ai-service since 13:00 (Sentry: not public) and a backend outage UptimeRobot saw at 15:00
    high = sentry_alert(ingest, monkeypatch, local("2026-11-27 13:00:00"), "9402", "Login fails with HTTP 500",
                        project="ai-service")["incident"]
    down(ingest, monkeypatch, local("2026-11-27 15:00:00"))
    # When a person posts two status updates for the High, setting its service's state in the first only
    write(api, monkeypatch, high, local("2026-11-27 15:20:00"), status="investigating", title="Sign-in fails",
          message="Some users cannot sign in.", component_status="partial_outage")
    write(api, monkeypatch, high, local("2026-11-27 15:40:00"), status="identified", message="We found the cause.")
    page = read(status, monkeypatch)
    # Then it shows: its incident first (latest activity 15:40, though opened before the outage), its updates
    # newest first, and the state the person set holds through the update that set none
    listed = page["incidents"]["incidents"]
    assert [i["name"] for i in listed] == ["Sign-in fails", "Major outage of petties-backend"]
    assert [u["body"].splitlines()[1] for u in listed[0]["incident_updates"]] == [
        "Issue: We found the cause.", "Issue: Some users cannot sign in."]
    assert (listed[0]["status"], listed[0]["impact"], listed[0]["updated_at"]) == (
        "identified", "major", "2026-11-27T08:40:00.000Z")
    assert states(page) == {"petties-web": "operational", "petties-backend": "major_outage",
                            "ai-service": "partial_outage"}
    html = page["/"]
    assert html.index("Sign-in fails") < html.index("Major outage of petties-backend")
    assert html.index("We found the cause.") < html.index("Some users cannot sign in.")
    # and "operational" gives the service back its state while the incident stays open
    write(api, monkeypatch, high, local("2026-11-27 15:50:00"), status="monitoring", message="A fix is out.",
          component_status="operational")
    page = read(status, monkeypatch)
    assert states(page)["ai-service"] == "operational" and page["incidents"]["incidents"][0]["status"] == "monitoring"


MAINTENANCE = [{"name": "db upgrade", "matchers": {"service": "petties-backend"}, "comment": "Postgres 16",
                "start": "2026-11-27T15:00:00", "end": "2026-11-27T16:30:00"}]


def test_a_window_beats_a_monitor_and_a_person_beats_both(status, ingest, api, use_team, monkeypatch):  # noqa: F811
    # Given planned work on the backend from 15:00 to 16:30, and UptimeRobot saying it is down from 15:10
    use_team(variant(edit=lambda data: data.update(maintenance=MAINTENANCE)))
    outage = down(ingest, monkeypatch, local("2026-11-27 15:10:00"))
    # Then during the window the service is under maintenance, one state, and the outage is that maintenance:
    # no incident (before issue 27 the outage's incident was listed as "Major outage" beside "Under maintenance")
    page = read(status, monkeypatch)
    assert states(page)["petties-backend"] == "under_maintenance"
    assert page["status"]["status"] == {"indicator": "none", "description": "Service Under Maintenance"}
    assert page["incidents"]["incidents"] == []
    assert page["summary"]["scheduled_maintenances"][0]["status"] == "in_progress"
    # When a person says it is worse than planned
    write(api, monkeypatch, outage, local("2026-11-27 16:05:00"), status="identified", title="Backend unreachable",
          message="The upgrade takes longer than planned.", component_status="partial_outage")
    page = read(status, monkeypatch, local("2026-11-27 16:10:00"))
    # Then the person's state is shown, and the incident under their title
    assert states(page)["petties-backend"] == "partial_outage"
    assert [i["name"] for i in page["incidents/unresolved"]["incidents"]] == ["Backend unreachable"]
    # and after the window it still holds: the person said so, not the monitor
    page = read(status, monkeypatch, local("2026-11-27 16:40:00"))
    assert states(page)["petties-backend"] == "partial_outage"


def test_once_a_window_ends_an_outage_the_monitor_still_sees_shows(status, ingest, use_team,  # noqa: F811
                                                                   monkeypatch):
    use_team(variant(edit=lambda data: data.update(maintenance=MAINTENANCE)))
    down(ingest, monkeypatch, local("2026-11-27 16:00:00"))
    assert read(status, monkeypatch, local("2026-11-27 16:20:00"))["incidents"]["incidents"] == []
    page = read(status, monkeypatch, local("2026-11-27 16:40:00"))
    assert states(page)["petties-backend"] == "major_outage"
    [shown] = page["incidents"]["incidents"]
    assert (shown["name"], shown["started_at"]) == ("Major outage of petties-backend", "2026-11-27T09:00:00.000Z")


def outage(state: str = "open", said: str | None = None) -> Incident:
    """An UptimeRobot down of petties-backend (`state`: the incident's status), with the state a person set
    (`said`), if any."""
    doc = {"level": "down", "status_page": {"count": 1, "status": "identified", "component_status": said}
           if said else {}}
    return Incident(id=f"INC-P{said}", title="x", status=state, auto_severity_rank=4, service="petties-backend",
                    environment="production", source="uptimerobot", dedup_key="u", key_doc="u",
                    created_at=NOW - timedelta(hours=1), doc=doc)


WINDOW = {"matchers": {"service": "petties-backend"}, "start": NOW - timedelta(hours=2),
          "end": NOW + timedelta(hours=1)}


@pytest.mark.parametrize(("incidents", "windows", "automatic", "state"), [
    ([outage()], [], "outages", "major_outage"),                                   # a monitor
    ([outage()], [], "none", "operational"),                                       # ... the team said none
    ([outage()], [WINDOW], "outages", "under_maintenance"),                        # a window beats a monitor
    ([outage(said="degraded_performance")], [WINDOW], "outages", "degraded_performance"),   # a person beats both
    ([outage(said="operational")], [], "outages", "operational"),                 # ... even to say it is fine
    ([outage(said="operational")], [WINDOW], "outages", "under_maintenance"),
    ([outage(said="degraded_performance"), outage()], [], "outages", "major_outage"),  # per incident: the worst
    ([outage(state="resolved")], [], "outages", "operational"),
    ([], [WINDOW], "none", "under_maintenance"),
])
def test_one_state_per_service_by_the_stated_precedence(incidents, windows, automatic, state):
    cfg = variant({"status_page.automatic": automatic})
    assert rules.component_status("petties-backend", incidents, windows, cfg) == state
    assert rules.STATE_PRECEDENCE == ("a person's status update", "maintenance window in force", "monitor outage",
                                      "operational")


# ---------------------------------------------------------------- one uptime figure

STAGING_MONITOR = "800099"


def bar(html: str, service: str, day: str) -> tuple[float, int]:
    """The figure the page's bar shows for the service and day: (percent, minutes down)."""
    card = next(a for a in html.split('<article class="component"') if f">{service}</h3>" in a)
    found = re.search(rf'title="{day}: ([\d.]+)% uptime(?:, (\d+) min down)?"', card)
    return float(found.group(1)), int(found.group(2) or 0)


def test_a_finished_days_uptime_is_the_page_figure_in_html_json_and_the_daily_report(status, ingest, daily,  # noqa: F811
                                                                                     use_team, monkeypatch):
    # Given a team whose backend has a staging monitor too, and planned work on the backend Tuesday 22:00-23:00
    def edit(data):
        data["services"][1]["monitors"].append(STAGING_MONITOR)
        data["environments"]["staging"]["monitors"] = [STAGING_MONITOR]
        data["maintenance"] = [{"name": "db upgrade", "matchers": {"service": "petties-backend"},
                                "weekly": {"days": ["tue"], "start": "22:00", "end": "23:00"}}]
    use_team(variant(edit=edit))
    # and on Tuesday the backend down in production 10:00-10:25 and 22:30-23:10 (half inside the window), and its
    # staging copy down 12:00-14:00 (not the public service; the daily report used to count it)
    down(ingest, monkeypatch, local("2026-11-24 10:00:00"))
    up(ingest, monkeypatch, local("2026-11-24 10:25:00"))
    down(ingest, monkeypatch, local("2026-11-24 12:00:00"), monitor=STAGING_MONITOR, url="")
    up(ingest, monkeypatch, local("2026-11-24 14:00:00"), monitor=STAGING_MONITOR, url="")
    down(ingest, monkeypatch, local("2026-11-24 22:30:00"))
    up(ingest, monkeypatch, local("2026-11-24 23:10:00"))
    wednesday = local("2026-11-25 09:00:00")
    computed = read(status, monkeypatch, wednesday)
    # When the daily report for Tuesday runs on Wednesday morning (which also records the closed day for the page)
    r = scheduled(daily, wednesday, "/?date=2026-11-24")
    assert r.status_code == 200, r.get_json()
    reported = r.get_json()["report"]["uptime"]["services"]["petties-backend"]
    recorded = read(status, monkeypatch, wednesday)
    # Then the report, the page's bar and the JSON give one figure for the backend's Tuesday, computed or recorded
    expected = round(100 * (1 - 35 / (1440 - 60)), 2)   # 25 + 10 min down, the window's hour left out
    assert (reported["percent"], reported["downtime_minutes"]) == (expected, 35)
    for page in (computed, recorded):
        assert bar(page["/"], "petties-backend", "2026-11-24") == (expected, 35)
        [backend] = [c for c in page["components"]["components"] if c["name"] == "petties-backend"]
        day = next(d for d in backend["uptime_days"] if d["date"] == "2026-11-24")
        assert day == {"date": "2026-11-24", "percent": expected, "downtime_minutes": 35}
        summary = next(c for c in page["summary"]["components"] if c["name"] == "petties-backend")
        assert summary["uptime_percent"] == backend["uptime_percent"] and summary["uptime_days"] == backend[
            "uptime_days"]


def test_a_day_the_daily_report_makes_again_shows_its_new_figure_on_the_page(status, ingest, daily, api,  # noqa: F811
                                                                            monkeypatch):
    # Given UptimeRobot saw the backend down from Tuesday 23:00, still down when Wednesday's report ran (it and
    # the page's recorded day count the hour to midnight)
    outage = down(ingest, monkeypatch, local("2026-11-24 23:00:00"))
    assert scheduled(daily, local("2026-11-25 09:00:00")).status_code == 200
    page = read(status, monkeypatch, local("2026-11-25 09:30:00"))
    assert bar(page["/"], "petties-backend", "2026-11-24") == (round(100 * (1 - 60 / 1440), 2), 60)
    # When the on-call closes it as invalid (the monitor was wrong) and the report for Tuesday is made again
    at(monkeypatch, local("2026-11-25 09:40:00"))
    assert api.post(f"/incidents/{outage}/invalid", json={"actor": "dev-b"}).status_code == 200
    r = scheduled(daily, local("2026-11-25 09:45:00"), "/?date=2026-11-24&recompute=1")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["report"]["uptime"]["services"]["petties-backend"] == {"percent": 100.0,
                                                                               "downtime_minutes": 0}
    # Then the page's Tuesday is the report's again (it was recorded once, and kept, before)
    page = read(status, monkeypatch, local("2026-11-25 09:50:00"))
    assert bar(page["/"], "petties-backend", "2026-11-24") == (100.0, 0)
    [backend] = [c for c in page["components"]["components"] if c["name"] == "petties-backend"]
    assert next(d for d in backend["uptime_days"] if d["date"] == "2026-11-24")["percent"] == 100.0
