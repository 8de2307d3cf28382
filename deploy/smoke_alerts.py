"""The smoke test's alerts: one signed test alert from each configured source, followed from the incident it
opens through its notifications to its removal (deploy/smoke.py runs it).

Each alert is ./deploy.sh alert's sample for that source (shared/local/samples.py, worded by
shared/local/wording.py for this team file), marked as a test: its title starts with "[smoke test]"
(shared/rules/smoke.py) and its dedup key is this run's own, so it opens a new incident that no real alert
shares. The incident's opening notifications must each be sent (a channel without credentials only shows
them on the preview page: not configured, not a failure); the incident is then closed as invalid and
deleted (DELETE /api/incidents/<id>, which only a smoke test's incident allows), so no listing, report or
status page keeps it. Severities are chosen so that together the alerts reach every channel the team file
routes the default environment to (a route that holds its messages after hours is left out then).
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from shared.clock import clock
from shared.config import Config
from shared.local.doctor import FAIL, OFF, OK, Line
from shared.local.samples import ACTIONS, BUILDERS, Delivery, Unfit
from shared.local.wording import choose
from shared.model import OutboxStatus, Severity
from shared.rules.calendar import is_business_time
from shared.rules.routing import route_for
from shared.rules.smoke import SMOKE_MARK
from shared.sources.common import hmac_sha256

DELIVERY_DEADLINE = 60.0   # seconds the notifications of one test incident may take to go out
REMOVAL_DEADLINE = 30.0    # seconds its resolve notifications may take before it can be deleted
POLL = 1.0                 # seconds between looks at an incident's notifications
FINAL = {OutboxStatus.SENT.value, OutboxStatus.FAILED.value, OutboxStatus.SUPERSEDED.value}
SOURCES = ("sentry", "alertmanager", "grafana", "pagerduty")   # UptimeRobot: see configured()


@dataclass(frozen=True)
class Secrets:
    """What the smoke test signs and authenticates with ("" when unset)."""

    sentry: str
    ingest: str
    api: str
    grafana: str
    routing_keys: str   # PAGERDUTY_ROUTING_KEYS: key=service,...

    def routing(self) -> dict[str, str]:
        pairs = (item.partition("=") for item in self.routing_keys.split(","))
        return {k.strip(): v.strip() for k, _, v in pairs if k.strip() and v.strip()}


def configured(secrets: Secrets) -> tuple[list[str], list[Line]]:
    """Return the sources that can be sent (their secret is set), and a line for each that cannot."""
    have = {"sentry": secrets.sentry, "alertmanager": secrets.ingest, "grafana": secrets.ingest or secrets.grafana,
            "pagerduty": secrets.routing()}
    why = {"sentry": "SENTRY_CLIENT_SECRET", "alertmanager": "INGEST_TOKEN", "grafana": "INGEST_TOKEN",
           "pagerduty": "PAGERDUTY_ROUTING_KEYS"}
    lines = [Line(OFF, f"Test alert {s}", f"not sent: {why[s]} is not set") for s in SOURCES if not have[s]]
    # An UptimeRobot down is a public outage on the status page the moment it arrives: a smoke test must not
    # publish one, so that source is proven by the ingest token the others use.
    lines.append(Line(OFF, "Test alert uptimerobot", "not sent: a down would publish an outage on the status page"))
    return [s for s in SOURCES if have[s]], lines


def severities(cfg: Config, now: datetime) -> list[str]:
    """Return severities whose routes together reach every channel the default environment is routed to."""
    env, business = cfg.default_environment, is_business_time(now, cfg)
    chosen, covered = [], set()
    for severity in sorted(Severity, reverse=True):
        route = route_for(severity, env, cfg)
        if route is None:
            continue
        sent = {c.channel for c in route.channels if business or (c.after_hours or route.after_hours) == "send"}
        if sent - covered:
            chosen.append(severity.label)
            covered |= sent
    return chosen or ["critical"]


def delivery(source: str, severity: str, run: str, cfg: Config, secrets: Secrets, now: datetime) -> Delivery:
    """Return ./deploy.sh alert's sample for the source, marked as this run's smoke test and signed."""
    keys = secrets.routing()
    service = next(iter(keys.values())) if source == "pagerduty" else cfg.services[0].name
    o = argparse.Namespace(source=source, action=ACTIONS[source][0], severity=severity, service=service,
                           env=cfg.default_environment, repeat=1, replay=False,
                           token=next(iter(keys)) if source == "pagerduty" else secrets.ingest,
                           secret=secrets.sentry if source == "sentry" else secrets.grafana)
    sample = BUILDERS[source](o, cfg, now, choose(o, cfg, now).scenario)
    payload = json.loads(sample.body)
    mark = f"{SMOKE_MARK} {run}"
    if source == "sentry":
        event = payload["data"]["event"]
        event["title"] = f"{mark} {event['title']}"
        payload = json.loads(json.dumps(payload).replace(str(event["issue_id"]), run))  # a new Sentry issue
    elif source == "pagerduty":
        payload["dedup_key"] = f"smoke-test-{run}"
        payload["payload"]["summary"] = f"{mark} {payload['payload']['summary']}"
    else:
        for alert in payload["alerts"]:
            alert["labels"]["smoke_test"] = run
            alert["annotations"]["summary"] = f"{mark} {alert['annotations']['summary']}"
            alert["fingerprint"] = f"smoke-test-{run}"
        payload["commonLabels"]["smoke_test"] = run
        payload["commonAnnotations"]["summary"] = payload["alerts"][0]["annotations"]["summary"]
        payload["groupKey"] = f"{payload['groupKey']}:smoke-test-{run}"
        if "title" in payload:
            payload["title"] = f"{mark} {payload['title']}"
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers, params = {"Content-Type": "application/json"}, {}
    if source == "sentry":
        headers.update({k: v for k, v in sample.headers.items() if k.startswith(("Sentry-Hook", "Request-ID"))},
                       **{"Sentry-Hook-Signature": hmac_sha256(secrets.sentry, body)})
    elif source == "grafana" and secrets.grafana:
        headers["X-Grafana-Alerting-Signature"] = hmac_sha256(secrets.grafana, body)
    elif source != "pagerduty":
        params["token"] = secrets.ingest
    return Delivery(sample.path, body, headers, params, sample.describe)


def _incident_id(http: httpx.Client, answer: dict, run: str, auth: dict) -> str | None:
    if answer.get("incident"):
        return answer["incident"]
    found = http.get("/api/incidents", params={"limit": 50}, headers=auth)   # PagerDuty answers its dedup key
    incidents = found.json().get("incidents", []) if found.status_code == 200 else []
    return next((i["id"] for i in incidents if i["title"].startswith(f"{SMOKE_MARK} {run}")), None)


def _notifications(http: httpx.Client, iid: str, auth: dict, refused: list[int]) -> list[dict]:
    r = http.get(f"/api/incidents/{iid}/notifications", headers=auth)
    if r.status_code != 200:
        refused.append(r.status_code)
    return r.json()["notifications"] if r.status_code == 200 else []


def _until(deadline: float, done: Callable[[], bool]) -> bool:
    """Look until done() or the deadline (the product clock's seconds) passes; return whether it was done."""
    give_up = clock().monotonic() + deadline
    while not done():
        if clock().monotonic() >= give_up:
            return False
        clock().sleep(POLL)
    return True


def channel_line(source: str, record: dict | None, channel: str) -> Line:
    """Return how one opening notification went, as a line."""
    what = f"Delivery {source} -> {channel}"
    if record is None:
        return Line(FAIL, what, f"still not sent after {DELIVERY_DEADLINE:.0f} s")
    if record["status"] == OutboxStatus.SENT.value:
        return Line(OFF, what, "not configured: shown on the preview page only") if record["preview"] else \
            Line(OK, what, f"sent after {record['attempts'] or 1} attempt(s)")
    if record["status"] == OutboxStatus.HELD.value:
        return Line(OFF, what, "held until business hours by its route (after_hours: hold)")
    return Line(FAIL, what, f"{record['status']}: {record['error'] or 'no error given'}")


def follow(http: httpx.Client, source: str, severity: str, run: str, cfg: Config, secrets: Secrets) -> list[Line]:
    """Send one marked test alert; return a line for it, one per channel its opening went to, and its removal."""
    what = f"Test alert {source}"
    auth = {"Authorization": f"Bearer {secrets.api}"}
    try:
        sample = delivery(source, severity, run, cfg, secrets, clock().now())
    except Unfit as e:
        return [Line(FAIL, what, f"no sample fits the team file: {e}")]
    r = http.post(sample.path, content=sample.body, headers=sample.headers, params=sample.params)
    if not r.is_success:
        return [Line(FAIL, what, f"POST /ingest{sample.path.removeprefix('/ingest')} answered {r.status_code} "
                                 f"{r.text[:160]}")]
    iid = _incident_id(http, r.json(), run, auth)
    if not iid:
        return [Line(FAIL, what, f"accepted ({r.status_code}) but no incident can be read back with the API token")]
    lines = [Line(OK, what, f"{iid} opened ({severity}, {sample.describe})")]
    openings: dict[str, dict] = {}
    refused: list[int] = []

    def delivered() -> bool:
        records = [n for n in _notifications(http, iid, auth, refused) if n["reason"] == "opened"]
        openings.update({n["channel"]: n for n in records})
        return bool(refused) or bool(records) and all(n["status"] in FINAL | {OutboxStatus.HELD.value}
                                                      for n in records)

    _until(DELIVERY_DEADLINE, delivered)
    if refused:
        return lines + [Line(FAIL, f"Delivery {source}", f"{iid}: its notifications cannot be read with the API "
                                                         f"token (GET answered {refused[-1]})")]
    lines += [channel_line(source, n if n["status"] in FINAL | {OutboxStatus.HELD.value} else None, channel)
              for channel, n in sorted(openings.items())]
    if not openings:
        lines.append(Line(FAIL, f"Delivery {source}", "the incident has no notifications to any channel"))
    return lines + [remove(http, iid, source, auth, cfg)]


def remove(http: httpx.Client, iid: str, source: str, auth: dict, cfg: Config) -> Line:
    """Close the test incident as invalid and delete it; a line saying whether it is gone."""
    what = f"Removed {source}'s test incident"
    r = http.post(f"/api/incidents/{iid}/invalid", json={"actor": cfg.team_lead, "detail": "smoke test"},
                  headers=auth)
    if not r.is_success:
        return Line(FAIL, what, f"{iid}: closing it answered {r.status_code} {r.text[:160]}")
    answers: list[int] = []
    _until(REMOVAL_DEADLINE, lambda: answers.append(http.delete(f"/api/incidents/{iid}", headers=auth).status_code)
           or answers[-1] != 409)
    if answers[-1] != 204:
        return Line(FAIL, what, f"{iid}: DELETE answered {answers[-1]}")
    gone = http.get(f"/api/incidents/{iid}", headers=auth).status_code
    return Line(OK, what, f"{iid} closed and deleted") if gone == 404 else \
        Line(FAIL, what, f"{iid}: still answered {gone} after its deletion")
