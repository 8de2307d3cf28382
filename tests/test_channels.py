"""A channel added from a test is one class, one line of what it can do and one registry line, and is routed,
delivered, retried and previewed like the built-in ones (the contract in shared/channels/base.py)."""
from __future__ import annotations

import pytest
import yaml

from shared import channels
from shared.channels import OPENED, RESOLVED, Channel, Message
from shared.channels.base import Result
from shared.config import DEFAULT_CONFIG, ConfigError, parse_config
from shared.config.channels import CAPABILITIES, Capabilities
from shared.notify import delivery
from shared.store import outbox
from tests.notify_fixtures import local, sentry_alert, sweep

TUESDAY = local("2026-11-24 10:00:00")


class Pager:
    """What the fake pager service received, and how it should answer next."""

    received: list[dict] = []
    failures_left = 0
    configured = True


class PagerChannel(Channel):
    """A made-up pager: one JSON message per opening and per resolution."""

    name = "pager"

    def configured(self) -> bool:
        return Pager.configured

    def render(self, kind, incident, cfg, now, ctx) -> Message:
        text = f"{kind}: {incident.id} {incident.severity.label} {incident.title}"
        return Message(kind, {"text": text}, text)

    def send(self, message: Message, timeout: float) -> Result:
        if Pager.failures_left:
            Pager.failures_left -= 1
            return Result(False, retryable=True, error="HTTP 503")
        Pager.received.append(message.payload)
        return Result(True, ref=f"page-{len(Pager.received)}")


@pytest.fixture
def pager(monkeypatch, use_team):
    monkeypatch.setitem(CAPABILITIES, "pager", Capabilities(frozenset({OPENED, RESOLVED})))  # what it can do
    monkeypatch.setitem(channels.REGISTRY, "pager", PagerChannel)  # the registry line
    Pager.received, Pager.failures_left, Pager.configured = [], 0, True
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    critical = next(r for r in data["notifications"]["routes"] if r["severities"] == ["critical"])
    critical["channels"].append({"channel": "pager"})
    cfg = parse_config(yaml.safe_dump(data))
    use_team(cfg)
    return cfg


def test_a_new_channel_is_routed_delivered_and_resolved(ingest, channels, pager, monkeypatch):
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "9001", "Checkout down", level="fatal")
    delivery.wait_idle()
    assert Pager.received == [{"text": f"opened: {opened['incident']} critical Checkout down"}]
    record = outbox.get(f"{opened['incident']}:opened:pager")
    assert (record["status"], record["ref"]) == ("sent", "page-1")
    sentry_alert(ingest, monkeypatch, local("2026-11-24 10:30:00"), "9001", "Checkout down", level="fatal",
                 action="resolved")
    delivery.wait_idle()
    assert Pager.received[-1]["text"].startswith(f"resolved: {opened['incident']}")
    assert len(channels.prod()) == 2  # Discord went on as before


def test_a_new_channel_is_retried_by_the_sweep(ingest, escalate, channels, pager, monkeypatch):
    Pager.failures_left = 1
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "9002", "Checkout down", level="fatal")
    delivery.wait_idle()
    record = outbox.get(f"{opened['incident']}:opened:pager")
    assert (record["status"], record["last_error"], Pager.received) == ("pending", "HTTP 503", [])
    sweep(escalate, local("2026-11-24 10:10:00"))
    assert outbox.get(f"{opened['incident']}:opened:pager")["status"] == "sent"
    assert len(Pager.received) == 1


def test_an_unconfigured_new_channel_is_previewed(ingest, channels, pager, monkeypatch):
    Pager.configured = False
    opened = sentry_alert(ingest, monkeypatch, TUESDAY, "9003", "Checkout down", level="fatal")
    delivery.wait_idle()
    previews = [p for p in outbox.list_previews() if p["channel"] == "pager"]
    assert [p["text"] for p in previews] == [f"opened: {opened['incident']} critical Checkout down"]
    assert Pager.received == []


def test_routes_name_only_registered_channels_with_the_capabilities_they_have():
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["notifications"]["routes"][0]["channels"].append({"channel": "telegram"})
    with pytest.raises(ConfigError, match="unknown channel 'telegram'"):
        parse_config(yaml.safe_dump(data))
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["notifications"]["routes"][0]["channels"][1].pop("to")   # email with nobody to address
    with pytest.raises(ConfigError, match="email needs `to`"):
        parse_config(yaml.safe_dump(data))
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["notifications"]["routes"][2]["channels"][1]["mention"] = ["on-call"]   # GitHub names nobody
    with pytest.raises(ConfigError, match="github does not name people"):
        parse_config(yaml.safe_dump(data))


def test_every_registry_line_names_a_channel_of_that_name_with_its_capabilities():
    # the registry names each implementation as "module:Class" (imported on first use): a typo would surface only
    # when that channel first sends, so every line is loaded here
    from shared import channels
    for name in channels.REGISTRY:
        implementation = channels.REGISTRY[name]
        assert issubclass(implementation, channels.Channel) and implementation.name == name, name
        assert name in channels.CAPABILITIES, name
    assert set(channels.REGISTRY) == set(channels.CAPABILITIES)
    # and each is named in the team's words (the console, the preview page: "Slack", "ntfy (push)", not "Ntfy")
    assert set(channels.words.CHANNELS) == set(channels.REGISTRY) == set(channels.words.VENDORS)


def test_answering_an_alert_loads_no_vendors_code():
    # a cold ingest instance answers its first alert before it sends anything: the channels load when they send
    import subprocess
    import sys

    from tests.conftest import ROOT
    check = ("import runpy, sys; runpy.run_path('functions/ingest/main.py'); "
             "print(sorted(m for m in sys.modules if m.startswith('shared.channels.')))")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "GOOGLE_CLOUD_PROJECT": "demo-cold"}
    loaded = subprocess.run([sys.executable, "-c", check], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=True).stdout
    for vendor in ("discord", "email", "github", "ntfy", "sentry", "slack"):
        assert f"'shared.channels.{vendor}'" not in loaded, loaded
