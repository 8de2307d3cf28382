"""Inbound alert formats: one module per source, one registry line each."""
from __future__ import annotations

from types import ModuleType

from shared.sources import alertmanager, github, grafana, pagerduty, sentry, sentry_legacy, uptimerobot

# name in the URL (/ingest/<name>) -> module with authenticate(req, settings), parse(req), delivery_id(req)
REGISTRY: dict[str, ModuleType] = {
    sentry.NAME: sentry,
    sentry_legacy.NAME: sentry_legacy,
    uptimerobot.NAME: uptimerobot,
    alertmanager.NAME: alertmanager,
    grafana.NAME: grafana,
    pagerduty.NAME: pagerduty,
    github.NAME: github,
}
