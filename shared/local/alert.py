"""Send a realistic sample alert to a running stack, the way each vendor sends it.

    ./deploy.sh alert sentry --severity critical          (python -m shared.local.alert ...)
    ./deploy.sh alert uptimerobot down --service ai-service ; ./deploy.sh alert uptimerobot up --service ai-service
    ./deploy.sh alert pagerduty trigger --env staging --repeat 3 ; ./deploy.sh alert sentry --replay

One sample problem per source, severity, service and environment: sending it again is one more occurrence,
and up / resolved / ack / resolve act on the problem that down / firing / trigger opened with the same options.
The payloads are modelled on the vendors' own (tests/fixtures/); each --severity sends the level and wording
that the Petties team file (severity.levels and severity.rules) classifies as that severity, as
tests/test_alert_command.py checks against a real server. Credentials default to what ./deploy.sh local sets.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx

from shared.config import Config, ConfigError, load_config
from shared.model import Severity

# What ./deploy.sh local sets when the environment does not (cmd_local); the environment wins.
LOCAL_DEFAULTS = {"SENTRY_CLIENT_SECRET": "local-sentry-secret", "INGEST_TOKEN": "local-ingest-token",
                  "API_TOKEN": "local-api-token",
                  "PAGERDUTY_ROUTING_KEYS": "local-pagerduty-routing-key-0001=petties-backend"}
ACTIONS = {"sentry": ["firing"], "sentry-legacy": ["firing"], "uptimerobot": ["down", "up"],
           "alertmanager": ["firing", "resolved"], "grafana": ["firing", "resolved"],
           "pagerduty": ["trigger", "ack", "resolve"]}
OPENING = {"firing", "down", "trigger"}
OPTIONS = "--severity, --service, --env, --repeat, --replay, --url, --token, --secret, --api-token"


@dataclass(frozen=True)
class Scenario:
    """One sample problem per severity, worded for the Petties rules (shared/teams/petties.yaml severity.rules)."""

    sentry_level: str    # severity.levels.sentry
    level: str           # the severity label of Alertmanager / Grafana (severity.levels.alertmanager)
    pagerduty: str       # payload.severity (severity.levels.pagerduty)
    exception: str
    value: str
    culprit: str
    alertname: str
    summary: str
    description: str


SCENARIOS = {
    # rule 'database-unavailable' (a keyword) makes it critical whatever the level says
    "critical": Scenario("error", "critical", "critical", "SQLTransientConnectionException",
                         "HikariPool-1 - Connection pool exhausted (active 50, idle 0, waiting 112)",
                         "com.petties.pets.PetRepository in findByOwner", "PostgresConnectionPoolExhausted",
                         "Connection pool exhausted on petties-db", "HikariCP: 50 of 50 connections busy for 5m"),
    # rule 'major-feature-broken': mentions booking, at level error
    "high": Scenario("error", "error", "error", "BookingCreationException",
                     "could not reserve slot 10:00 at clinic 17", "com.petties.booking.BookingService in create",
                     "BookingApiErrors", "Booking API answers 5xx to 7% of requests",
                     "POST /api/bookings failing since the last deploy"),
    # the level alone: Sentry error, Alertmanager warning (no rule words: no booking, timeout, slow, ...)
    "medium": Scenario("error", "warning", "warning", "NullPointerException",
                       'Cannot invoke "Pet.getOwner()" because "pet" is null',
                       "com.petties.pets.PetProfileController in show", "DiskSpaceFilling",
                       "Disk usage above 85% on the api host", "/var/lib/docker is 87% full"),
    "low": Scenario("warning", "info", "info", "DeprecatedEndpointWarning",
                    "client used the deprecated endpoint /v1/pets", "com.petties.api.LegacyApiFilter in doFilter",
                    "ImageCacheHitRatio", "Image cache hit ratio under 60%", "thumbnail cache hit ratio is 57%"),
}


@dataclass
class Delivery:
    """One HTTP request as the vendor would send it."""

    path: str
    body: bytes
    headers: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    describe: str = ""


class UsageError(Exception):
    """A source, action or option that cannot be sent; exit 2 with one line."""


def setting(name: str) -> str:
    return os.environ.get(name) or LOCAL_DEFAULTS.get(name, "")


def _number(*parts: str, digits: int = 10) -> str:
    """Return a stable id for one sample problem (the same options name the same problem)."""
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return str(int(digest, 16) % 10 ** digits).rjust(digits, "1")


def _iso(now: datetime) -> str:
    return now.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def sentry(o, cfg: Config, now: datetime) -> Delivery:
    s, issue, event_id = SCENARIOS[o.severity], _number("sentry", o.severity, o.service, o.env), uuid.uuid4().hex
    project = _service(cfg, o.service).sentry_projects[0] if _service(cfg, o.service).sentry_projects else o.service
    web = f"https://petties.sentry.io/issues/{issue}/"
    payload = {
        "action": "triggered", "actor": {"type": "application", "id": "sentry", "name": "Sentry"},
        "installation": {"uuid": "7d2b0c3e-5f1a-4e8b-9c61-2a4f0d8e9b17"},
        "data": {"triggered_rule": "Send to incident response", "issue_alert": {"title": "Send to incident response"},
                 "event": {
            "event_id": event_id, "issue_id": issue, "level": s.sentry_level, "type": "error",
            "title": f"{s.exception}: {s.value}", "message": "", "culprit": s.culprit, "location": s.culprit,
            "metadata": {"type": s.exception, "value": s.value}, "platform": "java", "environment": o.env,
            "datetime": _iso(now), "timestamp": now.timestamp(), "received": now.timestamp(),
            "tags": [["environment", o.env], ["level", s.sentry_level], ["server_name", f"{o.service}-1"]],
            "url": f"https://sentry.io/api/0/projects/petties/{project}/events/{event_id}/",
            "issue_url": f"https://sentry.io/api/0/issues/{issue}/", "web_url": f"{web}events/{event_id}/"}}}
    body = _json(payload)
    secret = o.secret or setting("SENTRY_CLIENT_SECRET")
    return Delivery("/ingest/sentry", body, {
        "Content-Type": "application/json", "Request-ID": uuid.uuid4().hex, "Sentry-Hook-Resource": "event_alert",
        "Sentry-Hook-Timestamp": str(int(now.timestamp())),
        "Sentry-Hook-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()},
        describe="Sentry event_alert triggered")


def sentry_legacy(o, cfg: Config, now: datetime) -> Delivery:
    s, issue = SCENARIOS[o.severity], _number("sentry", o.severity, o.service, o.env)
    project = _service(cfg, o.service).sentry_projects[0] if _service(cfg, o.service).sentry_projects else o.service
    env = "prod" if o.env == "production" else o.env  # the plugin sends the SDK's name (an alias in the team file)
    payload = {"id": issue, "project": project, "project_name": project, "project_slug": project, "logger": None,
               "level": s.sentry_level, "culprit": s.culprit, "message": f"{s.exception}: {s.value}",
               "url": f"https://petties.sentry.io/issues/{issue}/?referrer=webhooks_plugin",
               "triggering_rules": ["Send to incident response"],
               "event": {"event_id": uuid.uuid4().hex, "environment": env, "timestamp": now.timestamp(),
                         "tags": [["level", s.sentry_level], ["environment", env], ["server_name", f"{o.service}-1"]]}}
    return Delivery("/ingest/sentry-legacy", _json(payload), {"Content-Type": "application/json"},
                    {"token": o.token or setting("INGEST_TOKEN")}, "legacy Sentry WebHooks plugin")


def uptimerobot(o, cfg: Config, now: datetime) -> Delivery:
    if o.action == "down" and o.severity != "critical":
        raise UsageError(f"uptimerobot down is always critical (severity.levels.uptimerobot), not {o.severity}")
    service = _service(cfg, o.service)
    if o.env == "production":
        url = (service.monitors or [service.url])[0]
    elif cfg.environments.get(o.env) and cfg.environments[o.env].monitors:
        url = cfg.environments[o.env].monitors[0]
    else:
        raise UsageError(f"the team file maps no UptimeRobot monitor to {o.env} (environments.{o.env}.monitors)")
    down = o.action == "down"
    payload = {"monitorID": _number("uptimerobot", url, digits=6), "monitorURL": url,
               "monitorFriendlyName": f"{service.description or service.name} health",
               "alertType": "1" if down else "2", "alertTypeFriendlyName": "Down" if down else "Up",
               "alertDetails": "Connection Timeout" if down else "OK (200)",
               "alertDuration": "*alertDuration*" if down else "1260",
               "alertFriendlyDuration": "*alertFriendlyDuration*" if down else "21 minutes and 0 seconds",
               "alertDateTime": str(int(now.timestamp())), "sslExpiryDaysLeft": "*sslExpiryDaysLeft*"}
    return Delivery("/ingest/uptimerobot", _json(payload), {"Content-Type": "application/json"},
                    {"token": o.token or setting("INGEST_TOKEN")}, f"UptimeRobot {o.action}")


def _prometheus_alert(o, now: datetime, grafana: bool) -> dict:
    s, firing = SCENARIOS[o.severity], o.action == "firing"
    labels = {"alertname": s.alertname, "severity": s.level, "service": o.service, "environment": o.env,
              "instance": f"{o.service}-1:8080"}
    alert = {"status": "firing" if firing else "resolved", "labels": labels,
             "annotations": {"summary": s.summary, "description": s.description,
                             "runbook_url": f"https://wiki.petties.world/runbooks/{s.alertname}"},
             "startsAt": _iso(now.replace(minute=0, second=0, microsecond=0)),
             "endsAt": "0001-01-01T00:00:00Z" if firing else _iso(now),
             "generatorURL": f"http://prometheus:9090/graph?g0.expr={s.alertname}",
             "fingerprint": hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]}
    if grafana:
        alert.update({"generatorURL": f"https://grafana.petties.world/alerting/{s.alertname.lower()}/edit",
                      "silenceURL": "https://grafana.petties.world/alerting/silence/new", "dashboardURL": "",
                      "panelURL": "", "values": {"B": 87.2, "C": 1}})
    return alert


def alertmanager(o, cfg: Config, now: datetime) -> Delivery:
    alert = _prometheus_alert(o, now, grafana=False)
    payload = {"version": "4", "receiver": "incidents", "status": alert["status"], "truncatedAlerts": 0,
               "groupKey": f'{{}}:{{alertname="{alert["labels"]["alertname"]}"}}',
               "groupLabels": {"alertname": alert["labels"]["alertname"]}, "commonLabels": alert["labels"],
               "commonAnnotations": alert["annotations"], "externalURL": "http://alertmanager:9093", "alerts": [alert]}
    return Delivery("/ingest/alertmanager", _json(payload), {"Content-Type": "application/json"},
                    {"token": o.token or setting("INGEST_TOKEN")}, f"Alertmanager webhook ({o.action})")


def grafana(o, cfg: Config, now: datetime) -> Delivery:
    alert = _prometheus_alert(o, now, grafana=True)
    firing = o.action == "firing"
    payload = {"receiver": "incidents", "status": alert["status"], "orgId": 1, "alerts": [alert],
               "groupLabels": {"alertname": alert["labels"]["alertname"]}, "commonLabels": alert["labels"],
               "commonAnnotations": alert["annotations"], "externalURL": "https://grafana.petties.world/",
               "version": "1", "groupKey": '{}/{}:{alertname="' + alert["labels"]["alertname"] + '"}',
               "truncatedAlerts": 0, "state": "alerting" if firing else "ok",
               "title": f"[{'FIRING' if firing else 'RESOLVED'}:1] {alert['labels']['alertname']} ({o.service})",
               "message": f"**{'Firing' if firing else 'Resolved'}**\n\n{alert['annotations']['summary']}"}
    body = _json(payload)
    secret = o.secret or setting("GRAFANA_WEBHOOK_SECRET")
    if secret:  # the HMAC contact point setting; without it, the ingest token in the URL
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return Delivery("/ingest/grafana", body, {"Content-Type": "application/json",
                                                  "X-Grafana-Alerting-Signature": signature},
                        describe=f"Grafana webhook ({o.action}, signed)")
    return Delivery("/ingest/grafana", body, {"Content-Type": "application/json"},
                    {"token": o.token or setting("INGEST_TOKEN")}, f"Grafana webhook ({o.action})")


def pagerduty(o, cfg: Config, now: datetime) -> Delivery:
    keys = dict(item.strip().partition("=")[::2] for item in setting("PAGERDUTY_ROUTING_KEYS").split(",") if item)
    key = o.token or next((k for k, service in keys.items() if service.strip() == o.service), "")
    if not key:
        raise UsageError(f"no routing key in PAGERDUTY_ROUTING_KEYS maps to {o.service}: add <32 chars>={o.service} "
                         "there and on the server, or pass --token")
    s = SCENARIOS[o.severity]
    event = {"routing_key": key, "event_action": {"ack": "acknowledge"}.get(o.action, o.action),
             "dedup_key": f"{o.service}/{s.alertname}/{o.env}", "client": "Petties Monitoring",
             "client_url": f"https://monitoring.petties.world/alerts/{s.alertname}"}
    if o.action == "trigger":
        event["payload"] = {"summary": s.summary, "source": f"{o.service}-1", "severity": s.pagerduty,
                            "timestamp": _iso(now), "component": o.service, "group": o.env, "class": s.alertname,
                            "custom_details": {"description": s.description}}
        event["links"] = [{"href": f"https://grafana.petties.world/d/{o.service}", "text": "Dashboard"}]
    return Delivery("/ingest/pagerduty/v2/enqueue", _json(event), {"Content-Type": "application/json"},
                    describe=f"PagerDuty Events v2 {event['event_action']}")


BUILDERS = {"sentry": sentry, "sentry-legacy": sentry_legacy, "uptimerobot": uptimerobot,
            "alertmanager": alertmanager, "grafana": grafana, "pagerduty": pagerduty}


def _service(cfg: Config, name: str):
    return next(s for s in cfg.services if s.name == name)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{message} (options: {OPTIONS})")


def parse_args(argv: list[str], cfg: Config) -> argparse.Namespace:
    """Read SOURCE [ACTION] [options]; UsageError names the choices."""
    parser = _Parser(prog="./deploy.sh alert", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("source", nargs="?", help=", ".join(ACTIONS))
    parser.add_argument("action", nargs="?", help="; ".join(f"{k}: {'|'.join(v)}" for k, v in ACTIONS.items()
                                                              if len(v) > 1) + " (default: the first)")
    parser.add_argument("--severity", default="critical", help="critical|high|medium|low (default critical)")
    parser.add_argument("--service", default=cfg.services[0].name if len(cfg.services) == 1 else None,
                        help=f"a service of the team file: {', '.join(s.name for s in cfg.services)}")
    parser.add_argument("--env", default=cfg.default_environment, help=f"{', '.join(cfg.environments)}")
    parser.add_argument("--repeat", type=int, default=1, help="N occurrences of the problem (new delivery ids)")
    parser.add_argument("--replay", action="store_true", help="deliver the last one again, byte for byte")
    parser.add_argument("--url", help="base URL of the stack (default http://127.0.0.1:$PORT, PORT 8080)")
    parser.add_argument("--token", help="INGEST_TOKEN (the routing key for pagerduty)")
    parser.add_argument("--secret", help="SENTRY_CLIENT_SECRET for sentry, GRAFANA_WEBHOOK_SECRET for grafana")
    parser.add_argument("--api-token", help="API_TOKEN, to read the incident back")
    o = parser.parse_args(argv)
    if o.source not in ACTIONS:
        what = f"unknown source {o.source!r}" if o.source else "which source?"
        raise UsageError(f"{what} (choose: {', '.join(ACTIONS)})")
    o.action = o.action or ACTIONS[o.source][0]
    if o.action not in ACTIONS[o.source] + (["acknowledge"] if o.source == "pagerduty" else []):
        raise UsageError(f"unknown {o.source} action {o.action!r} (choose: {'|'.join(ACTIONS[o.source])})")
    o.action = "ack" if o.action == "acknowledge" else o.action
    if o.severity not in SCENARIOS:
        raise UsageError(f"unknown severity {o.severity!r} (choose: {', '.join(SCENARIOS)})")
    names = [s.name for s in cfg.services]
    o.service = o.service or ("petties-backend" if "petties-backend" in names else names[0])
    if o.service not in names:
        raise UsageError(f"unknown service {o.service!r} (choose: {', '.join(names)})")
    if o.env not in cfg.environments:
        raise UsageError(f"unknown environment {o.env!r} (choose: {', '.join(cfg.environments)})")
    if o.repeat < 1:
        raise UsageError("--repeat needs a number of occurrences, 1 or more")
    o.url = (o.url or f"http://127.0.0.1:{os.environ.get('PORT') or 8080}").rstrip("/")
    o.api_token = o.api_token or setting("API_TOKEN")
    return o


def expected(o, cfg: Config) -> str:
    """Return the severity the team file should give the sample (staging may cap it)."""
    cap = cfg.environments[o.env].max_severity
    if cap and Severity.parse(o.severity) > Severity.parse(cap):
        return f"{cap} (asked {o.severity}; {o.env} caps it at {cap})"
    return o.severity


def post(client: httpx.Client, delivery: Delivery) -> httpx.Response:
    """Send one delivery (tests wrap this to look at Firestore between sends)."""
    return client.post(delivery.path, content=delivery.body, headers=delivery.headers, params=delivery.params)


def _answer(r: httpx.Response) -> str:
    try:
        return json.dumps(r.json())
    except ValueError:
        return r.text[:300]


def _find(client: httpx.Client, o, answer: dict, auth: dict) -> dict | None:
    """Return the incident the answer names (PagerDuty's answer names only its dedup key)."""
    if answer.get("incident"):
        r = client.get(f"/api/incidents/{answer['incident']}", headers=auth)
        return r.json() if r.status_code == 200 else None
    if answer.get("dedup_key"):  # newest first: the incident this PagerDuty dedup key is on now
        r = client.get("/api/incidents", params={"limit": 100}, headers=auth)
        wanted = f"pagerduty:{o.service}:{answer['dedup_key']}"
        if r.status_code == 200:
            return next((i for i in r.json()["incidents"] if i["dedup_key"] == wanted), None)
    return None


def run(o, cfg: Config, out=None) -> int:
    """Send the sample(s), print each answer and where to look; 0 when every answer was 2xx."""
    out = out or sys.stdout
    build = BUILDERS[o.source]
    sends = [build(o, cfg, datetime.now(timezone.utc)) for _ in range(o.repeat)]
    if o.replay:
        sends.append(sends[-1])
    ok, last = True, {}
    print(f"{o.source} {o.action}: {o.service}, {o.env}"
          + (f", expected severity {expected(o, cfg)}" if o.action in OPENING else ""), file=out)
    with httpx.Client(base_url=o.url, timeout=30) as client:
        for number, delivery in enumerate(sends, 1):
            again = o.replay and number == len(sends)
            rid = delivery.headers.get("Request-ID")
            print(f"{'replay of the last delivery' if again else delivery.describe}"
                  f"{f', Request-ID {rid}' if rid else ''}: POST {o.url}{delivery.path}", file=out)
            try:
                r = post(client, delivery)
            except httpx.HTTPError as e:
                print(f"cannot reach {o.url} ({e.__class__.__name__}): is ./deploy.sh local running "
                      "(PORT=...), or is --url right?", file=out)
                return 1
            print(f"  -> {r.status_code} {_answer(r)}", file=out)
            ok = ok and r.is_success
            last = r.json() if r.is_success else last
            if o.repeat > 1 and not again:
                time.sleep(0.05)  # occurrences a moment apart, as a source sends them
        if again and not rid:
            print(f"  ({o.source} deliveries carry no delivery id: the same body again counts as what it says, "
                  "one more occurrence of an open problem)", file=out)
        auth = {"Authorization": f"Bearer {o.api_token}"}
        incident = _find(client, o, last, auth) if last else None
    _where(o, incident, last, out)
    return 0 if ok else 1


def _where(o, incident: dict | None, answer: dict, out) -> None:
    local = o.url.startswith(("http://127.0.0.1", "http://localhost"))
    token = o.api_token if o.api_token == LOCAL_DEFAULTS["API_TOKEN"] else "$API_TOKEN"  # never print a real one
    ident = (incident or {}).get("id") or answer.get("incident")
    if incident:
        print(f"{incident['id']}: {incident['severity']}, {incident['service']}, {incident['environment']}, "
              f"{incident['status']}, occurrences {incident['occurrences']}", file=out)
        print(f"  severity: {incident['severity_reason']}", file=out)
    if ident:
        print(f"Incident:       {o.url}/api/incidents/{ident}", file=out)
        print(f"  curl -s -H 'Authorization: Bearer {token}' {o.url}/api/incidents/{ident}", file=out)
    print(f"Notifications:  {o.url}/_local/notifications" if local
          else "Notifications:  in the channels the team file routes this severity to", file=out)


def main(argv: list[str] | None = None) -> int:
    try:
        cfg = load_config()
        o = parse_args(sys.argv[1:] if argv is None else argv, cfg)
        return run(o, cfg)
    except (UsageError, ConfigError) as e:
        print(f"alert: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
