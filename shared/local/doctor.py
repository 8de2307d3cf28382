"""Check the team file, the environment, every configured channel and Firestore, one line each, alerting nobody.

    python -m shared.local.doctor               ./deploy.sh doctor: exit 0 when everything configured works, else 1
    python -m shared.local.doctor --send-test   also send one marked test message through each configured channel

Each channel is asked something that proves its credentials without posting: Discord answers GET on a
webhook URL with the webhook (https://discord.com/developers/docs/resources/webhook#get-webhook-with-token),
SMTP gets EHLO, STARTTLS and AUTH, then QUIT, SendGrid lists the key's scopes
(https://www.twilio.com/docs/sendgrid/api-reference/api-key-permissions), GitHub shows the repository with
the token's permissions (https://docs.github.com/en/rest/repos/repos#get-a-repository). The checks run at
once, each bounded by --timeout; no line ever shows a secret (a webhook URL, a token, a password).
"""
from __future__ import annotations

import argparse
import os
import smtplib
import ssl
import sys
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from deploy.target import REQUIRED_SECRETS  # what ./deploy.sh gcp apply will not deploy without
from shared.channels import OPENED, TEXT, Message, build
from shared.channels.base import request
from shared.channels.email import Email
from shared.channels.github import HEADERS as GITHUB_HEADERS
from shared.channels.ntfy import PRIORITY_DEFAULT, Push
from shared.clock import clock
from shared.config import DEFAULT_CONFIG, Config, ConfigError, load_config
from shared.config.frozen import frozen
from shared.config.settings import Settings
from shared.local.samples import LOCAL_DEFAULTS
from shared.vendors import discord_oauth

TEST_TEXT = "🧪 Test message from incident-response doctor — ignore"
TIMEOUT = 5.0
OK, FAIL, OFF, WARN = "ok", "fail", "off", "warn"
SHORTEST_SECRET = 32   # characters of API_TOKEN and CONSOLE_SECRET: anything shorter can be guessed
PREVIEW = "not configured: messages go to the local preview page"
SYMBOLS = {OK: ("✓", "OK"), FAIL: ("✗", "FAIL"), OFF: ("–", "--"), WARN: ("!", "WARN")}
INBOUND = ("SENTRY_CLIENT_SECRET", "INGEST_TOKEN", "API_TOKEN", "GRAFANA_WEBHOOK_SECRET", "PAGERDUTY_ROUTING_KEYS")
WHAT = {"discord": "Discord alerts", "discord_staging": "Discord staging", "email": "Email", "github": "GitHub",
        "slack": "Slack alerts", "slack_staging": "Slack staging", "ntfy": "ntfy"}
CHANNELS = ("DISCORD_WEBHOOK_URL", "DISCORD_STAGING_WEBHOOK_URL", "SMTP_URL", "SENDGRID_API_KEY", "GITHUB_TOKEN",
            "GITHUB_REPO", "EMAIL_FROM", "SLACK_WEBHOOK_URL", "SLACK_STAGING_WEBHOOK_URL")
# what makes each channel send, for the production line (shared/channels: each channel's configured())
TO_SEND = {"discord": "DISCORD_WEBHOOK_URL (or bot mode: DISCORD_BOT_TOKEN and DISCORD_ALERTS_CHANNEL_ID)",
           "discord_staging": "DISCORD_STAGING_WEBHOOK_URL (or bot mode: DISCORD_STAGING_CHANNEL_ID)",
           "email": "SMTP_URL or SENDGRID_API_KEY", "github": "GITHUB_TOKEN and GITHUB_REPO",
           "ntfy": "NTFY_URL (https://ntfy.sh needs no account; set empty, pages show on the preview page)",
           "slack": "SLACK_WEBHOOK_URL", "slack_staging": "SLACK_STAGING_WEBHOOK_URL"}


@frozen
class Line:
    """One check's outcome: what was checked, ok/fail/off, and what works or what to fix."""

    status: str
    what: str
    detail: str


def _http_error(vendor: str, response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    message = ""
    if isinstance(body, dict):  # Discord and GitHub answer {message}, SendGrid {errors: [{message}]}
        errors = body.get("errors")
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        message = body.get("message") or first.get("message") or ""
    return f"{vendor} answered {response.status_code}" + (f" {str(message)[:120]}" if message else "")


def _unreachable(url: str, error: Exception) -> str:
    return f"cannot reach {urlsplit(url).hostname} ({type(error).__name__}): check the address and the network"


# -- the team file and the environment -----------------------------------------------------------------------------
def check_team() -> tuple[Line, Config | None]:
    path = os.environ.get("INCIDENT_CONFIG") or str(DEFAULT_CONFIG)
    try:
        cfg = load_config(path)
    except ConfigError as e:
        return Line(FAIL, "Team file", f"{e} (fix the key it names; shared/teams/example.yaml explains each)"), None
    return Line(OK, "Team file", f"{path}: team {cfg.team.name}, {len(cfg.people)} people, {cfg.team.time_zone}"), cfg


def check_settings(env) -> tuple[Line, Settings | None]:
    try:
        settings = Settings.from_env(env)
    except ConfigError as e:
        return Line(FAIL, "Settings", f"{e}: fix that variable; channels are not checked until then"), None
    unset = [name for name in INBOUND if not env.get(name)]
    detail = "environment valid; set: " + (", ".join(n for n in (*INBOUND, *CHANNELS) if env.get(n)) or "none")
    if unset:
        detail += f"; not set: {', '.join(unset)}"
    return Line(OK, "Settings", detail), settings


def check_secrets(env) -> Line:
    """Warn of a guessable API_TOKEN or CONSOLE_SECRET (the console and the API trust whoever knows them)."""
    short = [f"{name} has {len(env[name])} characters" for name in ("API_TOKEN", "CONSOLE_SECRET")
             if env.get(name) and len(env[name]) < SHORTEST_SECRET]
    if short:
        return Line(WARN, "Secrets", f"{'; '.join(short)}: use at least {SHORTEST_SECRET} random characters "
                                     "(openssl rand -hex 32)")
    return Line(OK, "Secrets", f"API_TOKEN and CONSOLE_SECRET are unset or at least {SHORTEST_SECRET} characters")


def check_github_webhook(settings: Settings) -> Line:
    """Say whether GitHub's issues webhook (POST /ingest/github) is on: GITHUB_WEBHOOK_SECRET set. Optional, so off
    is not a gap; GitHub is not asked (the hook's own Recent Deliveries show whether its pings got through)."""
    what = "GitHub webhook"
    url = f"{settings.public_url or '<the functions URL>'}/ingest/github"
    if not settings.github_webhook_secret:
        return Line(OK, what, "off (optional): closing or reopening an incident's issue on GitHub changes nothing "
                              f"here; to keep them in step set GITHUB_WEBHOOK_SECRET and add a webhook to the "
                              f"repository: {url}, application/json, that secret, Issues events only")
    scope = f"issues in {settings.github_repo}" if settings.github_repo else \
        "issues in any repository (set GITHUB_REPO to accept only yours)"
    return Line(OK, what, f"on: {url} takes issues events signed with GITHUB_WEBHOOK_SECRET; closing or reopening "
                          f"an incident's issue resolves or reopens it ({scope})")


def check_sign_in(settings: Settings, cfg: Config | None) -> Line:
    """Sign in with Discord: both client settings or neither, PUBLIC_URL for the redirect, and who cannot sign in
    (no discord_id). Offline: Discord is not asked (the client secret is proven by the first sign-in)."""
    what = "Discord sign-in"
    given = {"DISCORD_CLIENT_ID": settings.discord_client_id, "DISCORD_CLIENT_SECRET": settings.discord_client_secret}
    if not any(given.values()):
        return Line(OFF, what, "not configured: the console signs in with the API token and actions are self-declared "
                               "(set DISCORD_CLIENT_ID and DISCORD_CLIENT_SECRET for each person to sign in as "
                               "themselves)")
    unset = [name for name, value in given.items() if not value]
    if unset:
        return Line(FAIL, what, f"{unset[0]} is not set: Sign in with Discord needs both DISCORD_CLIENT_ID and "
                                "DISCORD_CLIENT_SECRET (developer portal > OAuth2); until then the console signs in "
                                "with the API token")
    if not settings.public_url:
        return Line(FAIL, what, "PUBLIC_URL is not set: Discord sends people back to PUBLIC_URL/console/auth/discord; "
                                "set it (./deploy.sh gcp apply does) and register that redirect")
    lacking = [p.name for p in cfg.people if not p.discord_id] if cfg else []
    if lacking:
        return Line(WARN, what, f"{', '.join(lacking)} cannot sign in (no discord_id in the team file); the redirect "
                                f"to register is {discord_oauth.redirect_uri(settings)}")
    return Line(OK, what, f"the console signs people in with Discord (client {settings.discord_client_id}); the "
                          f"redirect to register is {discord_oauth.redirect_uri(settings)}")


def check_production(env, settings: Settings, cfg: Config | None) -> Line:
    """Say what production still needs: the secrets it requires (deploy/target.py; unset, or the local stack's
    defaults) and a way to send for each channel the team file routes to. A warning: a local stack runs without."""
    needs = [name if not env.get(name) else f"{name} (now the local default)" for name in REQUIRED_SECRETS
             if not env.get(name) or env[name] == LOCAL_DEFAULTS.get(name)]
    routed = dict.fromkeys(c.channel for route in cfg.notifications.routes for c in route.channels) if cfg else {}
    needs += [f"{TO_SEND.get(name, name)} (the team file routes alerts to {name})" for name in routed
              if not build(name, settings).configured()]
    if needs:
        return Line(WARN, "Production needs", "; ".join(needs))
    return Line(OK, "Production needs", "nothing more: its secrets are set and every channel the team file routes "
                                        "to can send")


# -- channels ------------------------------------------------------------------------------------------------------
def check_discord(settings: Settings, name: str, timeout: float) -> Line:
    channel = build(name, settings)
    what, var = (("Discord alerts", "DISCORD_WEBHOOK_URL") if name == "discord"
                 else ("Discord staging", "DISCORD_STAGING_WEBHOOK_URL"))
    if not channel.configured():
        return Line(OFF, what, f"{PREVIEW} (set {var})")
    url = channel.webhook().reveal()
    if "/webhooks/" not in url:
        return Line(FAIL, what, f"{var} is not a webhook URL: copy it from Channel settings > Integrations > Webhooks")
    try:
        response = request(f"doctor-{name}", "GET", url, timeout)
    except httpx.HTTPError as e:
        return Line(FAIL, what, _unreachable(url, e))
    if response.status_code == 200:
        hook = response.json()
        return Line(OK, what, f"webhook {hook.get('name')!r} posts to channel {hook.get('channel_id')} ({var})")
    fix = {401: "the token part of the URL is wrong: copy the webhook URL again",
           404: "the webhook was deleted or the URL is wrong: make one (Channel settings > Integrations > Webhooks)"}
    return Line(FAIL, what, f"{_http_error('Discord', response)}: "
                            f"{fix.get(response.status_code, 'try again later')} and set {var}")


def routed(cfg: Config | None, channel: str) -> bool:
    """True when a route in the team file names the channel."""
    return bool(cfg) and any(c.channel == channel for route in cfg.notifications.routes for c in route.channels)


def check_slack(settings: Settings, cfg: Config | None, name: str, timeout: float) -> Line:
    """POST an empty message: a live incoming webhook refuses it (400 no_text or invalid_payload) and posts nothing;
    a revoked or mistyped one answers 403 or 404 (https://api.slack.com/messaging/webhooks#handling_errors)."""
    channel = build(name, settings)
    what, var = WHAT[name], TO_SEND[name]
    if not channel.configured():   # Slack is optional: unset and unrouted is not a gap, even with --strict
        return Line(OFF, what, f"{PREVIEW} (set {var})") if routed(cfg, name) else \
            Line(OK, what, f"not used: no route in the team file names {name} (to use it, set {var} and route to it)")
    url = channel.webhook().reveal()
    if "/services/" not in url:
        return Line(FAIL, what, f"{var} is not an incoming webhook URL (https://hooks.slack.com/services/...): "
                                "make one in the Slack app's Incoming Webhooks page")
    try:
        response = request(f"doctor-{name}", "POST", url, timeout, json={})
    except httpx.HTTPError as e:
        return Line(FAIL, what, _unreachable(url, e))
    said = response.text.strip()[:40]
    if response.status_code == 400 and said in ("no_text", "invalid_payload"):
        return Line(OK, what, f"the incoming webhook answers ({var})")
    fix = {403: "the webhook's app lost its permission or was removed: add the webhook again",
           404: "the webhook was revoked or the URL is wrong: copy it again from the app's Incoming Webhooks page",
           410: "its channel is archived: unarchive it or make a webhook for another channel"}
    return Line(FAIL, what, f"Slack answered HTTP {response.status_code} {said}: "
                            f"{fix.get(response.status_code, 'try again later')} and set {var}")


def check_smtp(settings: Settings, timeout: float) -> Line:
    if not settings.smtp_url:
        return Line(OFF, "Email SMTP", f"{PREVIEW} (set SMTP_URL=smtp://user:pass@host:587, or SENDGRID_API_KEY)")
    parts = urlsplit(settings.smtp_url.reveal())
    tls = parse_qs(parts.query).get("tls", ["starttls"])[0]
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        return Line(FAIL, "Email SMTP", "SMTP_URL must look like smtp://user:pass@host:587 or smtps://...:465")
    where = f"{parts.hostname}:{parts.port or (465 if parts.scheme == 'smtps' else 587)}"
    context = ssl.create_default_context()
    if tls == "insecure":
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    steps = ["EHLO"]
    try:
        if parts.scheme == "smtps":
            server = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout, context=context)
        else:
            server = smtplib.SMTP(parts.hostname, parts.port or 587, timeout=timeout)
        try:
            server.ehlo()
            if parts.scheme == "smtp" and tls != "none":
                server.starttls(context=context)
                server.ehlo()
                steps.append("STARTTLS")
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
                steps.append(f"login as {unquote(parts.username)}")
            else:
                steps.append("no login (SMTP_URL names no user)")
        finally:
            try:
                server.quit()
            except smtplib.SMTPException:
                server.close()
    except smtplib.SMTPAuthenticationError as e:
        return Line(FAIL, "Email SMTP", f"{where} refused the login ({e.smtp_code}): check the user and password in "
                                        "SMTP_URL (URL-encode special characters; many providers want an app password)")
    except smtplib.SMTPNotSupportedError as e:
        return Line(FAIL, "Email SMTP", f"{where}: {e}: use smtps://...:465, or ?tls=none only on a trusted network")
    except ssl.SSLError as e:
        return Line(FAIL, "Email SMTP", f"{where}: TLS failed ({type(e).__name__}): check the port (587 STARTTLS, "
                                        "465 smtps://) and the server's certificate")
    except smtplib.SMTPResponseException as e:
        return Line(FAIL, "Email SMTP", f"{where} answered {e.smtp_code} after {steps[-1]}: check SMTP_URL")
    except (OSError, smtplib.SMTPException) as e:
        return Line(FAIL, "Email SMTP", f"cannot connect to {where} ({type(e).__name__}): check host and port in "
                                        "SMTP_URL (outbound SMTP is often blocked on Cloud Functions: use SendGrid)")
    unused = " (unused while SENDGRID_API_KEY is set)" if settings.sendgrid_api_key else ""
    return Line(OK, "Email SMTP", f"{where}: {', '.join(steps)}, QUIT; mail from {settings.email_from}{unused}")


def check_sendgrid(settings: Settings, timeout: float) -> Line:
    if not settings.sendgrid_api_key:
        return Line(OFF, "Email SendGrid", "not configured (set SENDGRID_API_KEY to send email over HTTPS)")
    url = f"{settings.sendgrid_api_url}/v3/scopes"
    try:
        response = request("doctor-sendgrid", "GET", url, timeout,
                           headers={"Authorization": f"Bearer {settings.sendgrid_api_key.reveal()}"})
    except httpx.HTTPError as e:
        return Line(FAIL, "Email SendGrid", _unreachable(url, e))
    if response.status_code == 401:
        return Line(FAIL, "Email SendGrid", f"{_http_error('SendGrid', response)}: the key is wrong or revoked; "
                                            "create one (Settings > API Keys) and set SENDGRID_API_KEY")
    if response.status_code != 200:
        return Line(FAIL, "Email SendGrid", f"{_http_error('SendGrid', response)}: try again later")
    if "mail.send" not in (response.json().get("scopes") or []):
        return Line(FAIL, "Email SendGrid", "the key lacks the mail.send scope: give it Mail Send access "
                                            "(Settings > API Keys > Edit) or create a new key")
    if "@" not in settings.email_from or settings.email_from.endswith("@localhost"):
        return Line(FAIL, "Email SendGrid", "the key may send, but EMAIL_FROM is not set: set it to a verified "
                                            "sender (Settings > Sender Authentication)")
    return Line(OK, "Email SendGrid", f"the key may send mail (mail.send); mail from {settings.email_from}")


def check_sentry(settings: Settings, cfg: Config | None, timeout: float) -> Line:
    """Say whether resolving a Sentry-sourced incident here resolves its Sentry issue (SENTRY_API_TOKEN and the team
    file's sentry.organization), and prove the token reaches the organization's issues without changing any: GET
    https://docs.sentry.io/api/events/list-an-organizations-issues/ (limit 1). Optional, so off is not a gap."""
    what = "Sentry resolution"
    organization = cfg.sentry.organization if cfg else ""
    token = settings.sentry_api_token
    if not (token and organization):
        unset = " and ".join(n for n, v in (("SENTRY_API_TOKEN", token), ("sentry.organization in the team file",
                                                                              organization)) if not v)
        return Line(OK, what, f"off (optional): resolving an incident here leaves its Sentry issue open; to keep them "
                              f"in step set {unset} (a token with the event:write scope)")
    url = f"{settings.sentry_api_url}/api/0/organizations/{organization}/issues/"
    try:
        response = request("doctor-sentry", "GET", url, timeout, params={"limit": "1"},
                           headers={"Authorization": f"Bearer {token.reveal()}"})
    except httpx.HTTPError as e:
        return Line(FAIL, what, _unreachable(url, e))
    fix = {401: "the token is wrong or revoked: create one with the event:write scope and set SENTRY_API_TOKEN",
           403: "the token may not touch this organization's issues: give it the event:write scope",
           404: f"Sentry knows no organization {organization!r} for this token: check sentry.organization (the slug "
                "in the organization's URL)"}
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", "")   # Sentry's errors are {"detail": "..."}
        except (ValueError, AttributeError):
            detail = ""
        return Line(FAIL, what, f"Sentry answered {response.status_code}{f' {str(detail)[:120]}' if detail else ''}: "
                                f"{fix.get(response.status_code, 'try again later')}")
    return Line(OK, what, f"on: resolving an incident from a Sentry issue here resolves the issue in {organization} "
                          "(the token reaches its issues; resolving needs its event:write scope)")


def check_github(settings: Settings, timeout: float) -> Line:
    token, repo = settings.github_token, settings.github_repo
    if not token and not repo:
        return Line(OFF, "GitHub", f"{PREVIEW} (set GITHUB_TOKEN and GITHUB_REPO=owner/name)")
    if not (token and repo):
        return Line(FAIL, "GitHub", f"{'GITHUB_REPO' if token else 'GITHUB_TOKEN'} is not set: the channel needs both")
    url = f"{settings.github_api_url}/repos/{repo}"
    try:
        response = request("doctor-github", "GET", url, timeout,
                           headers={**GITHUB_HEADERS, "Authorization": f"Bearer {token.reveal()}"})
    except httpx.HTTPError as e:
        return Line(FAIL, "GitHub", _unreachable(url, e))
    if response.status_code in (401, 404):
        fix = ("the token is wrong, expired or revoked: create one with Issues: read and write and set GITHUB_TOKEN"
               if response.status_code == 401 else f"{repo} does not exist or this token cannot see it: check "
               "GITHUB_REPO and the token's repository access")
        return Line(FAIL, "GitHub", f"{_http_error('GitHub', response)}: {fix}")
    if response.status_code != 200:
        return Line(FAIL, "GitHub", f"{_http_error('GitHub', response)}: try again later")
    body = response.json()
    if not body.get("has_issues") or body.get("archived"):
        why = "is archived (read-only)" if body.get("archived") else "has Issues turned off"
        return Line(FAIL, "GitHub", f"{repo} {why}: turn Issues on (Settings > General > Features) or pick another")
    permissions = body.get("permissions") or {}
    if not any(permissions.get(role) for role in ("triage", "push", "maintain", "admin")):
        return Line(FAIL, "GitHub", f"the token may open issues in {repo} but GitHub drops their labels without "
                                    "triage or write access, and a retry finds its issue by label: grant write access")
    return Line(OK, "GitHub", f"the token may open and label issues in {repo} (Issues on)")


def check_ntfy(settings: Settings, cfg: Config | None, timeout: float) -> Line:
    """Ask the ntfy server's health endpoint (https://docs.ntfy.sh/config/#health-check), which posts nothing, and
    say whose phones the routes can page (people with an ntfy_topic)."""
    channel = build("ntfy", settings)
    if not routed(cfg, "ntfy"):   # optional: unrouted is not a gap, even with --strict
        return Line(OK, "ntfy", "not used: no route in the team file names ntfy (to page phones, give people an "
                                "ntfy_topic and route {channel: ntfy, to: [on-call]})")
    if not channel.configured():
        return Line(OFF, "ntfy", f"{PREVIEW} (set NTFY_URL, e.g. https://ntfy.sh)")
    url = f"{settings.ntfy_url}/v1/health"
    try:
        response = request("doctor-ntfy", "GET", url, timeout)
    except httpx.HTTPError as e:
        return Line(FAIL, "ntfy", _unreachable(url, e))
    try:
        healthy = response.status_code == 200 and response.json().get("healthy") is True
    except (ValueError, AttributeError):
        healthy = False
    if not healthy:
        return Line(FAIL, "ntfy", f"{urlsplit(url).hostname} answered {response.status_code}, not healthy: check "
                                  "NTFY_URL (the server's base URL) and try again later")
    paged = [p.name for p in cfg.people if p.ntfy_topic]
    unpaged = [p.name for p in cfg.people if not p.ntfy_topic]
    if not paged:
        return Line(WARN, "ntfy", "the server answers, but nobody in the team file has an ntfy_topic: nobody is paged")
    return Line(OK, "ntfy", f"{urlsplit(url).hostname} is healthy{' (with NTFY_TOKEN)' if settings.ntfy_token else ''}"
                            f"; pages reach {', '.join(paged)}" + (f"; no topic: {', '.join(unpaged)}" if unpaged
                                                                   else ""))


def check_firestore(settings: Settings, timeout: float) -> Line:
    from google.api_core import exceptions as gexc
    from google.api_core import retry as retries
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import firestore

    emulator = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if not emulator and not (os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GCLOUD_PROJECT")):
        return Line(OFF, "Firestore", "not configured: ./deploy.sh local starts its own emulator (set "
                                      "FIRESTORE_EMULATOR_HOST or GOOGLE_CLOUD_PROJECT to check one)")
    where = f"the emulator at {emulator}" if emulator else f"Firestore in project {settings.project}"
    fix = ("start it (./deploy.sh local starts one) or unset FIRESTORE_EMULATOR_HOST" if emulator
           else "check GOOGLE_CLOUD_PROJECT and that the project has a Firestore database")
    started = clock().monotonic()
    try:
        db = firestore.Client(project=settings.project)
        transient = retries.if_exception_type(gexc.ServiceUnavailable, gexc.DeadlineExceeded)
        try:
            db.collection("_doctor").document("missing").get(
                retry=retries.Retry(predicate=transient, initial=0.1, maximum=1.0, timeout=timeout), timeout=timeout)
        finally:
            db.close()
    except DefaultCredentialsError:
        return Line(FAIL, "Firestore", "no Google credentials: run gcloud auth application-default login")
    except gexc.PermissionDenied:
        return Line(FAIL, "Firestore", f"{where} refused the read: grant the account roles/datastore.user")
    except (gexc.GoogleAPIError, gexc.RetryError) as e:
        return Line(FAIL, "Firestore", f"{where} did not answer a read ({type(e).__name__}): {fix}")
    return Line(OK, "Firestore", f"{where} answered a read in {clock().monotonic() - started:.2f} s")


# -- test messages -------------------------------------------------------------------------------------------------
def send_test(settings: Settings, name: str, to: str, timeout: float, cfg: Config | None = None) -> Line:
    """Send TEST_TEXT through the channel's own send path (GitHub: open the issue, then close it; ntfy: one quiet
    push to the team lead's topic, else the first person's who has one)."""
    channel = build(name, settings)
    what = WHAT[name]
    if name == "ntfy":
        people = [p for p in (cfg.people if cfg else ()) if p.ntfy_topic]
        lead = [p for p in people if cfg and p.id == cfg.team_lead]
        if not people:
            return Line(WARN, f"{what} test", "not sent: nobody in the team file has an ntfy_topic")
        topic = (lead or people)[0].ntfy_topic
        push = Push((topic,), TEST_TEXT, "Sent by ./deploy.sh doctor --send-test to check push delivery.",
                    PRIORITY_DEFAULT, ("test_tube",))
        result = channel.send(Message(TEXT, push, TEST_TEXT, recipients=(topic,)), timeout)
        return Line(OK, f"{what} test", f"sent to {(lead or people)[0].name}'s topic") if result.ok else \
            Line(FAIL, f"{what} test", f"not sent: {result.error}")
    if name.startswith("discord"):
        payload = {"content": TEST_TEXT, "allowed_mentions": {"parse": []}}
        message = Message(TEXT, payload, TEST_TEXT)
    elif name.startswith("slack"):
        message = Message(TEXT, {"text": TEST_TEXT}, TEST_TEXT)
    elif name == "email":
        body = f"{TEST_TEXT}\n\nSent by ./deploy.sh doctor --send-test to check email delivery."
        mail = Email((to,), TEST_TEXT, body, f"<p>{TEST_TEXT}</p><p>Sent by ./deploy.sh doctor --send-test.</p>")
        message = Message(OPENED, mail, TEST_TEXT, recipients=(to,))
    else:
        payload = {"title": TEST_TEXT, "body": "Opened and closed by `./deploy.sh doctor --send-test`.", "labels": []}
        message = Message(OPENED, payload, TEST_TEXT)
    result = channel.send(message, timeout)
    if not result.ok:
        return Line(FAIL, f"{what} test", f"not sent: {result.error}")
    if name == "github" and result.ref:
        url = f"{settings.github_api_url}/repos/{settings.github_repo}/issues/{result.ref}"
        headers = {**GITHUB_HEADERS, "Authorization": f"Bearer {settings.github_token.reveal()}"}
        try:
            request("doctor-github", "PATCH", url, timeout, headers=headers,
                    json={"state": "closed", "state_reason": "not_planned"}).raise_for_status()
        except httpx.HTTPError:
            return Line(FAIL, f"{what} test", f"issue #{result.ref} opened, but closing it failed: close it by hand")
        return Line(OK, f"{what} test", f"issue #{result.ref} opened and closed")
    return Line(OK, f"{what} test", f"sent{f' to {to}' if name == 'email' else ''}")


# -- running ------------------------------------------------------------------------------------------------------
def run_all(jobs: list[tuple[str, Callable[[], Line]]], deadline: float) -> list[Line]:
    """Run the checks at once in daemon threads; one that overruns `deadline` is a FAIL, not a hang."""
    results: dict[int, Line] = {}

    def run(i: int, what: str, job: Callable[[], Line]) -> None:
        try:
            results[i] = job()
        except Exception as e:  # a bug in a check must not hide the others; the type only (no secrets)
            results[i] = Line(FAIL, what, f"the check itself failed ({type(e).__name__})")

    threads = [threading.Thread(target=run, args=(i, what, job), daemon=True) for i, (what, job) in enumerate(jobs)]
    for t in threads:
        t.start()
    timer = clock()
    give_up = timer.monotonic() + deadline
    for t in threads:
        timer.join(t, give_up - timer.monotonic())
    return [results.get(i, Line(FAIL, what, f"no answer within {deadline:.0f} s")) for i, (what, _) in
            enumerate(jobs)]


def render(line: Line, ascii_only: bool) -> str:
    return f"{SYMBOLS[line.status][ascii_only]} {line.what}: {line.detail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--send-test", action="store_true", help="send one marked test message to each channel")
    parser.add_argument("--to", help="the test email's address (default: the team lead's email)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds each check may take (default 5)")
    parser.add_argument("--strict", action="store_true", help="an unconfigured channel is a failure (production)")
    parser.add_argument("--ascii", action="store_true", help="OK/FAIL/-- instead of ✓/✗/–")
    args = parser.parse_args(argv)
    try:
        ascii_only = args.ascii or not "✓✗–🧪".encode(sys.stdout.encoding or "ascii")
    except UnicodeEncodeError:
        ascii_only = True
    team, cfg = check_team()
    lines = [team]
    env_line, settings = check_settings(os.environ)
    lines += [env_line, check_secrets(os.environ)]
    if settings is not None:
        lines.append(check_production(os.environ, settings, cfg))
    if settings is not None:
        lines.append(check_sign_in(settings, cfg))
        lines.append(check_github_webhook(settings))
    if settings is not None:
        t = args.timeout
        lines += run_all([("Discord alerts", lambda: check_discord(settings, "discord", t)),
                          ("Discord staging", lambda: check_discord(settings, "discord_staging", t)),
                          ("Slack alerts", lambda: check_slack(settings, cfg, "slack", t)),
                          ("Slack staging", lambda: check_slack(settings, cfg, "slack_staging", t)),
                          ("Email SMTP", lambda: check_smtp(settings, t)),
                          ("Email SendGrid", lambda: check_sendgrid(settings, t)),
                          ("GitHub", lambda: check_github(settings, t)),
                          ("Sentry resolution", lambda: check_sentry(settings, cfg, t)),
                          ("ntfy", lambda: check_ntfy(settings, cfg, t)),
                          ("Firestore", lambda: check_firestore(settings, t))], deadline=t + 2)
    if settings is not None and args.send_test:
        to = args.to or (cfg and cfg.person(cfg.team_lead).email) or settings.email_from
        status = {line.what: line.status for line in lines}
        status["Email"] = status["Email SendGrid" if settings.sendgrid_api_key else "Email SMTP"]  # what email uses
        names = [name for name, what in WHAT.items() if status.get(what) == OK and build(name, settings).configured()
                 and (name != "ntfy" or routed(cfg, "ntfy"))]   # ntfy needs no credentials: only when routed
        lines += [Line(FAIL, f"{WHAT[n]} test", "not sent: fix the check above first") for n, what in WHAT.items()
                  if status.get(what) == FAIL]
        lines += run_all([(f"{WHAT[n]} test", lambda n=n: send_test(settings, n, to, args.timeout, cfg))
                          for n in names],
                         deadline=args.timeout + 2)
    failed = [line for line in lines if line.status == FAIL or (args.strict and line.status in (OFF, WARN))]
    for line in lines:
        print(render(line, ascii_only), flush=True)
    print("everything configured works" if not failed else
          f"{len(failed)} to fix: see the {SYMBOLS[FAIL][ascii_only]} lines above", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
