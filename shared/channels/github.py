"""GitHub issues: one per incident, commented and closed when it resolves; one per postmortem, its body (with the
action items as a task list) kept in step with the postmortem.

Docs: https://docs.github.com/en/rest/issues/issues (titles up to 256 characters, bodies up to 65,536)
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shared.channels.base import Channel, Context, Message, Result, classify, request, superseded, transport_error
from shared.channels.render import console_url, context, fit, postmortem_markdown, template, truncate
from shared.config import Config
from shared.config.channels import OPENED, POSTMORTEM_ISSUE, POSTMORTEM_SYNC
from shared.lazy import httpx
from shared.model import Incident

TITLE_MAX = 256
BODY_MAX = 65536
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
POSTMORTEM_LABEL = "postmortem"


def issue(incident: Incident, cfg: Config, now: datetime, public_url: str = "") -> dict:
    """Return the GitHub issue for an incident: title, Markdown body (linking to its console page when PUBLIC_URL
    is set), labels."""
    severity = incident.severity
    title = truncate(f"[{severity.name}] {incident.service}: {incident.title}".replace("\n", " "), TITLE_MAX)
    body = fit("github/issue.md.j2", context(incident, cfg, now, public_url=public_url), BODY_MAX,
               field="details_code")
    return {"title": title, "body": body,
            "labels": [f"severity:{severity.label}", f"service:{incident.service}"[:50], f"incident:{incident.id}"]}


def postmortem_issue(postmortem: dict, cfg: Config, public_url: str = "") -> dict:
    """Return the postmortem's issue: its Markdown as the body (action items as a task list), its labels; the
    `incident:<id>` label finds it again after a lost answer."""
    title = truncate(f"Postmortem {postmortem['incident']}: {postmortem['title']}".replace("\n", " "), TITLE_MAX)
    return {"title": title, "body": postmortem_body(postmortem, cfg, public_url),
            "labels": [POSTMORTEM_LABEL, f"severity:{postmortem['severity']}", f"incident:{postmortem['incident']}"]}


def postmortem_body(postmortem: dict, cfg: Config, public_url: str = "") -> str:
    """Return the postmortem's Markdown, then the link to its incident in the console (when PUBLIC_URL is set)."""
    link = console_url(postmortem["incident"], public_url)
    tail = f"\n\n🔗 Console: {link}" if link else ""
    return truncate(postmortem_markdown(postmortem, cfg, tasks=True), BODY_MAX - len(tail)) + tail


def resolved_comment(incident: Incident, cfg: Config, now: datetime) -> str:
    return template("github/resolved.md.j2", context(incident, cfg, now))


class GitHub(Channel):
    """An issue per incident (Low and Medium by default), commented and closed when it resolves."""

    name = "github"

    def configured(self) -> bool:
        return bool(self.settings.github_token and self.settings.github_repo)

    def render(self, kind: str, incident: Incident | None, cfg: Config, now: datetime, ctx: Context) -> Message:
        if kind == OPENED:
            payload = issue(incident, cfg, now, self.settings.public_url)
            return Message(kind, payload, f"{payload['title']}\n\n{payload['body']}")
        if kind == POSTMORTEM_ISSUE:
            payload = postmortem_issue(ctx.extra["postmortem"], cfg, self.settings.public_url)
            return Message(kind, payload, f"{payload['title']}\n\n{payload['body']}")
        if kind == POSTMORTEM_SYNC:
            body = postmortem_body(ctx.extra["postmortem"], cfg, self.settings.public_url)
            return Message(kind, {"body": body}, body)
        body = resolved_comment(incident, cfg, now)
        return Message(kind, body, body)

    def send(self, message: Message, timeout: float) -> Result:
        if message.kind in (OPENED, POSTMORTEM_ISSUE):
            if message.attempt > 1:  # an earlier attempt may have created it before its answer was lost
                mine = message.payload["labels"][-1]   # incident:<id>; with `postmortem`, its postmortem's issue
                found = self._find(f"{POSTMORTEM_LABEL},{mine}" if message.kind == POSTMORTEM_ISSUE else mine, timeout)
                if not found.ok or found.ref:
                    return found
            return self._call("POST", "/issues", message.payload, timeout)
        if message.kind == POSTMORTEM_SYNC:
            if not (message.ref or "").isdigit():
                return superseded("the postmortem's issue was only shown on the preview page")
            return self._call("PATCH", f"/issues/{message.ref}", message.payload, timeout, message.ref)
        if not message.ref:
            return superseded("no issue was filed (it was shown on the preview page)")
        if not message.progress.get("commented"):
            result = self._call("POST", f"/issues/{message.ref}/comments", {"body": message.payload}, timeout,
                                message.ref)
            if not result.ok:
                return result
        closed = self._call("PATCH", f"/issues/{message.ref}", {"state": "closed", "state_reason": "completed"},
                            timeout, message.ref)
        return closed if closed.ok else replace(closed, progress={"commented": True})

    def _headers(self) -> dict:
        return {**HEADERS, "Authorization": f"Bearer {self.settings.github_token.reveal()}"}

    def _url(self, path: str) -> str:
        return f"{self.settings.github_api_url}/repos/{self.settings.github_repo}{path}"

    def _find(self, label: str, timeout: float) -> Result:
        """Return the number of an issue already carrying `label` (a retry after a lost answer), if any."""
        try:
            response = request(self.name, "GET", self._url("/issues"), timeout,
                               params={"labels": label, "state": "all"}, headers=self._headers())
        except httpx.HTTPError as e:
            return transport_error(e)
        result = classify(response)
        if result.ok:
            issues = response.json()
            return Result(True, ref=str(issues[0]["number"]) if issues else None)
        return result

    def _call(self, method: str, path: str, body: dict, timeout: float, ref: str | None = None) -> Result:
        """Make one API call; a created issue's number comes back as Result.ref."""
        try:
            response = request(self.name, method, self._url(path), timeout, json=body, headers=self._headers())
        except httpx.HTTPError as e:
            return transport_error(e)
        if response.status_code == 201 and ref is None:
            ref = str(response.json().get("number"))
        return classify(response, ref)
