"""Email: SMTP (smtp://user:pass@host:587 with STARTTLS, smtps:// for implicit TLS) or the SendGrid v3 API.

SendGrid docs: https://docs.sendgrid.com/api-reference/mail-send/mail-send. Outbound SMTP is often blocked
on Cloud Functions, hence the HTTP API.
"""
from __future__ import annotations

import email.policy
import functools
import re
import smtplib
import ssl
import unicodedata
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from shared.channels.base import Channel, Context, Message, Result, classify, request, superseded, transport_error
from shared.channels.render import context, find, people, template, truncate
from shared.config import Config
from shared.config.channels import ESCALATION, OPENED, RESOLVED
from shared.config.frozen import frozen
from shared.config.settings import Secret
from shared.lazy import httpx
from shared.model import Incident

SUBJECT_MAX = 200
_SPACES = re.compile(r"\s+")


def header_text(text: str) -> str:
    """Fold untrusted text into one header-safe line: every line break (CR, LF, U+0085, U+2028, ...) and control
    or format character becomes a space, so a title can neither inject a header nor make the message unbuildable."""
    cleaned = "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in text)
    return _SPACES.sub(" ", cleaned).strip()
TEMPLATE = {OPENED: "critical", RESOLVED: "resolved", ESCALATION: "escalation"}


@frozen
class Email:
    to: tuple[str, ...]
    subject: str
    text: str
    html: str


def email_message(template_name: str, incident: Incident, cfg: Config, now: datetime, recipients, mention_ids=(),
                  extra: dict | None = None, public_url: str = "") -> Email:
    """Return an email (plain text and autoescaped HTML) for the critical, resolved or escalation template, linking
    to the incident's console page when PUBLIC_URL is set."""
    addressed = [p.id for p in cfg.people if p.email and p.email in recipients]  # named as Discord names them
    ctx = {**context(incident, cfg, now, people(mention_ids or addressed, cfg).names, public_url=public_url),
           **(extra or {})}
    prefix = {"resolved": "RESOLVED", "escalation": f"ESCALATION L{(extra or {}).get('level', 2)}"}.get(
        template_name, incident.severity.name)
    subject = truncate(header_text(f"[{prefix}] {incident.service}: {incident.title} ({incident.id})"), SUBJECT_MAX)
    return Email(tuple(recipients), subject, template(find("email", template_name, ".txt.j2"), ctx),
                 template(f"email/{template_name}.html.j2", ctx))


# RFC 5322 allows 998 characters a line: no folding for our (at most 200-character) subjects, whose folding by
# the default policy can start the header with a line break that mail clients show as a leading space
POLICY = email.policy.SMTP.clone(max_line_length=998)


def _message(email: Email, sender: str) -> EmailMessage:
    message = EmailMessage(policy=POLICY)
    message["From"], message["To"], message["Subject"] = sender, ", ".join(email.to), email.subject
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


DATA_REPLY_TIMEOUT = 30.0  # seconds to wait for the server's answer to the message itself (RFC 5321 4.5.3.2)


class _LongDataReply:
    """Wait longer for the reply to the message than for other replies.

    Once the message's final "." is sent the server may already have taken it; giving up on its reply would
    retry a delivered email, and the person gets it twice. RFC 5321 (4.5.3.2.6) asks clients to wait 10
    minutes for that reply; a function cannot, but it waits DATA_REPLY_TIMEOUT rather than the send timeout.
    """

    def data(self, msg):
        if self.sock is not None:
            self.sock.settimeout(max(self.sock.gettimeout() or 0, DATA_REPLY_TIMEOUT))
        return super().data(msg)


class _SMTP(_LongDataReply, smtplib.SMTP):
    pass


class _SMTP_SSL(_LongDataReply, smtplib.SMTP_SSL):
    pass


@functools.cache
def _tls_context(insecure: bool) -> ssl.SSLContext:
    """One TLS context per process, shared by every send: making one loads the system's CA certificates,
    about 45 ms of CPU each time (a client context is safe to share between threads)."""
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


def send_smtp(url: Secret, sender: str, email: Email, timeout: float) -> Result:
    """Send over SMTP; 4xx replies and connection failures are retryable, 5xx replies are not."""
    parts = urlsplit(url.reveal())
    options = parse_qs(parts.query)
    tls = options.get("tls", ["starttls"])[0]  # starttls | insecure (self-signed, tests) | none
    context_ = _tls_context(tls == "insecure")
    try:
        if parts.scheme == "smtps":
            server = _SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout, context=context_)
        else:
            server = _SMTP(parts.hostname, parts.port or 587, timeout=timeout)
        with server:
            if parts.scheme == "smtp" and tls != "none":
                server.starttls(context=context_)
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
            refused = server.send_message(_message(email, sender))
    except smtplib.SMTPResponseException as e:
        code = e.smtp_code
        return Result(False, retryable=400 <= code < 500, error=f"SMTP {code}")
    except smtplib.SMTPRecipientsRefused as e:
        codes = [code for code, _ in e.recipients.values()]
        return Result(False, retryable=all(400 <= c < 500 for c in codes), error=f"SMTP recipients refused {codes}")
    except (OSError, smtplib.SMTPException) as e:
        return Result(False, retryable=True, error=f"{type(e).__name__}: SMTP connection failed")
    if refused:
        return Result(False, retryable=False, error=f"SMTP refused {len(refused)} recipient(s)")
    return Result(True)


def send_sendgrid(api: str, key: Secret, sender: str, email: Email, timeout: float) -> Result:
    body = {"personalizations": [{"to": [{"email": a} for a in email.to]}], "from": {"email": sender},
            "subject": email.subject,
            "content": [{"type": "text/plain", "value": email.text}, {"type": "text/html", "value": email.html}]}
    try:
        response = request("email", "POST", f"{api}/v3/mail/send", timeout, json=body,
                           headers={"Authorization": f"Bearer {key.reveal()}"})
    except httpx.HTTPError as e:
        return transport_error(e)
    return classify(response)


class EmailChannel(Channel):
    """Critical openings, their resolution and escalation pages, to people's addresses."""

    name = "email"

    def configured(self) -> bool:
        return bool(self.settings.sendgrid_api_key or self.settings.smtp_url)

    def render(self, kind: str, incident: Incident | None, cfg: Config, now: datetime, ctx: Context) -> Message:
        email = email_message(TEMPLATE[kind], incident, cfg, now, ctx.recipients, ctx.mentions, ctx.extra,
                              self.settings.public_url)
        preview = f"To: {', '.join(email.to)}\nSubject: {email.subject}\n\n{email.text}"
        return Message(kind, email, preview, recipients=email.to)

    def send(self, message: Message, timeout: float) -> Result:
        email: Email = message.payload
        if not email.to:
            return superseded("nobody to address")
        s = self.settings
        if s.sendgrid_api_key:
            return send_sendgrid(s.sendgrid_api_url, s.sendgrid_api_key, s.email_from, email, timeout)
        return send_smtp(s.smtp_url, s.email_from, email, timeout)
