"""A fake of Sentry's issue API, as documented: update an issue (PUT, scope event:write) and list an organization's
issues (GET, event:read), bearer auth, the token's scopes, 404 for an issue or organization it does not know, 429
with Retry-After and 5xx through the shared faults.

https://docs.sentry.io/api/events/update-an-issue/
https://docs.sentry.io/api/events/list-an-organizations-issues/
"""
from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import FakeService, Fault, json_response

STATUSES = ("resolved", "resolvedInNextRelease", "unresolved", "ignored")   # the documented values of `status`
WRITE = ("event:write", "event:admin")
READ = ("event:read", *WRITE)
_ISSUE = re.compile(r"^/api/0/organizations/([^/]+)/issues/([^/]+)/$")
_ISSUES = re.compile(r"^/api/0/organizations/([^/]+)/issues/$")
NOT_FOUND = {"detail": "The requested resource does not exist"}


class FakeSentryApi(FakeService):
    """One organization's issues; `updates` is every PUT that changed or confirmed an issue's status."""

    def __init__(self, *, token: str = "sntryu_test", organization: str = "petties",
                 scopes: tuple[str, ...] = ("event:write",), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token, self.organization, self.scopes = token, organization, scopes
        self.issues: dict[str, dict] = {}
        self.updates: list[tuple[str, str]] = []   # (issue id, status) of each accepted PUT

    def add_issue(self, issue_id: str, status: str = "unresolved") -> None:
        self.issues[issue_id] = {"id": issue_id, "shortId": f"PETTIES-{issue_id}", "status": status,
                                 "title": f"Issue {issue_id}", "project": {"slug": "petties-backend"}}

    def fault_response(self, fault: Fault) -> Response:
        if fault.status == 429:
            return json_response({"detail": "You are attempting to use this endpoint too frequently. Limit is "
                                            "40 requests in 1 seconds"}, 429,
                                 {"Retry-After": str(fault.retry_after), **fault.headers})
        return json_response(fault.body or {"detail": "Internal Error"}, fault.status, fault.headers)

    def handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return json_response({"detail": "Invalid token"}, 401)
        one, many = _ISSUE.match(request.path), _ISSUES.match(request.path)
        match = one or many
        if match is None or match[1] != self.organization:
            return json_response(NOT_FOUND, 404)
        needs = WRITE if request.method == "PUT" else READ
        if request.method not in (("PUT", "GET") if one else ("GET",)):
            return json_response({"detail": f'Method "{request.method}" not allowed.'}, 405)
        if not set(needs) & set(self.scopes):
            return json_response({"detail": "You do not have permission to perform this action."}, 403)
        if many:
            issues = [i for i in self.issues.values() if i["status"] == "unresolved"]
            return json_response(issues[:int(request.args.get("limit", 100))])
        issue = self.issues.get(one[2])
        if issue is None:
            return json_response(NOT_FOUND, 404)
        if request.method == "GET":
            return json_response(issue)
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return json_response({"detail": "Malformed JSON"}, 400)
        status = body.get("status") if isinstance(body, dict) else None
        if status not in STATUSES:
            return json_response({"status": [f'"{status}" is not a valid choice.']}, 400)
        issue["status"] = status
        self.updates.append((issue["id"], status))
        return json_response(issue)
