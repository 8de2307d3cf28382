"""Prometheus Alertmanager webhook (version 4); Grafana's unified alerting sends the same shape.

Example (POST .../ingest/alertmanager?token=INGEST_TOKEN, from `webhook_configs`):

    {"version": "4", "status": "firing", "groupKey": "{}:{alertname=\\"HighLatency\\"}", "truncatedAlerts": 0,
     "commonLabels": {"alertname": "HighLatency", "severity": "critical"}, "externalURL": "http://am:9093",
     "alerts": [{"status": "firing", "labels": {"alertname": "HighLatency", "job": "petties-backend",
                 "severity": "critical"}, "annotations": {"summary": "p99 latency over 2 s"},
                 "startsAt": "2026-11-24T03:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                 "generatorURL": "http://prometheus:9090/graph?...", "fingerprint": "a1bc48475b20e73d"}]}

Docs: https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
"""
from __future__ import annotations

import hashlib

from shared.config import config
from shared.config.settings import Settings
from shared.errors import BadInput
from shared.model import Action, Alert
from shared.rules.text import quoted
from shared.sources.common import InboundRequest, check_token, integer, obj, tags, text, timestamp

NAME = "alertmanager"
AUTH = "?token=INGEST_TOKEN (or Authorization: Bearer in http_config)"
STATUSES = {"firing": Action.TRIGGER, "resolved": Action.RESOLVE}
# what Grafana sends, under the rule's own labels and annotations, when a rule's query fails or returns no data
# (alertname DatasourceError / DatasourceNoData, the rule's title in the label rulename)
GRAFANA_STATE_ALERTS = {"DatasourceError": "Query error", "DatasourceNoData": "No data"}


def authenticate(req: InboundRequest, settings: Settings) -> None:
    check_token(req, settings.ingest_token)


def delivery_id(req: InboundRequest) -> str | None:
    return None  # Alertmanager retries the same notification; a retry counts once more, like UptimeRobot's


def parse(req: InboundRequest) -> list[Alert]:
    return parse_group(req.json_object(), NAME, config().sources.alertmanager.one_incident_per)


def _fingerprint(labels: dict) -> str:
    return hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]


def parse_group(payload: dict, source: str, one_incident_per: str) -> list[Alert]:
    """Turn an Alertmanager-shaped notification (Alertmanager or Grafana) into one alert per alert."""
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise BadInput("alerts: expected a non-empty list")
    common = tags(payload.get("commonLabels"))
    truncated = integer(payload.get("truncatedAlerts"), "truncatedAlerts") or 0
    group_key = text(payload.get("groupKey"))
    out = []
    for index, item in enumerate(alerts):
        item = obj(item, f"alerts.{index}")
        status = text(item.get("status") or payload.get("status")).lower()
        if status not in STATUSES:
            got = quoted(status) if status else "nothing"
            raise BadInput(f"alerts.{index}.status: expected firing or resolved, got {got}")
        labels = {**common, **tags(item.get("labels"))}
        annotations = tags(item.get("annotations"))
        if not labels and not text(item.get("fingerprint")):
            raise BadInput(f"alerts.{index}: no labels and no fingerprint to tell the alert apart")
        if one_incident_per == "group" and group_key:
            key = f"{source}:group:{group_key}"
        else:
            key = f"{source}:{text(item.get('fingerprint')) or _fingerprint(labels)}"
        name = labels.get("alertname") or "alert"
        where = labels.get("instance") or labels.get("host") or labels.get("zone") or ""
        summary = annotations.get("summary") or annotations.get("message") or ""
        title = summary or f"{name}{f' on {where}' if where else ''}"
        if name in GRAFANA_STATE_ALERTS:   # the rule could not be evaluated: its own summary would say it fired
            title = f"{GRAFANA_STATE_ALERTS[name]}: {labels.get('rulename') or summary or name}"
        links = {k: v for k, v in (("source", text(item.get("generatorURL"))),
                                   ("dashboard", text(item.get("dashboardURL"))),
                                   ("panel", text(item.get("panelURL"))),
                                   ("silence", text(item.get("silenceURL"))),
                                   ("runbook", annotations.get("runbook_url", ""))) if v}
        detail = f"{name} {status}" + (f"; {truncated} more alerts were truncated from this group" if truncated else "")
        out.append(Alert(
            source=source, action=STATUSES[status], dedup_key=key, title=title,
            message=annotations.get("description") or summary or title,
            level=labels.get("severity", "").lower(), level_table=source,
            project=labels.get("service") or labels.get("job") or "",
            environment=labels.get("environment") or labels.get("env") or "",
            location=where, links=links,
            occurred_at=timestamp(item.get("endsAt")) if status == "resolved" else timestamp(item.get("startsAt")),
            tags=labels, actor=source.title() if source != "alertmanager" else "Alertmanager", detail=detail,
            extra={"truncated_alerts": truncated} if truncated else {},
        ))
    return out
