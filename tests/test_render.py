"""Golden files for every template on every channel, including over-limit and hostile text.

Each golden file shows a message as its reader sees it: a Discord message's content as-is, then the rest of
the payload (embeds, allowed_mentions) as JSON; an email's Subject and To, then its text (or its HTML); a
GitHub issue's Title and Labels, then its Markdown body. Regenerate after an intended change with
UPDATE_GOLDEN=1 ./deploy.sh test -k render (that run writes and skips), review the diff, then run again without.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from shared.channels import discord_render as discord
from shared.channels import github, render
from shared.channels.email import Email, email_message
from shared.config import load_config
from shared.model import Incident
from tests.golden_files import golden
from tests.teams import variant

CFG = load_config()
CFG_WITH_DISCORD_IDS = variant({"people.dev-a.discord_id": "111", "people.dev-d.discord_id": "444"})
GOLDEN = Path(__file__).parent / "golden" / "render"
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


PUBLIC_URL = "https://asia-southeast1-petties-incidents.cloudfunctions.net"
UPTIME = incident(source="uptimerobot", dedup_key="uptimerobot:778899", title="petties-web is down",
                  latest_message="Connection Timeout", location=None, occurrences=1, users_affected=0,
                  last_seen=datetime(2026, 11, 27, 8, 45, 12, tzinfo=timezone.utc), severity_rank=2,
                  severity_reasons={"medium": "uptimerobot alert 'down'"}, service="petties-web",
                  links={"monitor": "https://dashboard.uptimerobot.com/monitors/778899"})
RESOLVED_BY_DEV_D = incident(status="resolved", resolved_at=datetime(2026, 11, 27, 10, 3, tzinfo=timezone.utc),
                             timeline=[{"at": datetime(2026, 11, 27, 10, 3, tzinfo=timezone.utc), "actor": "dev-d",
                                        "action": "resolved", "detail": "pool size raised to 40"}])
HOSTILE = incident(title="@everyone **URGENT** [click](https://evil.example) <@&123> `rm -rf`",
                   latest_message="@here " + "A" * 6000, location="# heading\n> quote",
                   links={"sentry": "javascript:alert(1)"})


# -- the golden files' formats; each is checked to read back as exactly what was rendered ---------------------
JSON_FENCE = "\n\n```json\n"


def discord_md(payload: dict) -> str:
    """The content as Discord shows it, then the rest of the payload as a JSON block."""
    rest = {k: v for k, v in payload.items() if k != "content"}
    text = payload["content"] + JSON_FENCE + json.dumps(rest, indent=2, ensure_ascii=False, sort_keys=True) + "\n```\n"
    content, _, block = text.rpartition(JSON_FENCE)  # JSON never holds a raw newline, so the last fence is ours
    assert {"content": content, **json.loads(block.removesuffix("\n```\n"))} == json.loads(json.dumps(payload)), \
        "not reversible"
    return text


def _headed(headers: dict[str, str], body: str) -> str:
    """Mail-style `Key: value` lines, a blank line, then the body as-is."""
    assert all("\n" not in v for v in headers.values()), "a header value would span lines"
    return "".join(f"{k}: {v}\n" for k, v in headers.items()) + "\n" + body


def email_txt(email: Email) -> str:
    """Subject and To as the mail carries them, then the plain-text part."""
    assert all(", " not in a for a in email.to)
    return _headed({"Subject": email.subject, "To": ", ".join(email.to)}, email.text)


def github_md(issue: dict) -> str:
    """The issue's title and labels, then its Markdown body."""
    assert set(issue) == {"title", "labels", "body"} and all(", " not in n for n in issue["labels"]), \
        "the issue has a field this format does not show: extend github_md"
    return _headed({"Title": issue["title"], "Labels": ", ".join(issue["labels"])}, issue["body"])


def as_text(name: str, value) -> str:
    """Return the golden text of one rendered value, by the file's name."""
    if name.startswith("discord_"):
        return discord_md(value)
    if name.startswith("email_"):
        return value.html if name.endswith(".html") else email_txt(value)
    if isinstance(value, dict):
        return github_md(value)
    return value


CASES = {
    "discord_critical.md": lambda: discord.message("critical", incident(), CFG_WITH_DISCORD_IDS, NOW,
                                                   ("dev-d", "dev-a")),
    "discord_high.md": lambda: discord.message("high", incident(severity_rank=3), CFG, NOW, ("dev-d",)),
    "discord_warning.md": lambda: discord.message("warning", incident(severity_rank=2), CFG, NOW),
    "discord_raised.md": lambda: discord.message("raised", incident(), CFG_WITH_DISCORD_IDS, NOW,
                                                 ("dev-d", "dev-a")),
    "discord_resolved.md": lambda: discord.message(
        "resolved", incident(status="resolved", resolved_at=datetime(2026, 11, 27, 10, 3, tzinfo=timezone.utc),
                             downtime_seconds=2677), CFG, NOW),
    "discord_milestone.md": lambda: discord.message("milestone", incident(occurrences=100), CFG, NOW,
                                                    extra={"milestone": "100"}),
    "discord_digest.md": lambda: discord.digest(
        [incident(severity_rank=3), incident(id="INC-22222", severity_rank=2, title="Slow /api/bookings",
                                             status="resolved")], CFG, NOW,
        datetime(2026, 11, 26, 11, 0, tzinfo=timezone.utc), ("dev-d",)),
    "discord_hostile.md": lambda: discord.message("critical", HOSTILE, CFG_WITH_DISCORD_IDS, NOW, ("dev-a",)),
    "email_critical.txt": lambda: email_message("critical", incident(), CFG, NOW,
                                                ("dev-d@petties.world",), ("dev-d", "dev-a")),
    "email_hostile.html": lambda: email_message("critical", HOSTILE, CFG, NOW, ("dev-d@petties.world",)),
    "email_resolved.txt": lambda: email_message("resolved", incident(status="resolved"), CFG, NOW, ("a@b.c",)),
    "github_issue.md": lambda: github.issue(incident(severity_rank=2), CFG, NOW),
    "github_hostile.md": lambda: github.issue(
        incident(severity_rank=1, title="x" * 400, latest_message="```\n" + "B" * 70000), CFG, NOW),
    "github_resolved.md": lambda: github.resolved_comment(incident(status="resolved"), CFG, NOW) + "\n",
    # with PUBLIC_URL set: the console link (a link button on Discord, a line in the email and the issue)
    "discord_high_linked.md": lambda: discord.message("high", incident(severity_rank=3), CFG, NOW, ("dev-d",),
                                                      public_url=PUBLIC_URL),
    "email_critical_linked.txt": lambda: email_message("critical", incident(), CFG, NOW, ("dev-d@petties.world",),
                                                       public_url=PUBLIC_URL),
    "github_issue_linked.md": lambda: github.issue(incident(severity_rank=2), CFG, NOW, public_url=PUBLIC_URL),
    "discord_digest_linked.md": lambda: discord.digest(
        [incident(severity_rank=3), incident(id="INC-22222", severity_rank=2, title="Slow /api/bookings")], CFG, NOW,
        datetime(2026, 11, 26, 11, 0, tzinfo=timezone.utc), ("dev-d",), public_url=PUBLIC_URL),
    # an uptime monitor's alert: one occurrence, no users (the source cannot know), no location, nothing configured
    "discord_warning_uptime.md": lambda: discord.message("warning", UPTIME, CFG, NOW),
    "github_issue_uptime.md": lambda: github.issue(UPTIME, CFG, NOW),
    # who resolved it, in their words
    "discord_resolved_by.md": lambda: discord.message("resolved", RESOLVED_BY_DEV_D, CFG, NOW,
                                                      public_url=PUBLIC_URL),
    "email_resolved_by.txt": lambda: email_message("resolved", RESOLVED_BY_DEV_D, CFG, NOW, ("a@b.c",),
                                                   public_url=PUBLIC_URL),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    text = as_text(name, CASES[name]())
    assert text == golden(GOLDEN / name, text)


def test_every_golden_file_belongs_to_a_case():
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(CASES)


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
    payload = CASES["discord_hostile.md"]()
    assert payload["allowed_mentions"] == {"parse": [], "users": ["111"]}
    assert "@everyone" not in payload["content"] and "@here" not in payload["content"]
    assert "\\*\\*URGENT\\*\\*" in payload["content"]
    assert "javascript:" not in payload["content"] and "url" not in payload["embeds"][0]
    assert "… (truncated" in payload["content"]
    assert len(payload["content"]) == discord.CONTENT_MAX
    html = CASES["email_hostile.html"]().html
    assert "&lt;@&amp;123&gt;" in html and "<@&" not in html


def test_truncate_says_how_much_it_cut():
    cut = render.truncate("x" * 5000, 1000)
    assert len(cut) == 1000 and cut.endswith("x… (truncated 4029 characters)")
    assert render.truncate("short", 10) == "short"


@pytest.mark.parametrize(("source", "links", "label"), [
    ("uptimerobot", {"monitor": "https://dashboard.uptimerobot.com/monitors/778899"}, "UptimeRobot"),
    ("sentry-legacy", {"sentry": "https://petties.sentry.io/issues/1/"}, "Sentry"),
    ("grafana", {"source": "https://grafana.example/alerting/1/view"}, "Grafana"),
])
def test_the_source_link_is_labelled_by_the_tool_that_reported_it(source, links, label):
    down = incident(source=source, links=links)
    url = next(iter(links.values()))
    text = email_message("critical", down, CFG, NOW, ("dev-d@petties.world",)).text
    assert f"- {label}: {url}" in text and "Sentry: https://dashboard" not in text
    assert f"{label}: {url}" in discord.message("critical", down, CFG, NOW)["content"]


def test_a_critical_email_names_the_people_it_is_addressed_to():
    sent = email_message("critical", incident(), CFG, NOW, ("dev-d@petties.world", "dev-a@petties.world"))
    assert "@Dev A @Dev D - IMMEDIATE ACTION REQUIRED" in sent.text   # in the team file's order
    assert "@on-call" not in sent.text and "@on-call" not in sent.html
