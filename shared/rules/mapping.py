"""Find an alert's service and environment from the team's config."""
from __future__ import annotations

from shared.config import Config
from shared.model import Alert


def _norm(value: str) -> str:
    return value.strip().lower().rstrip("/")


def _names(alert: Alert) -> set[str]:
    """Return what the config may call the alert's project or monitor."""
    names = {alert.project, alert.location, alert.tags.get("monitor_id", ""), alert.tags.get("monitor_name", "")}
    return {_norm(n) for n in names if n}


def environment_for(alert: Alert, cfg: Config) -> str:
    """Return the configured environment the alert belongs to."""
    names = _names(alert)
    for name, env in cfg.environments.items():
        if names & {_norm(p) for p in env.sentry_projects + env.monitors}:
            return name
    raw = _norm(alert.environment)
    if raw:
        return _known(raw, cfg) or raw  # an environment the config does not know keeps the source's name
    # PagerDuty's payload.group is any grouping ("prod-datapipe"): an environment only when it names one
    return _known(_norm(alert.tags.get("group", "")), cfg) or cfg.default_environment


def _known(raw: str, cfg: Config) -> str:
    """Return the configured environment `raw` names (its name or an alias), else ''."""
    for name, env in cfg.environments.items():
        if raw and (raw == name.lower() or raw in {_norm(a) for a in env.aliases}):
            return name
    return ""


def service_for(alert: Alert, cfg: Config) -> str:
    """Return the configured service the alert is about, else the source's project name."""
    names = _names(alert)
    for service in cfg.services:
        if names & {_norm(p) for p in [service.name, *service.sentry_projects, *service.monitors]}:
            return service.name
    return alert.project or "unknown"
