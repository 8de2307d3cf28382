"""Sentry in step: an incident that came from a Sentry issue and is resolved here (console, API, Discord; ❌ invalid
too) resolves that issue in Sentry, through the outbox like any message (retried, exactly once).

Docs: https://docs.sentry.io/api/events/update-an-issue/
    PUT /api/0/organizations/{organization_id_or_slug}/issues/{issue_id}/   {"status": "resolved"}
    Authorization: Bearer SENTRY_API_TOKEN (a token with the event:write scope); the organization is the team
    file's sentry.organization. Resolving a resolved issue again answers 200, so a retry after a lost answer is safe.
Sentry then sends its own `resolved` webhook; the incident is resolved already, so ingest changes nothing (and an
incident Sentry resolved itself plans no record here: nothing is sent back).
"""
from __future__ import annotations

from datetime import datetime

from shared.channels.base import Channel, Context, Message, Result, classify, request, transport_error
from shared.config import Config
from shared.lazy import httpx
from shared.model import Incident

ISSUE_KEY = "sentry:"   # an incident from a Sentry issue has the dedup key sentry:<issue id> (shared/sources/sentry.py)
RESOLVED_BODY = {"status": "resolved"}


def issue_of(dedup_key: str) -> str:
    """Return the Sentry issue id an incident's dedup key names ('' when it names none)."""
    issue = dedup_key.removeprefix(ISSUE_KEY) if dedup_key.startswith(ISSUE_KEY) else ""
    return issue if issue.isdigit() else ""


def issue_path(organization: str, issue: str) -> str:
    return f"/api/0/organizations/{organization}/issues/{issue}/"


class Sentry(Channel):
    """Resolves the Sentry issue of an incident resolved here; sends nothing else."""

    name = "sentry"

    def configured(self) -> bool:
        return bool(self.settings.sentry_api_token)

    def render(self, kind: str, incident: Incident | None, cfg: Config, now: datetime, ctx: Context) -> Message:
        issue, organization = issue_of(incident.dedup_key), cfg.sentry.organization
        path = issue_path(organization, issue)
        payload = {"organization": organization, "issue": issue, "path": path, "json": RESOLVED_BODY}
        preview = f"✅ Resolve Sentry issue {issue} in {organization}: PUT {path} {{\"status\": \"resolved\"}}"
        return Message(kind, payload, preview)

    def skips(self, message: Message) -> str:
        if not message.payload["issue"]:
            return "its incident is not a Sentry issue"
        if not message.payload["organization"]:
            return "Sentry resolution is off: the team file names no sentry.organization"
        if not self.configured() and not self.settings.local_preview:
            # production without the token: a choice, not a gap; locally the preview page shows what it would do
            return "Sentry resolution is off: SENTRY_API_TOKEN is not set"
        return ""

    def send(self, message: Message, timeout: float) -> Result:
        url = f"{self.settings.sentry_api_url}{message.payload['path']}"
        headers = {"Authorization": f"Bearer {self.settings.sentry_api_token.reveal()}"}
        try:
            response = request(self.name, "PUT", url, timeout, json=RESOLVED_BODY, headers=headers)
        except httpx.HTTPError as e:
            return transport_error(e)
        return classify(response, message.payload["issue"])   # 404 (gone, merged) and 403 are permanent
