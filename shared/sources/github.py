"""GitHub repository webhooks, `issues` events: the incident's own issue closed or reopened on GitHub.

Example (`X-GitHub-Event: issues`, `X-GitHub-Delivery: <guid>`, `X-Hub-Signature-256: sha256=<hex>`), trimmed: GitHub
sends about a hundred fields.

    {"action": "closed",
     "issue": {"number": 12, "title": "[LOW] petties-backend: Typo on the footer", "state": "closed",
               "state_reason": "completed", "html_url": "https://github.com/petties/petties/issues/12",
               "labels": [{"name": "severity:low"}, {"name": "incident:INC-7K3QXD"}]},
     "repository": {"full_name": "petties/petties"},
     "sender": {"login": "dev-b", "type": "User"}}

Only issues the product filed count: the `incident:<id>` label it puts on them (shared/channels/github.py), not a
postmortem's issue, in GITHUB_REPO when it is set. Every other event, action or issue is answered 200 and ignored
(`ping`, when the webhook is added, included), so GitHub does not mark the hook as failing.
Docs: https://docs.github.com/en/webhooks/webhook-events-and-payloads#issues and
https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
"""
from __future__ import annotations

from shared.config.settings import Settings, settings
from shared.errors import BadInput
from shared.model import Action, Alert
from shared.rules import ids
from shared.sources.common import InboundRequest, check_hmac_sha256, integer, obj, text

NAME = "github"
AUTH = "X-Hub-Signature-256: sha256=HMAC-SHA256 of the raw body with GITHUB_WEBHOOK_SECRET"
BY_INCIDENT = True   # an alert from here names its incident (extra["incident"]), not a problem to deduplicate

ACTIONS = {"closed": Action.RESOLVE, "reopened": Action.REOPEN}   # every other issues action is ignored
INCIDENT_LABEL = "incident:"
POSTMORTEM_LABEL = "postmortem"   # shared/channels/github.py: a postmortem's issue also carries incident:<id>
PREFIX = "sha256="


def authenticate(req: InboundRequest, settings: Settings) -> None:
    """Verify X-Hub-Signature-256 ("sha256=" and the hex HMAC of the raw body) in constant time."""
    signature = req.header("x-hub-signature-256").strip()
    if signature[:len(PREFIX)].lower() == PREFIX:
        signature = signature[len(PREFIX):]
    elif signature:
        signature = "-"   # not GitHub's form: never equal to a hex digest
    check_hmac_sha256(settings.github_webhook_secret, req.body, signature, "X-Hub-Signature-256")


def delivery_id(req: InboundRequest) -> str | None:
    """Return X-GitHub-Delivery: a redelivery (by hand or by GitHub) carries the same one."""
    return req.header("x-github-delivery").strip() or None


def parse(req: InboundRequest) -> list[Alert]:
    """Return the incident change an issues event asks for (none for anything that is not ours)."""
    event = req.header("x-github-event").strip().lower()
    if not event:
        raise BadInput("missing X-GitHub-Event header")
    payload = req.json_object()
    if event != "issues":
        return []   # ping, and any event the hook was also subscribed to
    action = text(payload.get("action")).lower()
    if not action:
        raise BadInput("action is missing")
    if action not in ACTIONS:
        return []
    issue = obj(payload.get("issue"), "issue")
    number = integer(issue.get("number"), "issue.number", minimum=1)
    if number is None:
        raise BadInput("issue.number is missing")
    repository = obj(payload.get("repository"), "repository")
    full_name = text(repository.get("full_name"))
    if not full_name:
        raise BadInput("repository.full_name is missing")
    login = text(obj(payload.get("sender"), "sender").get("login"))
    if not login:
        raise BadInput("sender.login is missing")
    labels = issue.get("labels")
    if labels is not None and not isinstance(labels, list):
        raise BadInput(f"issue.labels: expected a list, got {type(labels).__name__}")
    names = [text(label.get("name") if isinstance(label, dict) else label).lower() for label in labels or []]
    repo = settings().github_repo
    if repo and full_name.lower() != repo.lower():
        return []   # another repository's issue
    if POSTMORTEM_LABEL in names:
        return []
    incident = next((ids.normalize(n[len(INCIDENT_LABEL):]) for n in names if n.startswith(INCIDENT_LABEL)), "")
    if not ids.is_valid(incident):
        return []   # not an issue the product filed
    reason = text(issue.get("state_reason")).replace("_", " ")
    said = f"closed issue #{number} on GitHub" if action == "closed" else f"reopened issue #{number} on GitHub"
    link = text(issue.get("html_url"))
    return [Alert(
        source=NAME, action=ACTIONS[action], dedup_key=f"github:{full_name.lower()}#{number}",
        title=text(issue.get("title")), links={"github": link} if link else {}, actor=login,
        detail=said + (f" (as {reason})" if action == "closed" and reason and reason != "completed" else ""),
        extra={"incident": incident, "issue": number, "login": login},
    )]
