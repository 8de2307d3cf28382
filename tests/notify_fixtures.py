"""Channels pointed at the HTTP-boundary fakes and a real SMTP server, for notification tests."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from shared.config.settings import settings
from tests.conftest import fixture_json, sentry_headers
from tests.fakes.clock import REAL_CLOCK, Clock
from tests.fakes.discord import FakeDiscord
from tests.fakes.github import FakeGitHub
from tests.fakes.smtp import SmtpServer

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DISCORD_TOKEN = "prod-webhook-token-SECRET"
STAGING_TOKEN = "staging-webhook-token-SECRET"
GITHUB_TOKEN = "ghp_github-token-SECRET"
SMTP_PASSWORD = "smtp-password-SECRET"
SECRETS = (DISCORD_TOKEN, STAGING_TOKEN, GITHUB_TOKEN, SMTP_PASSWORD)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=HCM).astimezone(timezone.utc)


@dataclass
class Channels:
    discord: FakeDiscord
    github: FakeGitHub
    smtp: SmtpServer
    clock: Clock  # what the product and the fakes run by: a FakeClock unless @pytest.mark.fakes(clock="real")

    def prod(self) -> list[dict]:
        return self.discord.messages_for("100")

    def staging(self) -> list[dict]:
        return self.discord.messages_for("200")


@pytest.fixture
def channels(firestore, monkeypatch, request):
    """Start the fakes (options via @pytest.mark.fakes(...)) and point the settings at them.

    clock="fake" (the default) or "real": the product and the fakes run by one FakeClock (channels.clock, the
    `clock` fixture) that moves only when the test advances it or something paces itself (a rate-limit pause,
    a hang moves it by exactly that long), or both by the system clock.
    """
    marker = request.node.get_closest_marker("fakes")
    options = dict(marker.kwargs) if marker else {}
    clock_option = options.pop("clock", "fake")
    unknown = set(options) - {"rate_limit", "rate_window", "fail_ratio", "seed", "hang_seconds"}
    if unknown or clock_option not in ("real", "fake"):
        raise ValueError(f"@pytest.mark.fakes: unknown option(s) {sorted(unknown)} or clock={clock_option!r}")
    clock = request.getfixturevalue("clock") if clock_option == "fake" else REAL_CLOCK
    discord = FakeDiscord(webhook_id="100", token=DISCORD_TOKEN, rate_limit=options.get("rate_limit", 50),
                          rate_window=options.get("rate_window", 1.0), fail_ratio=options.get("fail_ratio", 0.0),
                          seed=options.get("seed", 0), hang_seconds=options.get("hang_seconds", 0.8),
                          clock=clock).serve()
    discord.add_webhook("200", STAGING_TOKEN)
    github = FakeGitHub(tokens=(GITHUB_TOKEN,), repos=("petties/petties",), fail_ratio=options.get("fail_ratio", 0.0),
                        seed=options.get("seed", 0), hang_seconds=options.get("hang_seconds", 0.8),
                        clock=clock).serve()
    smtp = SmtpServer(user="mailer", password=SMTP_PASSWORD, clock=clock).serve()
    env = {"DISCORD_WEBHOOK_URL": discord.webhook_url("100", DISCORD_TOKEN),
           "DISCORD_STAGING_WEBHOOK_URL": discord.webhook_url("200", STAGING_TOKEN),
           "GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_REPO": "petties/petties", "GITHUB_API_URL": github.base_url,
           "SMTP_URL": smtp.url() + "?tls=insecure", "EMAIL_FROM": "incidents@petties.world"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings.cache_clear()
    try:
        yield Channels(discord, github, smtp, clock)
    finally:
        from shared.notify import delivery
        delivery.wait_idle()
        discord.stop()
        github.stop()
        smtp.stop()
        monkeypatch.undo()
        settings.cache_clear()


def sentry_alert(ingest, monkeypatch, when: datetime, issue_id: str, title: str, level: str = "error",
                 users: int = 1, action: str = "created", project: str = "petties-backend") -> dict:
    """Post a signed Sentry issue webhook as if it arrived at `when`; return the answer."""
    monkeypatch.setattr("shared.web.http.now", lambda: when)
    payload = fixture_json("sentry_issue_created.json")
    payload["action"] = action
    payload["data"]["issue"].update(id=issue_id, title=title, level=level, userCount=users,
                                    project={"slug": project}, metadata={"value": title})
    body = json.dumps(payload).encode()
    r = ingest.post("/sentry", data=body, headers=sentry_headers(body, "issue"))
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


def scheduled(client, when: datetime | str, path: str = "/", **headers: str):
    """POST as Cloud Scheduler does: at the schedule time and stamped with it (the function refuses a stamp more
    than 10 minutes from its clock, so its clock reads `when` for the call). Not for calls from several threads:
    patch shared.web.http.now once around those."""
    moment = datetime.fromisoformat(when.replace("Z", "+00:00")) if isinstance(when, str) else when
    stamp = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with mock.patch("shared.web.http.now", lambda: moment):
        return client.post(path, headers={"X-CloudScheduler-ScheduleTime": stamp, **headers})


def sweep(escalate_client, when: datetime) -> dict:
    r = scheduled(escalate_client, when)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


def no_secret_in(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"a secret leaked: {secret[:6]}..."


BOT_TOKEN = "bot-token-SECRET"
ALERTS, STAGING = "1100000000000000001", "1200000000000000001"
APP, GUILD = "900000000000000001", "800000000000000001"


@pytest.fixture
def bot(channels, monkeypatch):
    """The `channels` fakes, with the fake Discord also a bot in the team's server and bot mode configured."""
    fake = channels.discord
    fake.bot_token = BOT_TOKEN
    fake.add_channel(ALERTS, "petties-alerts")
    fake.add_channel(STAGING, "petties-alerts-dev")
    env = {"DISCORD_BOT_TOKEN": BOT_TOKEN, "DISCORD_ALERTS_CHANNEL_ID": ALERTS, "DISCORD_STAGING_CHANNEL_ID": STAGING,
           "DISCORD_API_URL": f"{fake.base_url}/api/v10", "DISCORD_APPLICATION_ID": APP, "DISCORD_GUILD_ID": GUILD}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings.cache_clear()
    yield channels
    for key in env:  # before the next test reads the settings, not at monkeypatch's own undo after this
        monkeypatch.delenv(key, raising=False)
    settings.cache_clear()
