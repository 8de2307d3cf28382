"""A fake SendGrid v3 Mail Send endpoint: bearer auth, the request validation SendGrid applies, 202 on success; and
GET /v3/scopes, the permissions of the key."""
from __future__ import annotations

import json
import re
import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.clock import Clock
from tests.fakes.server import FakeService, Fault, json_response

# https://docs.sendgrid.com/api-reference/mail-send/mail-send
PERSONALIZATIONS_MAX = 1000
RECIPIENTS_MAX = 1000  # to+cc+bcc of one personalization
SEND_PATH = "/v3/mail/send"
# https://www.twilio.com/docs/sendgrid/api-reference/api-key-permissions/retrieve-a-list-of-scopes-for-which-this-user-has-access
SCOPES_PATH = "/v3/scopes"
FULL_ACCESS = ("mail.send", "alerts.read", "api_keys.read", "scopes.read", "stats.read", "templates.read",
               "user.profile.read")
FORBIDDEN = "access forbidden"  # a key without the mail.send scope
BAD_KEY = "The provided authorization grant is invalid, expired, or revoked"
HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
NEED_TO = ("The to array is required for all personalization objects, and must have at least one email object "
           "with a valid email address.")
DUPLICATE = ("Each email address in the personalization block should be unique between to, cc, and bcc. We found "
             "the first duplicate instance of an address in the to field.")
TOO_MANY_RECIPIENTS = f"The to, cc and bcc arrays of a personalization may hold at most {RECIPIENTS_MAX} addresses."
NEED_SUBJECT = ("The subject is required. You can get around this requirement if you use a template with a subject "
                "defined or if every personalization has a subject defined.")
NEED_FROM = ("The from object must be provided for every email send. It is an object that requires the email "
             "parameter, but may also contain a name parameter.")
NEED_CONTENT = ("Unless a valid template_id is provided, the content parameter is required. There must be at least "
                "one defined content block. We typically suggest both text/plain and text/html blocks are included, "
                "but only one block is required.")
BAD_TYPE = ("The content type cannot contain ';', or CRLF characters, and must be a MIME type such as text/plain "
            "or text/html.")
PLAIN_FIRST = "If present, text/plain and text/html may only be provided in this order: plain text, then HTML."
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_MIME = re.compile(r"^[\w.+-]+/[\w.+-]+$")


def _errors(*errors: tuple[str, str | None], status: int = 400) -> Response:
    body = {"errors": [{"message": message, "field": field, "help": HELP if field else None}
                       for message, field in errors]}
    return json_response(body, status)


def _addresses(errors: list, value: Any, field: str, required: bool) -> list[str]:
    """Check a list of {email, name?} objects; return the emails."""
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        errors.append((NEED_TO, field))
        return []
    emails = []
    for i, item in enumerate(value):
        email = item.get("email") if isinstance(item, dict) else None
        if not isinstance(email, str) or not _EMAIL.match(email):
            errors.append(("Does not contain a valid address.", f"{field}.{i}.email"))
        else:
            emails.append(email.lower())
    return emails


def validate(mail: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Return SendGrid's (message, field) errors for a mail/send body; [] when valid."""
    errors: list[tuple[str, str | None]] = []
    personalizations = mail.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        errors.append(("The personalizations field is required and must have at least one personalization.",
                       "personalizations"))
        personalizations = []
    elif len(personalizations) > PERSONALIZATIONS_MAX:
        errors.append((f"The personalizations field must have at most {PERSONALIZATIONS_MAX} personalizations.",
                       "personalizations"))
    templated = bool(mail.get("template_id"))
    for i, p in enumerate(personalizations):
        if not isinstance(p, dict):
            errors.append(("Invalid type. Expected: object, given: other.", f"personalizations.{i}"))
            continue
        emails = [*_addresses(errors, p.get("to"), f"personalizations.{i}.to", True),
                  *_addresses(errors, p.get("cc"), f"personalizations.{i}.cc", False),
                  *_addresses(errors, p.get("bcc"), f"personalizations.{i}.bcc", False)]
        if len(emails) != len(set(emails)):
            errors.append((DUPLICATE, f"personalizations.{i}"))
        if len(emails) > RECIPIENTS_MAX:
            errors.append((TOO_MANY_RECIPIENTS, f"personalizations.{i}"))
        if not templated and not mail.get("subject") and not p.get("subject"):
            errors.append((NEED_SUBJECT, "subject"))
    sender = mail.get("from")
    sender_email = sender.get("email") if isinstance(sender, dict) else None
    if not isinstance(sender_email, str) or not _EMAIL.match(sender_email):
        errors.append((NEED_FROM, "from.email"))
    errors += _content_errors(mail.get("content"), templated)
    return list(dict.fromkeys(errors))  # one subject error, not one per personalization


def _content_errors(content: Any, templated: bool) -> list[tuple[str, str | None]]:
    if not content and templated:
        return []
    if not isinstance(content, list) or not content:
        return [(NEED_CONTENT, "content")]
    errors: list[tuple[str, str | None]] = []
    types = []
    for i, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        if not isinstance(kind, str) or not _MIME.match(kind):
            errors.append((BAD_TYPE, f"content.{i}.type"))
        value = block.get("value") if isinstance(block, dict) else None
        if not isinstance(value, str) or not value:
            errors.append(("The content value must be a string at least one character in length.",
                           f"content.{i}.value"))
        types.append(kind)
    if "text/plain" in types and "text/html" in types and types.index("text/plain") > types.index("text/html"):
        errors.append((PLAIN_FIRST, "content"))
    return errors


class FakeSendGrid(FakeService):
    """SendGrid Mail Send at the HTTP boundary; accepted mails land in .mails (sandbox mode answers 200, not kept)."""

    def __init__(self, *, api_key: str = "SG.test-key", scopes: tuple[str, ...] = FULL_ACCESS,
                 fail_ratio: float = 0.0, seed: int | None = 0, hang_seconds: float = 2.0,
                 clock: Clock | None = None) -> None:
        super().__init__(fail_ratio=fail_ratio, seed=seed, hang_seconds=hang_seconds, clock=clock)
        self.api_key = api_key
        self.scopes = tuple(scopes)   # what the key may do (a restricted key lacks some, e.g. mail.send)
        self.mails: list[dict[str, Any]] = []

    @property
    def send_url(self) -> str:
        """Return the full Mail Send URL."""
        return f"{self.base_url}{SEND_PATH}"

    def fault_response(self, fault: Fault) -> Response:
        """Answer an injected 429 with no body (plus SendGrid's rate-limit headers), a 5xx with {errors}."""
        if fault.status == 429:
            return Response(b"", 429, headers={"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0",
                                               "X-RateLimit-Reset": str(int(self.clock.time()) + 1)})
        return _errors(("Internal server error" if fault.status == 500 else "Service unavailable", None),
                       status=fault.status)

    def handle(self, request: Request) -> Response:
        """Answer POST /v3/mail/send (401 bad key, 403 no mail.send, 400 invalid body, 202 accepted), GET /v3/scopes."""
        if request.path not in (SEND_PATH, SCOPES_PATH):
            return _errors(("Not Found", None), status=404)
        if request.method != ("POST" if request.path == SEND_PATH else "GET"):
            return _errors(("Method Not Allowed", None), status=405)
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or key.strip() != self.api_key:
            return _errors((BAD_KEY, None), status=401)
        if request.path == SCOPES_PATH:
            return json_response({"scopes": list(self.scopes)})
        if "mail.send" not in self.scopes:
            return _errors((FORBIDDEN, None), status=403)
        try:
            mail = json.loads(request.get_data())
        except ValueError:
            return _errors(("Bad Request", None))
        if not isinstance(mail, dict):
            return _errors(("Bad Request", None))
        errors = validate(mail)
        if errors:
            return _errors(*errors)
        message_id = uuid.uuid4().hex[:22]
        if (mail.get("mail_settings") or {}).get("sandbox_mode", {}).get("enable"):
            return Response(b"", 200, headers={"X-Message-Id": message_id})
        self.mails.append({"message_id": message_id, "from": mail["from"], "subject": mail.get("subject"),
                           "personalizations": mail["personalizations"], "content": mail.get("content"),
                           "body": mail, "received_at": self.clock.time()})
        return Response(b"", 202, headers={"X-Message-Id": message_id})
