"""Email: SMTP (smtp://user:pass@host:587 with STARTTLS, smtps:// for implicit TLS) or the SendGrid v3 API.

SendGrid docs: https://docs.sendgrid.com/api-reference/mail-send/mail-send. Outbound SMTP is often blocked
on Cloud Functions, hence the HTTP API.
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from shared.config import Secret
from shared.notify.base import Result, classify, http, transport_error
from shared.notify.render import Email


def _message(email: Email, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, ", ".join(email.to), email.subject
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


def send_smtp(url: Secret, sender: str, email: Email, timeout: float) -> Result:
    """Send over SMTP; 4xx replies and connection failures are retryable, 5xx replies are not."""
    parts = urlsplit(url.reveal())
    options = parse_qs(parts.query)
    tls = options.get("tls", ["starttls"])[0]  # starttls | insecure (self-signed, tests) | none
    context = ssl.create_default_context()
    if tls == "insecure":
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        if parts.scheme == "smtps":
            server = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout, context=context)
        else:
            server = smtplib.SMTP(parts.hostname, parts.port or 587, timeout=timeout)
        with server:
            if parts.scheme == "smtp" and tls != "none":
                server.starttls(context=context)
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
        response = http().post(f"{api}/v3/mail/send", json=body, timeout=timeout,
                               headers={"Authorization": f"Bearer {key.reveal()}"})
    except httpx.HTTPError as e:
        return transport_error(e)
    return classify(response)
