"""Secrets and endpoints from the environment, validated once when a function starts.

A bad value stops the function from starting with a message naming the variable
(`SENTRY_MAX_AGE_SECONDS: expected a whole number of seconds, got 'abc'`), rather than a 500 on
every request later. Each setting is a field of Settings whose `var(...)` names its variable and how its
text is read; a flat table of text needs no validation library (and a function's start loads none).
"""
from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from shared import log
from shared.config import ConfigError
from shared.config.frozen import frozen


class Secret:
    """A secret value that never shows itself in logs, reprs or errors."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


# ---------------------------------------------------------------- how a variable's text is read
# Each reader takes the variable's text and returns its value, or raises ValueError saying what is expected (never
# echoing the value: it may be a secret).

def _text(value: str) -> str:
    return value


def _secret(value: str) -> Secret:
    return Secret(value)


def _base_url(value: str) -> str:
    return value.strip().rstrip("/")


def _matching(pattern: str, words: str) -> Callable[[str], str]:
    """Text that fully matches `pattern`; else the error says `words` (what is expected, for a person)."""
    compiled = re.compile(pattern)

    def read(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"expected {words}")
        return value
    read.pattern = pattern   # tests/test_config.py: every pattern comes with its words
    return read


def _seconds(value: str) -> int:
    text = value.strip()
    if not text:
        return 0
    if not text.isdigit():
        raise ValueError(f"expected a whole number of seconds, got {text[:40]!r}")
    return int(text)


def _timeout(value: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError("expected a number of seconds, such as 5 or 2.5") from None
    if not 0 < number <= 60:   # also refuses nan
        raise ValueError("expected a number of seconds above 0 and at most 60")
    return number


_TRUE, _FALSE = ("1", "true", "yes", "on", "y", "t"), ("0", "false", "no", "off", "n", "f", "")


def _flag(value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError("expected true or false (1 or 0)")


def _routing_keys(value: str) -> dict[str, str]:
    keys = {}
    for item in value.split(","):
        key, sep, service = item.partition("=")
        if not key.strip():
            continue
        if not sep or not service.strip():
            raise ValueError("expected key=service pairs separated by commas (an item has no service)")
        keys[key.strip()] = service.strip()
    return keys


def _public_url(value: str) -> str:
    value = _base_url(value)
    problem = "expected the base URL the functions are served under, such as https://<region>-<project>." \
              "cloudfunctions.net (http or https, a host, no user, query or fragment)"
    if not value:
        return value
    try:
        parts = urlsplit(value)
        _ = parts.port  # a port that is not a number raises
    except ValueError:
        raise ValueError(problem) from None
    if (parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc or "?" in value
            or "#" in value or any(c.isspace() or c in "\"'<>\\" for c in value)):
        raise ValueError(problem)
    return value


def var(name: str, default: Any = "", read: Callable[[str], Any] = _text) -> Any:
    """A setting read from the environment variable `name` with `read`; `default` when the variable is unset."""
    return dataclasses.field(default=default, metadata={"env": name, "read": read})


def secret(name: str) -> Any:
    """A secret setting: never shown in logs, reprs or errors; empty when unset."""
    return var(name, Secret(""), _secret)


def variables() -> dict[str, dataclasses.Field]:
    """Every setting's field, by the name of its environment variable, in Settings' order."""
    return {f.metadata["env"]: f for f in dataclasses.fields(Settings)}


_DISCORD_ID = "a Discord id: digits only (Discord's Developer Mode, then right-click > Copy ID)"
# What each variable checked by a pattern looks like, in words (tests/test_config.py fails for a pattern without them)
EXPECTED = {"GITHUB_REPO": "owner/repo, e.g. petties/backend",
            "DISCORD_PUBLIC_KEY": "the application's public key: 64 hexadecimal characters (Developer Portal > "
                                  "General Information > Public Key)",
            "DISCORD_APPLICATION_ID": _DISCORD_ID, "DISCORD_ALERTS_CHANNEL_ID": _DISCORD_ID,
            "DISCORD_STAGING_CHANNEL_ID": _DISCORD_ID, "DISCORD_GUILD_ID": _DISCORD_ID,
            "DISCORD_CLIENT_ID": "the OAuth2 client id: digits only (Developer Portal > OAuth2)"}


def _digits(name: str) -> Any:
    return var(name, "", _matching(r"\d*", EXPECTED[name]))


@frozen(kw_only=True)
class Settings:
    """The environment a function runs with; each field's `var` names its variable."""

    sentry_client_secret: Secret = secret("SENTRY_CLIENT_SECRET")
    ingest_token: Secret = secret("INGEST_TOKEN")
    api_token: Secret = secret("API_TOKEN")
    project: str = var("GOOGLE_CLOUD_PROJECT", "demo-incidents")
    sentry_max_age_seconds: int = var("SENTRY_MAX_AGE_SECONDS", 0, _seconds)
    # notification channels; an unset one shows its messages in the logs and on the local preview page
    discord_webhook_url: Secret = secret("DISCORD_WEBHOOK_URL")
    discord_staging_webhook_url: Secret = secret("DISCORD_STAGING_WEBHOOK_URL")
    # Discord bot mode: alerts as bot messages with buttons, a thread per alert, the interactions endpoint
    discord_bot_token: Secret = secret("DISCORD_BOT_TOKEN")
    discord_application_id: str = _digits("DISCORD_APPLICATION_ID")
    discord_public_key: str = var("DISCORD_PUBLIC_KEY", "", _matching(r"([0-9a-fA-F]{64})?",
                                                                     EXPECTED["DISCORD_PUBLIC_KEY"]))
    discord_alerts_channel_id: str = _digits("DISCORD_ALERTS_CHANNEL_ID")
    discord_staging_channel_id: str = _digits("DISCORD_STAGING_CHANNEL_ID")
    discord_guild_id: str = _digits("DISCORD_GUILD_ID")
    discord_api_url: str = var("DISCORD_API_URL", "https://discord.com/api/v10", _base_url)
    # "Sign in with Discord" for the console (OAuth2 > Client information in the developer portal): with both set,
    # each person signs in as themselves and the API-token sign-in is off (shared/web/console/discord_auth.py)
    discord_client_id: str = _digits("DISCORD_CLIENT_ID")
    discord_client_secret: Secret = secret("DISCORD_CLIENT_SECRET")
    discord_oauth_url: str = var("DISCORD_OAUTH_URL", "https://discord.com/oauth2", _base_url)
    github_token: Secret = secret("GITHUB_TOKEN")
    github_repo: str = var("GITHUB_REPO", "", _matching(r"([\w.-]+/[\w.-]+)?", EXPECTED["GITHUB_REPO"]))
    github_api_url: str = var("GITHUB_API_URL", "https://api.github.com", _base_url)
    smtp_url: Secret = secret("SMTP_URL")
    sendgrid_api_key: Secret = secret("SENDGRID_API_KEY")
    sendgrid_api_url: str = var("SENDGRID_API_URL", "https://api.sendgrid.com", _base_url)
    email_from: str = var("EMAIL_FROM", "incidents@localhost")
    # standard formats: Grafana's HMAC secret (optional timestamp header), PagerDuty routing keys
    grafana_webhook_secret: Secret = secret("GRAFANA_WEBHOOK_SECRET")
    grafana_timestamp_header: str = var("GRAFANA_TIMESTAMP_HEADER")
    pagerduty_routing_keys: dict[str, str] = dataclasses.field(
        default_factory=dict, metadata={"env": "PAGERDUTY_ROUTING_KEYS", "read": _routing_keys})
    # the daily summary's figures and UptimeRobot on the free plan (polled by the sweep)
    sentry_api_token: Secret = secret("SENTRY_API_TOKEN")
    sentry_api_url: str = var("SENTRY_API_URL", "https://sentry.io", _base_url)
    uptimerobot_api_key: Secret = secret("UPTIMEROBOT_API_KEY")
    uptimerobot_api_url: str = var("UPTIMEROBOT_API_URL", "https://api.uptimerobot.com/v2", _base_url)
    # GitHub's webhook (POST /ingest/github, issues events): X-Hub-Signature-256 is an HMAC with this secret
    github_webhook_secret: Secret = secret("GITHUB_WEBHOOK_SECRET")
    # push pages to phones through ntfy (https://ntfy.sh or a self-hosted server); the token for protected topics
    ntfy_url: str = var("NTFY_URL", "https://ntfy.sh", _base_url)
    ntfy_token: Secret = secret("NTFY_TOKEN")
    # Slack incoming webhooks (https://api.slack.com/messaging/webhooks): alerts and staging alerts
    slack_webhook_url: Secret = secret("SLACK_WEBHOOK_URL")
    slack_staging_webhook_url: Secret = secret("SLACK_STAGING_WEBHOOK_URL")
    local_preview: bool = var("LOCAL_PREVIEW", False, _flag)
    # seconds one vendor call may take, connect to last byte (Discord, GitHub, SendGrid; SMTP per operation)
    send_timeout: float = var("SEND_TIMEOUT_SECONDS", 5.0, _timeout)
    # the web console signs its session cookies with this (default: a key derived from API_TOKEN)
    console_secret: Secret = secret("CONSOLE_SECRET")
    # the base URL the functions are served under (https://<region>-<project>.cloudfunctions.net, which
    # `./deploy.sh gcp apply` sets; http://127.0.0.1:<PORT> under `./deploy.sh local`): the status page's links.
    # Never a request's Host or X-Forwarded-Host, which whoever sends the request chooses.
    public_url: str = var("PUBLIC_URL", "", _public_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Read and validate the environment; ConfigError names each bad variable."""
        env = dict(env)
        if not env.get("GOOGLE_CLOUD_PROJECT") and env.get("GCLOUD_PROJECT"):
            env["GOOGLE_CLOUD_PROJECT"] = env["GCLOUD_PROJECT"]
        values, problems = {}, []
        for name, field in variables().items():
            if name not in env:
                continue
            try:
                values[field.name] = field.metadata["read"](env[name])
            except ValueError as e:
                problems.append(f"{name}: {e}")
        if problems:
            raise ConfigError("environment: " + "; ".join(problems))
        return cls(**values)


@functools.lru_cache(maxsize=1)
def settings() -> Settings:
    """Return the process-wide settings (their secrets are never shown in a reported exception)."""
    loaded = Settings.from_env()
    log.hide([v.reveal() for v in vars(loaded).values() if isinstance(v, Secret)]
             + list(loaded.pagerduty_routing_keys))
    return loaded
