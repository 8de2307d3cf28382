"""The legacy Sentry "WebHooks" plugin (per-project alert action; it cannot sign).

Example (POST ...?token=INGEST_TOKEN):

    {"id": "1170820242", "project": "petties-backend", "project_name": "petties-backend",
     "project_slug": "petties-backend", "logger": null, "level": "error", "culprit": "BookingService.create",
     "message": "Booking creation failed", "url": "https://sentry.io/.../issues/1170820242/?referrer=webhooks_plugin",
     "triggering_rules": ["Send to incident response"],
     "event": {"event_id": "...", "environment": "production", "tags": [["level", "error"]]}}

Source: getsentry/sentry src/sentry_plugins/webhooks/plugin.py (get_group_data).
"""
from __future__ import annotations

from shared.config.settings import Settings
from shared.errors import BadInput
from shared.model import Action, Alert
from shared.sources.common import InboundRequest, check_token, tags, text, timestamp

NAME = "sentry-legacy"
AUTH = "?token=INGEST_TOKEN"


def authenticate(req: InboundRequest, settings: Settings) -> None:
    check_token(req, settings.ingest_token)


def delivery_id(req: InboundRequest) -> str | None:
    return None


def parse(req: InboundRequest) -> list[Alert]:
    """Turn one legacy plugin post into a trigger for its Sentry issue."""
    payload = req.json_object()
    issue_id = text(payload.get("id"))
    if not issue_id:
        raise BadInput("id (the Sentry issue id) is missing")
    event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
    event_tags = tags(event.get("tags"))
    rules = payload.get("triggering_rules") if isinstance(payload.get("triggering_rules"), list) else []
    message = text(payload.get("message")) or text(event.get("message")) or text(event.get("title"))
    link = text(payload.get("url"))
    return [Alert(
        source=NAME, action=Action.TRIGGER, dedup_key=f"sentry:{issue_id}",
        title=text(event.get("title")) or message or f"Sentry issue {issue_id}",
        message=message,
        level=(text(payload.get("level")) or event_tags.get("level", "")).lower(), level_table="sentry",
        project=text(payload.get("project_slug")) or text(payload.get("project")) or text(payload.get("project_name")),
        environment=text(event.get("environment")) or event_tags.get("environment", ""),
        location=text(payload.get("culprit")),
        links={"sentry": link} if link else {},
        occurred_at=timestamp(event.get("datetime")) or timestamp(event.get("timestamp")),
        tags=event_tags, actor="Sentry",
        detail="alert rule " + ", ".join(repr(text(r)) for r in rules) if rules else "",
    )]
