"""PagerDuty Events API v2, so that any tool with a "send to PagerDuty" button can send here.

Example (POST .../ingest/pagerduty/v2/enqueue; the routing key is the credential):

    {"routing_key": "<32 characters>", "event_action": "trigger", "dedup_key": "srv01/HTTP",
     "payload": {"summary": "DISK at 99% on srv01", "source": "srv01", "severity": "critical"},
     "client": "Sample Monitoring Service", "links": [{"href": "https://...", "text": "Dashboard"}]}

Answers as PagerDuty does: 202 {"status": "success", "message": "Event processed", "dedup_key": ...};
400 {"status": "invalid event", "message": "Event object is invalid", "errors": [...]}.
Docs: https://developer.pagerduty.com/docs/events-api-v2/trigger-events/ (PAGERDUTY_ROUTING_KEYS maps
configured keys to services: "key1=petties-backend,key2=ai-service").
"""
from __future__ import annotations

import json
import uuid

from shared.config.settings import Settings, settings
from shared.errors import BadInput
from shared.model import Action, Alert
from shared.sources.common import InboundRequest, text, timestamp

NAME = "pagerduty"
AUTH = "routing_key in the body (PAGERDUTY_ROUTING_KEYS)"
ACTIONS = {"trigger": Action.TRIGGER, "acknowledge": Action.ACKNOWLEDGE, "resolve": Action.RESOLVE}
SEVERITIES = ("critical", "error", "warning", "info")
MAX_DEDUP_KEY, MAX_SUMMARY = 255, 1024


def authenticate(req: InboundRequest, settings_: Settings) -> None:
    """The routing key is in the body; parse() checks it and answers like PagerDuty when it is wrong."""


def delivery_id(req: InboundRequest) -> str | None:
    return None


def _invalid(errors: list[str]) -> BadInput:
    return BadInput("; ".join(errors), body={"status": "invalid event", "message": "Event object is invalid",
                                             "errors": errors})


def parse(req: InboundRequest, routing_keys: dict[str, str] | None = None) -> list[Alert]:
    """Turn one event into an alert; `routing_keys` (key -> service) stands in for PAGERDUTY_ROUTING_KEYS where
    the caller knows them better (./deploy.sh alert checks its sample against the keys the local server has)."""
    try:
        event = req.json_object()
    except BadInput as e:
        raise _invalid([str(e)]) from None
    errors = []
    routing_key = text(event.get("routing_key"))
    service = (settings().pagerduty_routing_keys if routing_keys is None else routing_keys).get(routing_key)
    if not routing_key:
        errors.append("'routing_key' is missing or blank")
    elif len(routing_key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    elif service is None:
        errors.append("Invalid routing key")
    action = text(event.get("event_action")).lower()
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
    dedup = text(event.get("dedup_key"))
    if len(dedup) > MAX_DEDUP_KEY:
        errors.append(f"'dedup_key' is too long (must be at most {MAX_DEDUP_KEY} characters)")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append("'dedup_key' is missing or blank (required to acknowledge or resolve)")
    payload = event.get("payload") if isinstance(event.get("payload"), dict) else None
    if action == "trigger":
        if payload is None:
            errors.append("'payload' is missing or not an object")
        else:
            summary = text(payload.get("summary"))
            if not summary:
                errors.append("'payload.summary' is missing or blank")
            elif len(summary) > MAX_SUMMARY:
                errors.append(f"'payload.summary' is too long (must be at most {MAX_SUMMARY} characters)")
            if not text(payload.get("source")):
                errors.append("'payload.source' is missing or blank")
            if text(payload.get("severity")).lower() not in SEVERITIES:
                errors.append("'payload.severity' is invalid (must be one of: critical, error, warning, info)")
    if errors:
        raise _invalid(errors)
    dedup = dedup or uuid.uuid4().hex
    payload = payload or {}
    details = payload.get("custom_details")
    links = {text(link.get("text")) or f"link {i + 1}": text(link.get("href"))
             for i, link in enumerate(event.get("links") if isinstance(event.get("links"), list) else [])
             if isinstance(link, dict) and text(link.get("href"))}
    if text(event.get("client_url")):
        links["source"] = text(event.get("client_url"))
    client = text(event.get("client")) or "PagerDuty Events API"
    return [Alert(
        source=NAME, action=ACTIONS[action], dedup_key=f"pagerduty:{service}:{dedup}",
        title=text(payload.get("summary")) or f"PagerDuty event {dedup}",
        message=text(payload.get("summary")) + (f"\n{json.dumps(details, ensure_ascii=False)}" if details else ""),
        level=text(payload.get("severity")).lower(), level_table="pagerduty", project=service,
        tags={"group": text(payload.get("group"))} if text(payload.get("group")) else {},  # rules/mapping.py
        location=text(payload.get("component")) or text(payload.get("source")), links=links,
        occurred_at=timestamp(payload.get("timestamp")), actor=client,
        detail=f"{action} from {client}", extra={"pd_dedup_key": dedup},
    )]


def answer(alerts: list[Alert], outcomes: list) -> tuple[dict, int]:
    """Answer exactly as PagerDuty's Events API does."""
    return {"status": "success", "message": "Event processed", "dedup_key": alerts[0].extra["pd_dedup_key"]}, 202
