"""Secrets and endpoints from the environment, validated once when a function starts.

A bad value stops the function from starting with a message naming the variable
(`SENTRY_MAX_AGE_SECONDS: expected a whole number of seconds, got 'abc'`), rather than a 500 on
every request later.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from shared import log
from shared.config import ConfigError


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


def _secret(value: object) -> Secret:
    return value if isinstance(value, Secret) else Secret(str(value or ""))


def _url(value: object) -> str:
    return str(value or "").strip().rstrip("/")


SecretValue = Annotated[Secret, BeforeValidator(_secret)]
BaseUrl = Annotated[str, BeforeValidator(_url)]


_DISCORD_ID = "a Discord id: digits only (Discord's Developer Mode, then right-click > Copy ID)"
# What each variable checked by a pattern looks like, in words (pydantic's own message shows the regular expression;
# tests/test_config.py fails for a pattern without its words here)
EXPECTED = {"GITHUB_REPO": "owner/repo, e.g. petties/backend",
            "DISCORD_PUBLIC_KEY": "the application's public key: 64 hexadecimal characters (Developer Portal > "
                                  "General Information > Public Key)",
            "DISCORD_APPLICATION_ID": _DISCORD_ID, "DISCORD_ALERTS_CHANNEL_ID": _DISCORD_ID,
            "DISCORD_STAGING_CHANNEL_ID": _DISCORD_ID, "DISCORD_GUILD_ID": _DISCORD_ID,
            "DISCORD_CLIENT_ID": "the OAuth2 client id: digits only (Developer Portal > OAuth2)"}


class Settings(BaseModel):
    """The environment a function runs with; field aliases are the variable names."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, populate_by_name=True, extra="ignore")

    sentry_client_secret: SecretValue = Field(Secret(""), alias="SENTRY_CLIENT_SECRET")
    ingest_token: SecretValue = Field(Secret(""), alias="INGEST_TOKEN")
    api_token: SecretValue = Field(Secret(""), alias="API_TOKEN")
    project: str = Field("demo-incidents", alias="GOOGLE_CLOUD_PROJECT")
    sentry_max_age_seconds: int = Field(0, alias="SENTRY_MAX_AGE_SECONDS", ge=0)
    # notification channels; an unset one shows its messages in the logs and on the local preview page
    discord_webhook_url: SecretValue = Field(Secret(""), alias="DISCORD_WEBHOOK_URL")
    discord_staging_webhook_url: SecretValue = Field(Secret(""), alias="DISCORD_STAGING_WEBHOOK_URL")
    # Discord bot mode: alerts as bot messages with buttons, a thread per alert, the interactions endpoint
    discord_bot_token: SecretValue = Field(Secret(""), alias="DISCORD_BOT_TOKEN")
    discord_application_id: str = Field("", alias="DISCORD_APPLICATION_ID", pattern=r"^\d*$")
    discord_public_key: str = Field("", alias="DISCORD_PUBLIC_KEY", pattern=r"^([0-9a-fA-F]{64})?$")
    discord_alerts_channel_id: str = Field("", alias="DISCORD_ALERTS_CHANNEL_ID", pattern=r"^\d*$")
    discord_staging_channel_id: str = Field("", alias="DISCORD_STAGING_CHANNEL_ID", pattern=r"^\d*$")
    discord_guild_id: str = Field("", alias="DISCORD_GUILD_ID", pattern=r"^\d*$")
    discord_api_url: BaseUrl = Field("https://discord.com/api/v10", alias="DISCORD_API_URL")
    # "Sign in with Discord" for the console (OAuth2 > Client information in the developer portal): with both set,
    # each person signs in as themselves and the API-token sign-in is off (shared/web/console/discord_auth.py)
    discord_client_id: str = Field("", alias="DISCORD_CLIENT_ID", pattern=r"^\d*$")
    discord_client_secret: SecretValue = Field(Secret(""), alias="DISCORD_CLIENT_SECRET")
    discord_oauth_url: BaseUrl = Field("https://discord.com/oauth2", alias="DISCORD_OAUTH_URL")
    github_token: SecretValue = Field(Secret(""), alias="GITHUB_TOKEN")
    github_repo: str = Field("", alias="GITHUB_REPO", pattern=r"^([\w.-]+/[\w.-]+)?$")
    github_api_url: BaseUrl = Field("https://api.github.com", alias="GITHUB_API_URL")
    smtp_url: SecretValue = Field(Secret(""), alias="SMTP_URL")
    sendgrid_api_key: SecretValue = Field(Secret(""), alias="SENDGRID_API_KEY")
    sendgrid_api_url: BaseUrl = Field("https://api.sendgrid.com", alias="SENDGRID_API_URL")
    email_from: str = Field("incidents@localhost", alias="EMAIL_FROM")
    # standard formats: Grafana's HMAC secret (optional timestamp header), PagerDuty routing keys
    grafana_webhook_secret: SecretValue = Field(Secret(""), alias="GRAFANA_WEBHOOK_SECRET")
    grafana_timestamp_header: str = Field("", alias="GRAFANA_TIMESTAMP_HEADER")
    pagerduty_routing_keys: dict[str, str] = Field({}, alias="PAGERDUTY_ROUTING_KEYS")
    # the daily summary's figures and UptimeRobot on the free plan (polled by the sweep)
    sentry_api_token: SecretValue = Field(Secret(""), alias="SENTRY_API_TOKEN")
    sentry_api_url: BaseUrl = Field("https://sentry.io", alias="SENTRY_API_URL")
    uptimerobot_api_key: SecretValue = Field(Secret(""), alias="UPTIMEROBOT_API_KEY")
    uptimerobot_api_url: BaseUrl = Field("https://api.uptimerobot.com/v2", alias="UPTIMEROBOT_API_URL")
    # GitHub's webhook (POST /ingest/github, issues events): X-Hub-Signature-256 is an HMAC with this secret
    github_webhook_secret: SecretValue = Field(Secret(""), alias="GITHUB_WEBHOOK_SECRET")
    # push pages to phones through ntfy (https://ntfy.sh or a self-hosted server); the token for protected topics
    ntfy_url: BaseUrl = Field("https://ntfy.sh", alias="NTFY_URL")
    ntfy_token: SecretValue = Field(Secret(""), alias="NTFY_TOKEN")
    # Slack incoming webhooks (https://api.slack.com/messaging/webhooks): alerts and staging alerts
    slack_webhook_url: SecretValue = Field(Secret(""), alias="SLACK_WEBHOOK_URL")
    slack_staging_webhook_url: SecretValue = Field(Secret(""), alias="SLACK_STAGING_WEBHOOK_URL")
    local_preview: bool = Field(False, alias="LOCAL_PREVIEW")
    # seconds one vendor call may take, connect to last byte (Discord, GitHub, SendGrid; SMTP per operation)
    send_timeout: float = Field(5.0, alias="SEND_TIMEOUT_SECONDS", gt=0, le=60)
    # the web console signs its session cookies with this (default: a key derived from API_TOKEN)
    console_secret: SecretValue = Field(Secret(""), alias="CONSOLE_SECRET")
    # the base URL the functions are served under (https://<region>-<project>.cloudfunctions.net, which
    # `./deploy.sh gcp apply` sets; http://127.0.0.1:<PORT> under `./deploy.sh local`): the status page's links.
    # Never a request's Host or X-Forwarded-Host, which whoever sends the request chooses.
    public_url: BaseUrl = Field("", alias="PUBLIC_URL")

    @field_validator("sentry_max_age_seconds", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        text = str(value).strip()
        if not text:
            return 0
        if not text.isdigit():
            raise ValueError(f"expected a whole number of seconds, got {text[:40]!r}")
        return int(text)

    @field_validator("public_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
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

    @field_validator("pagerduty_routing_keys", mode="before")
    @classmethod
    def _routing_keys(cls, value: object) -> object:
        if isinstance(value, dict):
            return value
        keys = {}
        for item in str(value or "").split(","):
            key, sep, service = item.partition("=")
            if not key.strip():
                continue
            if not sep or not service.strip():
                raise ValueError("expected key=service pairs separated by commas (an item has no service)")
            keys[key.strip()] = service.strip()
        return keys

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Read and validate the environment; ConfigError names each bad variable."""
        values = {k: v for k, v in env.items() if k in _ALIASES}
        if not values.get("GOOGLE_CLOUD_PROJECT") and env.get("GCLOUD_PROJECT"):
            values["GOOGLE_CLOUD_PROJECT"] = env["GCLOUD_PROJECT"]
        try:
            return cls.model_validate(values)
        except ValidationError as e:
            problems = []
            for err in e.errors():
                name = str(err["loc"][0]) if err["loc"] else "environment"
                # never echo a value back: it may be a secret; nor a pattern: say in words what is expected
                message = (f"expected {EXPECTED.get(name, 'another form')}" if err["type"] == "string_pattern_mismatch"
                           else err["msg"].removeprefix("Value error, "))
                problems.append(f"{name}: {message}")
            raise ConfigError("environment: " + "; ".join(problems)) from None


_ALIASES = {f.alias for f in Settings.model_fields.values()}


@functools.lru_cache(maxsize=1)
def settings() -> Settings:
    """Return the process-wide settings (their secrets are never shown in a reported exception)."""
    loaded = Settings.from_env()
    log.hide([v.reveal() for v in loaded.__dict__.values() if isinstance(v, Secret)]
             + list(loaded.pagerduty_routing_keys))
    return loaded
