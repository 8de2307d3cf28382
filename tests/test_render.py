"""Golden files for every template on every channel, including over-limit and hostile text.

Regenerate after an intended change with UPDATE_GOLDEN=1 ./deploy.sh test -k render, then review the diff.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest

from shared.channels import discord, github
from shared.channels.email import email_message
from shared.config import DEFAULT_CONFIG, load_config, parse_config
from shared.model import Incident
from shared.notify import render

CFG = load_config()
CFG_WITH_DISCORD_IDS = parse_config(
    DEFAULT_CONFIG.read_text()
    .replace("name: Dev A, role: team-lead,", "name: Dev A, role: team-lead, discord_id: '111',")
    .replace("name: Dev D, role: developer,", "name: Dev D, role: developer, discord_id: '444',"))
GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "render")
NOW = datetime(2026, 11, 27, 8, 52, 0, tzinfo=timezone.utc)  # 15:52 in Ho Chi Minh City


def incident(**changes) -> Incident:
    base = {"source": "sentry", "dedup_key": "sentry:4242", "key_doc": "golden",
        "id": "INC-7K3QXD", "title": "HikariPool-1 - Connection is not available, request timed out after 30000ms",
        "service": "petties-backend", "environment": "production", "status": "open", "severity_rank": 4,
        "severity_reasons": {"critical": "rule 'database-unavailable': mentions 'connection pool exhausted'",
                             "high": "rule 'many-users': 150 users affected >= 100",
                             "medium": "sentry level 'error'", "low": "sentry level 'warning'"},
        "location": "com.petties.booking.BookingRepository.save",
        "latest_message": "SQLTransientConnectionException: HikariPool-1 - Connection is not available",
        "occurrences": 37, "users_affected": 12,
        "created_at": datetime(2026, 11, 27, 8, 45, 12, tzinfo=timezone.utc),
        "last_seen": datetime(2026, 11, 27, 8, 51, 40, tzinfo=timezone.utc),
        "links": {"sentry": "https://petties.sentry.io/issues/4242/"}, "resolved_at": None,
    }
    return Incident.from_doc({**base, **changes})


HOSTILE = incident(title="@everyone **URGENT** [click](https://evil.example) <@&123> `rm -rf`",
                   latest_message="@here " + "A" * 6000, location="# heading\n> quote",
                   links={"sentry": "javascript:alert(1)"})


def check(name: str, value) -> None:
    path = os.path.join(GOLDEN, name)
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    with open(path, encoding="utf-8") as f:
        assert text == f.read()


CASES = {
    "discord_critical.json": lambda: discord.message("critical", incident(), CFG_WITH_DISCORD_IDS, NOW,
                                                            ("dev-d", "dev-a")),
    "discord_high.json": lambda: discord.message("high", incident(severity_rank=3), CFG, NOW, ("dev-d",)),
    "discord_warning.json": lambda: discord.message("warning", incident(severity_rank=2), CFG, NOW),
    "discord_raised.json": lambda: discord.message("raised", incident(), CFG_WITH_DISCORD_IDS, NOW,
                                                          ("dev-d", "dev-a")),
    "discord_resolved.json": lambda: discord.message(
        "resolved", incident(status="resolved", resolved_at=datetime(2026, 11, 27, 10, 3, tzinfo=timezone.utc),
                             downtime_seconds=2677), CFG, NOW),
    "discord_milestone.json": lambda: discord.message("milestone", incident(occurrences=100), CFG, NOW,
                                                             extra={"milestone": "100"}),
    "discord_digest.json": lambda: discord.digest(
        [incident(severity_rank=3), incident(id="INC-22222", severity_rank=2, title="Slow /api/bookings",
                                             status="resolved")], CFG, NOW,
        datetime(2026, 11, 26, 11, 0, tzinfo=timezone.utc), ("dev-d",)),
    "discord_hostile.json": lambda: discord.message("critical", HOSTILE, CFG_WITH_DISCORD_IDS, NOW, ("dev-a",)),
    "email_critical.txt": lambda: email_message("critical", incident(), CFG, NOW,
                                                       ("dev-d@petties.world",), ("dev-d", "dev-a")).text,
    "email_critical.html": lambda: email_message("critical", HOSTILE, CFG, NOW, ("dev-d@petties.world",)).html,
    "email_subject.txt": lambda: email_message("critical", incident(), CFG, NOW, ("a@b.c",)).subject + "\n",
    "email_resolved.txt": lambda: email_message("resolved", incident(status="resolved"), CFG, NOW,
                                                       ("a@b.c",)).text,
    "github_issue.json": lambda: github.issue(incident(severity_rank=2), CFG, NOW),
    "github_hostile.json": lambda: github.issue(
        incident(severity_rank=1, title="x" * 400, latest_message="```\n" + "B" * 70000), CFG, NOW),
    "github_resolved.md": lambda: github.resolved_comment(incident(status="resolved"), CFG, NOW) + "\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    check(name, CASES[name]())


def test_discord_messages_stay_within_discord_limits():
    for name, make in CASES.items():
        if not name.startswith("discord"):
            continue
        payload = make()
        assert len(payload["content"]) <= discord.CONTENT_MAX, name
        total = 0
        for embed in payload.get("embeds", []):
            assert len(embed["title"]) <= 256 and len(embed["description"]) <= 4096
            assert all(len(f["value"]) <= 1024 and len(f["name"]) <= 256 for f in embed["fields"])
            total += len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"]) + sum(
                len(f["name"]) + len(f["value"]) for f in embed["fields"])
        assert total <= discord.EMBED_TOTAL_MAX, name


def test_hostile_text_is_inert_and_truncated_visibly():
    payload = CASES["discord_hostile.json"]()
    assert payload["allowed_mentions"] == {"parse": [], "users": ["111"]}
    assert "@everyone" not in payload["content"] and "@here" not in payload["content"]
    assert "\\*\\*URGENT\\*\\*" in payload["content"]
    assert "javascript:" not in payload["content"] and "url" not in payload["embeds"][0]
    assert "… (truncated" in payload["content"]
    assert len(payload["content"]) == discord.CONTENT_MAX
    html = CASES["email_critical.html"]()
    assert "&lt;@&amp;123&gt;" in html and "<@&" not in html


def test_truncate_says_how_much_it_cut():
    cut = render.truncate("x" * 5000, 1000)
    assert len(cut) == 1000 and cut.endswith("x… (truncated 4029 characters)")
    assert render.truncate("short", 10) == "short"
