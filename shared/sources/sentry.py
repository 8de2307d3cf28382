"""Sentry integration-platform webhooks (internal or public integration).

Example (`Sentry-Hook-Resource: issue`, signed with the integration's client secret):

    {"action": "created", "actor": {"type": "application", "id": "sentry", "name": "Sentry"},
     "data": {"issue": {"id": "1170820242", "shortId": "FRONT-END-9", "title": "ReferenceError: ...",
              "culprit": "?(runner)", "level": "error", "count": "1", "userCount": 1,
              "project": {"slug": "front-end"}, "lastSeen": "2019-08-19T20:58:37.391000Z"}},
     "installation": {"uuid": "a8e5d37a-..."}}

Docs: https://docs.sentry.io/organization/integrations/integration-platform/webhooks/
"""
from __future__ import annotations

import re

from shared.clock import clock
from shared.config.settings import Settings
from shared.errors import BadInput, Unauthorized
from shared.model import Action, Alert
from shared.rules.text import quoted
from shared.sources.common import InboundRequest, check_hmac_sha256, integer, obj, tags, text, timestamp

NAME = "sentry"
AUTH = "Sentry-Hook-Signature: HMAC-SHA256 of the raw body with SENTRY_CLIENT_SECRET"

ISSUE_ACTIONS = {
    "created": Action.TRIGGER,
    "resolved": Action.RESOLVE,
    "assigned": Action.ASSIGN,
    "ignored": Action.IGNORE,
    "archived": Action.IGNORE,  # the docs' name for what the code calls "ignored"
    "unresolved": Action.REOPEN,
}
METRIC_ACTIONS = {"critical": Action.TRIGGER, "warning": Action.TRIGGER, "open": Action.TRIGGER,
                  "resolved": Action.RESOLVE}
# acknowledged and not stored: an app install, comments, Seer's analyses, mobile build size reports (the docs call
# that resource preprod_artifact; older code size_analysis)
IGNORED_RESOURCES = {"installation", "comment", "seer", "size_analysis", "preprod_artifact"}
EVENT_RESOURCES = {"event_alert": "event", "error": "error"}


def authenticate(req: InboundRequest, settings: Settings) -> None:
    """Verify Sentry-Hook-Signature (or Sentry-App-Signature) over the raw body."""
    signature = req.header("sentry-hook-signature") or req.header("sentry-app-signature")
    check_hmac_sha256(settings.sentry_client_secret, req.body, signature, "Sentry-Hook-Signature")
    max_age = settings.sentry_max_age_seconds
    sent = integer(req.header("sentry-hook-timestamp"), "Sentry-Hook-Timestamp") if max_age else None
    if sent is not None and abs(clock().now().timestamp() - sent) > max_age:
        raise Unauthorized(f"Sentry-Hook-Timestamp is more than {max_age} s old")


def delivery_id(req: InboundRequest) -> str | None:
    """Return Sentry's per-delivery Request-ID (a replay carries the same one)."""
    return req.header("request-id") or None


def resource_of(req: InboundRequest, payload: dict) -> str:
    resource = req.header("sentry-hook-resource").strip().lower()
    if resource:
        return resource
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    for key, name in (("metric_alert", "metric_alert"), ("issue", "issue"), ("event", "event_alert"),
                      ("error", "error"), ("installation", "installation")):
        if key in data:
            return name
    raise BadInput("missing Sentry-Hook-Resource header and the body does not say which resource it is")


def parse(req: InboundRequest) -> list[Alert]:
    """Turn one Sentry webhook into alerts (none for resources we only acknowledge)."""
    payload = req.json_object()
    resource = resource_of(req, payload)
    if resource in IGNORED_RESOURCES:
        return []
    action = text(payload.get("action")).lower()
    data = obj(payload.get("data"), "data")
    actor = payload.get("actor") if isinstance(payload.get("actor"), dict) else {}
    actor_name = text(actor.get("name")) or text(actor.get("id")) or "Sentry"
    if resource == "issue":
        return [_issue(action, data, actor_name)]
    if resource in EVENT_RESOURCES:
        if action not in ("triggered", "created"):
            raise BadInput(f"unknown {resource} action {quoted(action)}")
        return [_event(data, EVENT_RESOURCES[resource], actor_name)]
    if resource == "metric_alert":
        return [_metric(action, data, actor_name)]
    raise BadInput(f"unknown Sentry-Hook-Resource {quoted(resource)} (known: issue, event_alert, error, metric_alert, "
                   "installation)")


def _issue(action: str, data: dict, actor: str) -> Alert:
    if action not in ISSUE_ACTIONS:
        raise BadInput(f"unknown issue action {quoted(action)} (known: {', '.join(ISSUE_ACTIONS)})")
    issue = obj(data.get("issue"), "data.issue")
    issue_id = text(issue.get("id"))
    if not issue_id:
        raise BadInput("data.issue.id is missing")
    project = issue.get("project") if isinstance(issue.get("project"), dict) else {}
    metadata = issue.get("metadata") if isinstance(issue.get("metadata"), dict) else {}
    detail, extra = "", {k: v for k, v in (("short_id", text(issue.get("shortId"))),) if v}
    if ISSUE_ACTIONS[action] is Action.ASSIGN:
        assignee = data.get("assignee") if isinstance(data.get("assignee"), dict) else {}
        extra["assignee"] = text(assignee.get("name")) or text(assignee.get("email")) or "someone"
        detail = f"assigned to {extra['assignee']}"
    elif ISSUE_ACTIONS[action] is Action.RESOLVE:
        how = text(data.get("resolution_type"))
        detail = "resolved in Sentry" + (f" ({how})" if how else "")
    elif ISSUE_ACTIONS[action] is Action.IGNORE:
        detail = f"{action} in Sentry"
    elif ISSUE_ACTIONS[action] is Action.REOPEN:
        detail = "unresolved in Sentry"
    link = text(issue.get("web_url")) or text(issue.get("permalink"))
    return Alert(
        source=NAME, action=ISSUE_ACTIONS[action], dedup_key=f"sentry:{issue_id}",
        title=text(issue.get("title")) or text(metadata.get("value")) or f"Sentry issue {issue_id}",
        message=text(metadata.get("value")) or text(issue.get("title")),
        level=text(issue.get("level")).lower(), level_table="sentry",
        project=text(project.get("slug")) or text(project.get("name")),
        location=text(issue.get("culprit")),
        links={"sentry": link} if link else {},
        users=integer(issue.get("userCount"), "data.issue.userCount"),
        occurred_at=timestamp(issue.get("lastSeen")) or timestamp(issue.get("firstSeen")),
        actor=actor, detail=detail, extra=extra,
    )


_PROJECT_IN_URL = re.compile(r"/projects/[^/]+/([^/]+)/events/")
_ISSUE_IN_URL = re.compile(r"/issues/(\d+)")


def _event(data: dict, key: str, actor: str) -> Alert:
    event = obj(data.get(key), f"data.{key}")
    issue_id = text(event.get("issue_id"))
    if not issue_id:
        match = _ISSUE_IN_URL.search(text(event.get("issue_url")) or text(event.get("web_url")))
        issue_id = match.group(1) if match else ""
    if not issue_id:
        raise BadInput(f"data.{key}.issue_id is missing")
    event_tags = tags(event.get("tags"))
    project_match = _PROJECT_IN_URL.search(text(event.get("url")))
    metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
    link = text(event.get("web_url")) or text(event.get("issue_url"))
    rule = text(data.get("triggered_rule"))
    return Alert(
        source=NAME, action=Action.TRIGGER, dedup_key=f"sentry:{issue_id}",
        title=text(event.get("title")) or text(event.get("message")) or f"Sentry issue {issue_id}",
        message=text(event.get("message")) or text(metadata.get("value")) or text(event.get("title")),
        level=(text(event.get("level")) or event_tags.get("level", "")).lower(), level_table="sentry",
        project=project_match.group(1) if project_match else event_tags.get("project", ""),
        environment=text(event.get("environment")) or event_tags.get("environment", ""),
        location=text(event.get("culprit")) or text(event.get("location")),
        links={"sentry": link} if link else {},
        occurred_at=timestamp(event.get("datetime")) or timestamp(event.get("timestamp")),
        tags=event_tags, actor=actor, detail=f"alert rule {rule!r}" if rule else "",
    )


def _metric(action: str, data: dict, actor: str) -> Alert:
    if action not in METRIC_ACTIONS:
        raise BadInput(f"unknown metric_alert action {quoted(action)} (known: {', '.join(METRIC_ACTIONS)})")
    incident = obj(data.get("metric_alert"), "data.metric_alert")
    rule = incident.get("alert_rule") if isinstance(incident.get("alert_rule"), dict) else {}
    rule_id, identifier = text(rule.get("id")), text(incident.get("identifier")) or text(incident.get("id"))
    if not rule_id or not identifier:
        raise BadInput("data.metric_alert needs alert_rule.id and identifier")
    projects = rule.get("projects") or incident.get("projects") or []
    description = text(data.get("description_text")).replace("\\n", "\n")
    link = text(data.get("web_url"))
    title = text(rule.get("name")) or text(data.get("description_title")) or text(incident.get("title"))
    return Alert(
        source=NAME, action=METRIC_ACTIONS[action], dedup_key=f"sentry-metric:{rule_id}:{identifier}",
        title=title or f"Sentry metric alert {rule_id}", message=description or text(data.get("description_title")),
        level="critical" if action == "open" else action, level_table="sentry_metric",
        project=text(projects[0]) if isinstance(projects, list) and projects else "",
        environment=text(rule.get("environment")),
        location=text(rule.get("aggregate")) + (f" where {text(rule.get('query'))}" if text(rule.get("query")) else ""),
        links={"sentry": link} if link else {},
        occurred_at=timestamp(incident.get("date_closed") if action == "resolved" else None)
        or timestamp(incident.get("date_started")),
        actor=actor, detail=text(data.get("description_title")),
        extra={k: v for k, v in (("threshold", text(rule.get("threshold"))),) if v},
    )
