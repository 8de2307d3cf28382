"""The sample alerts ./deploy.sh alert sends: one realistic delivery per source, as each vendor sends it (signed,
with its headers), for a service and environment of the team file, worded as shared/local/wording.py chose
(shared/local/alert.py is the command)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from shared.config import Config
from shared.config.frozen import frozen
from shared.sources.common import hmac_sha256

# What ./deploy.sh local sets when the environment does not (cmd_local); the environment wins. Its PagerDuty
# routing key names the team file's first service (local_routing_keys).
LOCAL_DEFAULTS = {"SENTRY_CLIENT_SECRET": "local-sentry-secret", "INGEST_TOKEN": "local-ingest-token",
                  "API_TOKEN": "local-api-token"}
LOCAL_ROUTING_KEY = "local-pagerduty-routing-key-0001"   # 32 characters, as PagerDuty's are
ACTIONS = {"sentry": ["firing"], "sentry-legacy": ["firing"], "uptimerobot": ["down", "up"],
           "alertmanager": ["firing", "resolved"], "grafana": ["firing", "resolved"],
           "pagerduty": ["trigger", "ack", "resolve"]}
OPENING = {"firing", "down", "trigger"}
OPTIONS = "--severity, --service, --env, --repeat, --replay, --url, --token, --secret, --api-token"


@frozen
class Scenario:
    """The level and wording of one sample problem (SCENARIOS: worded for the Petties rules, the first candidates
    shared/local/wording.py tries)."""

    sentry_level: str    # severity.levels.sentry
    level: str           # the severity label of Alertmanager / Grafana (severity.levels.alertmanager)
    pagerduty: str       # payload.severity (severity.levels.pagerduty)
    exception: str
    value: str
    culprit: str
    alertname: str
    summary: str
    description: str
    tags: tuple[tuple[str, str], ...] = ()   # extra Sentry tags / Alertmanager labels (a rule's `tags`)


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


class Unfit(Exception):
    """The team file (or the environment) cannot give the sample asked for; exit 1 with one line saying why."""


def local_routing_keys(cfg: Config) -> str:
    """Return the PAGERDUTY_ROUTING_KEYS ./deploy.sh local sets unless it is set: one key, the first service's."""
    return f"{LOCAL_ROUTING_KEY}={cfg.services[0].name}" if cfg.services else ""


def setting(name: str, cfg: Config | None = None) -> str:
    """Return the variable as ./deploy.sh local would have it (the environment, else its local default)."""
    if name == "PAGERDUTY_ROUTING_KEYS":
        return os.environ.get(name) or (local_routing_keys(cfg) if cfg else "")
    return os.environ.get(name) or LOCAL_DEFAULTS.get(name, "")


def routing_keys(cfg: Config) -> dict[str, str]:
    """Return the routing keys (key -> service) the local server was given."""
    return dict((k.strip(), v.strip()) for k, _, v in (item.partition("=") for item in
                                                       setting("PAGERDUTY_ROUTING_KEYS", cfg).split(",")) if k.strip())


def _number(*parts: str, digits: int = 10) -> str:
    """Return a stable id for one sample problem (the same options name the same problem)."""
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return str(int(digest, 16) % 10 ** digits).rjust(digits, "1")


def _iso(now: datetime) -> str:
    return now.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _org(cfg: Config) -> str:
    """Return the team's Sentry organization slug (sentry.organization, else from the team's name)."""
    return cfg.sentry.organization or re.sub(r"[^a-z0-9]+", "-", cfg.team.name.lower()).strip("-") or "team"


def _domain(cfg: Config) -> str:
    """Return the team's own domain for the links a sample carries (its first service's, else an example one)."""
    host = next((urlsplit(s.url).hostname for s in cfg.services if urlsplit(s.url).hostname), None)
    return ".".join(host.split(".")[-2:]) if host else f"{_org(cfg)}.example"


def sentry(o, cfg: Config, now: datetime, s: Scenario) -> Delivery:
    issue, event_id = _number("sentry", o.severity, o.service, o.env), uuid.uuid4().hex
    project = service_of(cfg, o.service).sentry_projects[0] if service_of(cfg, o.service).sentry_projects else o.service
    web = f"https://{_org(cfg)}.sentry.io/issues/{issue}/"
    payload = {
        "action": "triggered", "actor": {"type": "application", "id": "sentry", "name": "Sentry"},
        "installation": {"uuid": "7d2b0c3e-5f1a-4e8b-9c61-2a4f0d8e9b17"},
        "data": {"triggered_rule": "Send to incident response", "issue_alert": {"title": "Send to incident response"},
                 "event": {
            "event_id": event_id, "issue_id": issue, "level": s.sentry_level, "type": "error",
            "title": f"{s.exception}: {s.value}", "message": "", "culprit": s.culprit, "location": s.culprit,
            "metadata": {"type": s.exception, "value": s.value}, "platform": "java", "environment": o.env,
            "datetime": _iso(now), "timestamp": now.timestamp(), "received": now.timestamp(),
            "tags": [["environment", o.env], ["level", s.sentry_level], ["server_name", f"{o.service}-1"],
                     *[list(tag) for tag in s.tags]],
            "url": f"https://sentry.io/api/0/projects/{_org(cfg)}/{project}/events/{event_id}/",
            "issue_url": f"https://sentry.io/api/0/issues/{issue}/", "web_url": f"{web}events/{event_id}/"}}}
    body = _json(payload)
    secret = o.secret or setting("SENTRY_CLIENT_SECRET")
    return Delivery("/ingest/sentry", body, {
        "Content-Type": "application/json", "Request-ID": uuid.uuid4().hex, "Sentry-Hook-Resource": "event_alert",
        "Sentry-Hook-Timestamp": str(int(now.timestamp())),
        "Sentry-Hook-Signature": hmac_sha256(secret, body)},
        describe="Sentry event_alert triggered")


def sentry_legacy(o, cfg: Config, now: datetime, s: Scenario) -> Delivery:
    issue = _number("sentry", o.severity, o.service, o.env)
    project = service_of(cfg, o.service).sentry_projects[0] if service_of(cfg, o.service).sentry_projects else o.service
    env = (cfg.environments[o.env].aliases or [o.env])[0]  # the plugin sends the SDK's name (an alias in the team file)
    payload = {"id": issue, "project": project, "project_name": project, "project_slug": project, "logger": None,
               "level": s.sentry_level, "culprit": s.culprit, "message": f"{s.exception}: {s.value}",
               "url": f"https://{_org(cfg)}.sentry.io/issues/{issue}/?referrer=webhooks_plugin",
               "triggering_rules": ["Send to incident response"],
               "event": {"event_id": uuid.uuid4().hex, "environment": env, "timestamp": now.timestamp(),
                         "tags": [["level", s.sentry_level], ["environment", env], ["server_name", f"{o.service}-1"],
                                  *[list(tag) for tag in s.tags]]}}
    return Delivery("/ingest/sentry-legacy", _json(payload), {"Content-Type": "application/json"},
                    {"token": o.token or setting("INGEST_TOKEN")}, "legacy Sentry WebHooks plugin")


def uptimerobot(o, cfg: Config, now: datetime, s: Scenario) -> Delivery:
    service = service_of(cfg, o.service)
    if cfg.environments[o.env].monitors:
        url = cfg.environments[o.env].monitors[0]
    elif o.env == cfg.default_environment and service.monitors:
        url = service.monitors[0]
    else:
        where = f"environments.{o.env}.monitors" if o.env != cfg.default_environment else \
            f"services.{o.service}.monitors"
        raise Unfit(f"the team file maps no UptimeRobot monitor to {o.service} in {o.env} ({where})")
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


def _prometheus_alert(o, cfg: Config, now: datetime, s: Scenario, grafana: bool) -> dict:
    firing = o.action == "firing"
    labels = {"alertname": s.alertname, "severity": s.level, "service": o.service, "environment": o.env,
              "instance": f"{o.service}-1:8080", **dict(s.tags)}
    alert = {"status": "firing" if firing else "resolved", "labels": labels,
             "annotations": {"summary": s.summary, "description": s.description,
                             "runbook_url": f"https://wiki.{_domain(cfg)}/runbooks/{s.alertname}"},
             "startsAt": _iso(now.replace(minute=0, second=0, microsecond=0)),
             "endsAt": "0001-01-01T00:00:00Z" if firing else _iso(now),
             "generatorURL": f"http://prometheus:9090/graph?g0.expr={s.alertname}",
             "fingerprint": hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]}
    if grafana:
        alert.update({"generatorURL": f"https://grafana.{_domain(cfg)}/alerting/{s.alertname.lower()}/edit",
                      "silenceURL": f"https://grafana.{_domain(cfg)}/alerting/silence/new", "dashboardURL": "",
                      "panelURL": "", "values": {"B": 87.2, "C": 1}})
    return alert


def alertmanager(o, cfg: Config, now: datetime, s: Scenario) -> Delivery:
    alert = _prometheus_alert(o, cfg, now, s, grafana=False)
    payload = {"version": "4", "receiver": "incidents", "status": alert["status"], "truncatedAlerts": 0,
               "groupKey": f'{{}}:{{alertname="{alert["labels"]["alertname"]}"}}',
               "groupLabels": {"alertname": alert["labels"]["alertname"]}, "commonLabels": alert["labels"],
               "commonAnnotations": alert["annotations"], "externalURL": "http://alertmanager:9093", "alerts": [alert]}
    return Delivery("/ingest/alertmanager", _json(payload), {"Content-Type": "application/json"},
                    {"token": o.token or setting("INGEST_TOKEN")}, f"Alertmanager webhook ({o.action})")


def grafana(o, cfg: Config, now: datetime, s: Scenario) -> Delivery:
    alert = _prometheus_alert(o, cfg, now, s, grafana=True)
    firing = o.action == "firing"
    payload = {"receiver": "incidents", "status": alert["status"], "orgId": 1, "alerts": [alert],
               "groupLabels": {"alertname": alert["labels"]["alertname"]}, "commonLabels": alert["labels"],
               "commonAnnotations": alert["annotations"], "externalURL": f"https://grafana.{_domain(cfg)}/",
               "version": "1", "groupKey": '{}/{}:{alertname="' + alert["labels"]["alertname"] + '"}',
               "truncatedAlerts": 0, "state": "alerting" if firing else "ok",
               "title": f"[{'FIRING' if firing else 'RESOLVED'}:1] {alert['labels']['alertname']} ({o.service})",
               "message": f"**{'Firing' if firing else 'Resolved'}**\n\n{alert['annotations']['summary']}"}
    body = _json(payload)
    secret = o.secret or setting("GRAFANA_WEBHOOK_SECRET")
    if secret:  # the HMAC contact point setting; without it, the ingest token in the URL
        signature = hmac_sha256(secret, body)
        return Delivery("/ingest/grafana", body, {"Content-Type": "application/json",
                                                  "X-Grafana-Alerting-Signature": signature},
                        describe=f"Grafana webhook ({o.action}, signed)")
    return Delivery("/ingest/grafana", body, {"Content-Type": "application/json"},
                    {"token": o.token or setting("INGEST_TOKEN")}, f"Grafana webhook ({o.action})")


def pagerduty(o, cfg: Config, now: datetime, s: Scenario) -> Delivery:
    key = o.token or next((k for k, service in routing_keys(cfg).items() if service == o.service), "")
    if not key:
        raise Unfit(f"no routing key in PAGERDUTY_ROUTING_KEYS maps to {o.service}: add <32 chars>={o.service} "
                    "there and on the server, or pass --token")
    event = {"routing_key": key, "event_action": {"ack": "acknowledge"}.get(o.action, o.action),
             "dedup_key": f"{o.service}/{s.alertname}/{o.env}", "client": f"{cfg.team.name} Monitoring",
             "client_url": f"https://monitoring.{_domain(cfg)}/alerts/{s.alertname}"}
    if o.action == "trigger":
        event["payload"] = {"summary": s.summary, "source": f"{o.service}-1", "severity": s.pagerduty,
                            "timestamp": _iso(now), "component": o.service, "group": o.env, "class": s.alertname,
                            "custom_details": {"description": s.description}}
        event["links"] = [{"href": f"https://grafana.{_domain(cfg)}/d/{o.service}", "text": "Dashboard"}]
    return Delivery("/ingest/pagerduty/v2/enqueue", _json(event), {"Content-Type": "application/json"},
                    describe=f"PagerDuty Events v2 {event['event_action']}")


BUILDERS = {"sentry": sentry, "sentry-legacy": sentry_legacy, "uptimerobot": uptimerobot,
            "alertmanager": alertmanager, "grafana": grafana, "pagerduty": pagerduty}


def service_of(cfg: Config, name: str):
    return next(s for s in cfg.services if s.name == name)
