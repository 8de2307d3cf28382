"""A fake GitHub REST API subset: get a repository, and issues (create, list by labels, get, update, comment); auth,
per-token repository access and rate limits."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.clock import Clock
from tests.fakes.server import HANG, FakeService, Fault, json_response

# https://docs.github.com/en/rest/issues/issues
TITLE_MAX = 256
BODY_MAX = 65536
STATES = ("open", "closed")
STATE_REASONS = ("completed", "not_planned", "duplicate", "reopened", None)
PER_PAGE_DEFAULT, PER_PAGE_MAX = 30, 100
# https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
PRIMARY_LIMIT = 5000
PRIMARY_WINDOW = 3600  # seconds; x-ratelimit-reset is when the hour's quota refills
SECONDARY_LIMIT_MESSAGE = ("You have exceeded a secondary rate limit. Please wait a few minutes before you try "
                           "again. If you reach out to GitHub Support for help, please include the request ID {id}.")
DOCS = "https://docs.github.com/rest"
CREATE_DOCS = "https://docs.github.com/rest/issues/issues#create-an-issue"
NO_USER_AGENT = ("Request forbidden by administrative rules. Please make sure your request has a User-Agent header "
                 "(https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). "
                 "Check https://developer.github.com for other possible causes.")
USER = {"login": "incident-bot", "id": 1, "type": "Bot", "site_admin": False}
# https://docs.github.com/en/rest/repos/repos#get-a-repository: `permissions` is the caller's role on the repository
ROLES = ("pull", "triage", "push", "maintain", "admin")
ISSUES_DISABLED = "Issues are disabled for this repo"
JSON_UTF8 = "application/json; charset=utf-8"

_ROUTES = Map([
    Rule("/repos/<owner>/<repo>", methods=["GET"], endpoint="repo"),
    Rule("/repos/<owner>/<repo>/issues", methods=["GET", "POST"], endpoint="issues"),
    Rule("/repos/<owner>/<repo>/issues/<int:number>", methods=["GET", "PATCH"], endpoint="issue"),
    Rule("/repos/<owner>/<repo>/issues/<int:number>/comments", methods=["GET", "POST"], endpoint="comments"),
])


def _message(status: int, message: str, docs: str = DOCS, **extra: Any) -> Response:
    return json_response({"message": message, **extra, "documentation_url": docs, "status": str(status)}, status,
                         content_type=JSON_UTF8)


def _invalid(resource: str, field: str, code: str, message: str | None = None) -> Response:
    error = {"resource": resource, "code": code, "field": field, **({"message": message} if message else {})}
    return _message(422, "Validation Failed", CREATE_DOCS, errors=[error])


class FakeGitHub(FakeService):
    """GitHub issues at the HTTP boundary; .issues maps number -> record (with comments and events lists)."""

    FAULT_STATUSES = (500, 502, 503, 403, 429, HANG)

    def __init__(self, *, tokens: tuple[str, ...] = ("test-github-token",),
                 repos: tuple[str, ...] = ("acme/incidents",),
                 rate_limit: int = PRIMARY_LIMIT, fail_ratio: float = 0.0, seed: int | None = 0,
                 hang_seconds: float = 2.0, clock: Clock | None = None) -> None:
        super().__init__(fail_ratio=fail_ratio, seed=seed, hang_seconds=hang_seconds, clock=clock)
        self.tokens = set(tokens)
        self.rate_limit, self.used, self.reset_at = rate_limit, 0, int(self.clock.time()) + PRIMARY_WINDOW
        self.repos: dict[str, dict[str, Any]] = {}
        self._ids = 1000
        for full_name in repos:
            self.add_repo(full_name)

    def add_repo(self, full_name: str, *, access: dict[str, str] | None = None, has_issues: bool = True,
                 archived: bool = False) -> None:
        """Create an empty (private) repository owner/name.

        access maps a token to its role (pull, triage, push, maintain, admin); None gives every token admin.
        A token without a role there gets 404 for the repository, as GitHub hides private repositories.
        Without issues (has_issues=False) creating one is 410 Gone; an archived repository is read-only (403).
        """
        if access and not set(access.values()) <= set(ROLES):
            raise ValueError(f"roles are {', '.join(ROLES)}")
        with self._lock:
            self.repos[full_name.lower()] = {"full_name": full_name, "issues": {}, "labels": {}, "access": access,
                                             "has_issues": has_issues, "archived": archived, "id": self._next_id()}

    @property
    def issues(self) -> dict[int, dict[str, Any]]:
        """Return the issues of the first configured repository, by number."""
        return next(iter(self.repos.values()))["issues"]

    def issues_for(self, full_name: str) -> dict[int, dict[str, Any]]:
        """Return one repository's issues, by number."""
        return self.repos[full_name.lower()]["issues"]

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- headers, faults, auth ----------------------------------------------------------------------------------
    def decorate(self, request: Request, response: Response) -> None:
        """Add the primary rate-limit headers GitHub puts on every answer."""
        response.headers.update({
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(max(self.rate_limit - self.used, 0)),
            "x-ratelimit-reset": str(self.reset_at), "x-ratelimit-used": str(self.used),
            "x-ratelimit-resource": "core",
            "x-github-request-id": uuid.uuid4().hex[:20].upper(), "x-github-api-version-selected": "2022-11-28"})

    def fault_response(self, fault: Fault) -> Response:
        """Answer 403/429 as a secondary rate limit (retry-after: 1), 5xx with {message}."""
        if fault.status in (403, 429):
            response = _message(fault.status, SECONDARY_LIMIT_MESSAGE.format(id=uuid.uuid4().hex[:20].upper()),
                                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
            response.headers["retry-after"] = "1"
            return response
        phrase = {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(fault.status, "Error")
        return json_response({"message": phrase}, fault.status, content_type=JSON_UTF8)

    def _authenticate(self, request: Request) -> Response | None:
        if not request.headers.get("User-Agent"):
            return Response(NO_USER_AGENT, 403, content_type="text/plain")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if not token:
            return _message(401, "Requires authentication")
        if scheme.lower() not in ("bearer", "token") or token.strip() not in self.tokens:
            return _message(401, "Bad credentials")
        if self.clock.time() >= self.reset_at:  # a new window: the quota refills
            self.used, self.reset_at = 0, int(self.clock.time()) + PRIMARY_WINDOW
        if self.used >= self.rate_limit:
            return _message(403, "API rate limit exceeded for user ID 1.",
                            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
        self.used += 1
        return None

    # -- routing ----------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Check User-Agent, token and rate limit, then route; unknown repos and paths are 404."""
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        try:
            endpoint, args = _ROUTES.bind("api.github.com").match(request.path, request.method)
        except HTTPException:
            return _message(404, "Not Found")
        repo = self.repos.get(f"{args.pop('owner')}/{args.pop('repo')}".lower())
        if repo is None or self._role(repo, request) is None:
            return _message(404, "Not Found")
        if endpoint == "repo":
            return json_response(self._render_repo(repo, self._role(repo, request)), content_type=JSON_UTF8)
        body: Any = {}
        if request.method in ("POST", "PATCH"):
            try:
                body = json.loads(request.get_data() or b"{}")
            except ValueError:
                return _message(400, "Problems parsing JSON")
            if not isinstance(body, dict):
                return _message(422, "Invalid request.\n\nFor 'links/0/schema', value is not an object.")
        return getattr(self, f"_{endpoint}_{request.method.lower()}")(repo, body, request, **args)

    def _issues_get(self, repo: dict, body: dict, request: Request) -> Response:
        state = request.args.get("state", "open")
        if state not in (*STATES, "all"):
            return _invalid("Issue", "state", "invalid")
        wanted = {name.strip().lower() for name in request.args.get("labels", "").split(",") if name.strip()}
        found = [issue for issue in sorted(repo["issues"].values(), key=lambda i: -i["number"])
                 if state in ("all", issue["state"]) and wanted <= {name.lower() for name in issue["labels"]}]
        per_page = min(max(request.args.get("per_page", PER_PAGE_DEFAULT, type=int), 1), PER_PAGE_MAX)
        page = max(request.args.get("page", 1, type=int), 1)
        last = max((len(found) + per_page - 1) // per_page, 1)
        response = json_response([self._render(repo, i) for i in found[(page - 1) * per_page:page * per_page]],
                                 content_type=JSON_UTF8)
        if page < last:
            query = request.args.to_dict()
            response.headers["Link"] = ", ".join(
                f'<{self.base_url}{request.path}?{urlencode({**query, "page": n})}>; rel="{rel}"'
                for rel, n in (("next", page + 1), ("last", last)))
        return response

    def _issues_post(self, repo: dict, body: dict, request: Request) -> Response:
        if not repo["has_issues"]:
            return _message(410, ISSUES_DISABLED, CREATE_DOCS)
        if repo["archived"]:
            return _message(403, "Repository was archived so is read-only.", CREATE_DOCS)
        title = body.get("title")
        if isinstance(title, int) and not isinstance(title, bool):
            title = str(title)
        if title is None or title == "":
            return _invalid("Issue", "title", "missing_field")
        if not isinstance(title, str):
            return _invalid("Issue", "title", "invalid")
        refused = self._check_text(title, body.get("body"))
        labels = refused or self._labels(repo, body.get("labels") or [])
        if isinstance(labels, Response):
            return labels
        number = len(repo["issues"]) + 1
        issue = {"number": number, "id": self._next_id(), "title": title, "body": body.get("body"), "state": "open",
                 "state_reason": None, "labels": labels, "assignees": list(body.get("assignees") or []),
                 "comments": [], "events": [{"event": "created", "at": self._now()}], "created_at": self._now(),
                 "updated_at": self._now(), "closed_at": None}
        repo["issues"][number] = issue
        rendered = self._render(repo, issue)
        return json_response(rendered, 201, {"Location": rendered["url"]}, content_type=JSON_UTF8)

    def _issue_get(self, repo: dict, body: dict, request: Request, number: int) -> Response:
        issue = repo["issues"].get(number)
        return _message(404, "Not Found") if issue is None else json_response(self._render(repo, issue),
                                                                               content_type=JSON_UTF8)

    def _issue_patch(self, repo: dict, body: dict, request: Request, number: int) -> Response:
        issue = repo["issues"].get(number)
        if issue is None:
            return _message(404, "Not Found")
        if "state" in body and body["state"] not in STATES:
            return _invalid("Issue", "state", "invalid")
        if body.get("state_reason") not in STATE_REASONS:
            return _invalid("Issue", "state_reason", "invalid")
        if "title" in body and (not isinstance(body["title"], str) or not body["title"]):
            return _invalid("Issue", "title", "missing_field")
        refused = self._check_text(body.get("title", ""), body.get("body"))
        labels = refused or (self._labels(repo, body["labels"] or []) if "labels" in body else issue["labels"])
        if isinstance(labels, Response):
            return labels
        now, events = self._now(), issue["events"]
        if body.get("title", issue["title"]) != issue["title"]:
            events.append({"event": "renamed", "at": now, "from": issue["title"], "to": body["title"]})
        events += [{"event": "labeled", "at": now, "label": n} for n in labels if n not in issue["labels"]]
        events += [{"event": "unlabeled", "at": now, "label": n} for n in issue["labels"] if n not in labels]
        if "body" in body and body["body"] != issue["body"]:
            events.append({"event": "edited", "at": now})
        state = body.get("state", issue["state"])
        if state != issue["state"]:
            events.append({"event": "closed" if state == "closed" else "reopened", "at": now})
            issue["closed_at"] = now if state == "closed" else None
            issue["state_reason"] = body.get("state_reason") or ("completed" if state == "closed" else "reopened")
        elif "state_reason" in body:
            issue["state_reason"] = body["state_reason"]
        issue.update(state=state, labels=labels, updated_at=now, title=body.get("title", issue["title"]),
                     body=body.get("body", issue["body"]))
        return json_response(self._render(repo, issue), content_type=JSON_UTF8)

    def _comments_get(self, repo: dict, body: dict, request: Request, number: int) -> Response:
        issue = repo["issues"].get(number)
        if issue is None:
            return _message(404, "Not Found")
        return json_response(issue["comments"], content_type=JSON_UTF8)

    def _comments_post(self, repo: dict, body: dict, request: Request, number: int) -> Response:
        issue = repo["issues"].get(number)
        if issue is None:
            return _message(404, "Not Found")
        text = body.get("body")
        if not isinstance(text, str) or not text:
            return _invalid("IssueComment", "body", "missing_field")
        if len(text) > BODY_MAX:
            return _invalid("IssueComment", "body", "custom", f"body is too long (maximum is {BODY_MAX} characters)")
        cid, name, now = self._next_id(), repo["full_name"], self._now()
        comment = {"id": cid, "node_id": f"IC_{cid}", "url": f"{self.base_url}/repos/{name}/issues/comments/{cid}",
                   "html_url": f"https://github.com/{name}/issues/{number}#issuecomment-{cid}",
                   "issue_url": f"{self.base_url}/repos/{name}/issues/{number}", "body": text, "user": USER,
                   "created_at": now, "updated_at": now, "author_association": "OWNER"}
        issue["comments"].append(comment)
        issue["events"].append({"event": "commented", "at": now, "comment_id": cid})
        issue["updated_at"] = now
        return json_response(comment, 201, {"Location": comment["url"]}, content_type=JSON_UTF8)

    # -- helpers ------------------------------------------------------------------------------------------------
    @staticmethod
    def _role(repo: dict, request: Request) -> str | None:
        """Return the caller's role on the repository (None: no access, answered as 404)."""
        if repo["access"] is None:
            return "admin"
        return repo["access"].get(request.headers.get("Authorization", "").partition(" ")[2].strip())

    def _render_repo(self, repo: dict, role: str) -> dict[str, Any]:
        """Return the repository JSON GitHub answers with (the fields a client reads; GET /repos/{owner}/{repo})."""
        name = repo["full_name"]
        owner = name.split("/")[0]
        level = ROLES.index(role)
        return {"id": repo["id"], "node_id": f"R_{repo['id']}", "name": name.split("/")[1], "full_name": name,
                "private": True, "visibility": "private", "owner": {"login": owner, "type": "Organization"},
                "html_url": f"https://github.com/{name}", "url": f"{self.base_url}/repos/{name}",
                "issues_url": f"{self.base_url}/repos/{name}/issues{{/number}}", "has_issues": repo["has_issues"],
                "archived": repo["archived"], "disabled": False, "default_branch": "main",
                "open_issues_count": sum(1 for i in repo["issues"].values() if i["state"] == "open"),
                "permissions": {r: level >= ROLES.index(r) for r in ROLES}}

    @staticmethod
    def _check_text(title: str, body: Any) -> Response | None:
        if len(title) > TITLE_MAX:
            return _invalid("Issue", "title", "custom", f"title is too long (maximum is {TITLE_MAX} characters)")
        if body is not None and not isinstance(body, str):
            return _invalid("Issue", "body", "invalid")
        if body is not None and len(body) > BODY_MAX:
            return _invalid("Issue", "body", "custom", f"body is too long (maximum is {BODY_MAX} characters)")
        return None

    def _labels(self, repo: dict, labels: Any) -> list[str] | Response:
        """Resolve label names (strings or {name}); unknown ones are created, as for a token with push access."""
        if not isinstance(labels, list):
            return _invalid("Issue", "labels", "invalid")
        names = []
        for label in labels:
            name = label.get("name") if isinstance(label, dict) else label
            if not isinstance(name, str) or not name.strip():
                return _invalid("Label", "name", "invalid")
            known = repo["labels"].setdefault(name.lower(), {"id": self._next_id(), "name": name})
            if known["name"] not in names:
                names.append(known["name"])
        return names

    def _render(self, repo: dict, issue: dict) -> dict[str, Any]:
        """Return the issue JSON GitHub answers with (see payloads/github_create_issue_201.json)."""
        name, number = repo["full_name"], issue["number"]
        api = f"{self.base_url}/repos/{name}"
        labels = [{"id": (lab := repo["labels"][n.lower()])["id"], "node_id": f"LA_{lab['id']}", "name": n,
                   "url": f"{api}/labels/{n}", "color": "ededed", "default": False, "description": None}
                  for n in issue["labels"]]
        assignees = [{"login": login, "type": "User"} for login in issue["assignees"]]
        return {"url": f"{api}/issues/{number}", "repository_url": api,
                "labels_url": f"{api}/issues/{number}/labels{{/name}}",
                "comments_url": f"{api}/issues/{number}/comments",
                "events_url": f"{api}/issues/{number}/events", "html_url": f"https://github.com/{name}/issues/{number}",
                "timeline_url": f"{api}/issues/{number}/timeline", "id": issue["id"], "node_id": f"I_{issue['id']}",
                "number": number, "title": issue["title"], "user": USER, "labels": labels, "state": issue["state"],
                "locked": False, "assignee": assignees[0] if assignees else None, "assignees": assignees,
                "milestone": None, "comments": len(issue["comments"]), "created_at": issue["created_at"],
                "updated_at": issue["updated_at"], "closed_at": issue["closed_at"], "author_association": "OWNER",
                "active_lock_reason": None, "body": issue["body"],
                "closed_by": USER if issue["state"] == "closed" else None, "state_reason": issue["state_reason"]}
