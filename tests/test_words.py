"""Words for people: every page and every message is in the team's words, never an internal identifier.

Given a day of incidents made through the real entry points (each severity, staging, an uptime outage, one
acknowledged and resolved, one resolved never acknowledged, a page, two alerts held overnight and released as a
digest, a postmortem, the daily report), with no channel configured, this renders every console page, the local
preview page, and every message kind on every channel (with and without PUBLIC_URL), and fails on what is meant for
us: record reasons (`postmortem_issue`, `step-1-ack`, `milestone-10`, `postmortem-draft`), outbox ids, a dash
standing for something not configured ("Logs: —"), wrong plurals ("1 occurrences"), an empty header field
(`discord · daily · - ·`), attempt counters, and clocks that no longer apply.
"""
from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import httpx
import pytest

from shared.channels import (
    DIGEST,
    ESCALATION,
    MILESTONE,
    POSTMORTEM,
    POSTMORTEM_ISSUE,
    POSTMORTEM_SYNC,
    REGISTRY,
    STEP,
    TEXT,
    Context,
    build,
    kind_of,
)
from shared.channels.preview import payload_of
from shared.config import config
from shared.config.channels import CAPABILITIES
from shared.config.settings import settings
from shared.notify import delivery
from shared.store import incidents as store
from shared.store import outbox, postmortems
from shared.web.api import handoff_view
from tests.conftest import fixture_json, function_app, sentry_headers
from tests.notify_fixtures import local, scheduled, sentry_alert, sweep
from tests.test_console import sign_in

TUESDAY = local("2026-11-24 09:00:00")    # business hours; Dev D is on call that week
PUBLIC = "https://asia-southeast1-petties-incidents.cloudfunctions.net"

# what is meant for us, not for people (URLs are taken out of the text first)
FORBIDDEN = {
    "a record reason or setting name (snake_case)": re.compile(r"\b[a-z]+_[a-z_]+\b"),
    "a record reason": re.compile(r"\b(?:step-\d+-\w+|milestone-\d+|severity-(?:low|medium|high|critical)\b|"
                                  r"escalation-[\w-]+|postmortem-(?:draft|overdue|\d+h)|notice-[\w-]+|"
                                  r"status-update-\d+|opened:|:opened\b)"),
    "an outbox id": re.compile(r"\bINC-[A-Z0-9]+:[\w.-]+:\w+"),
    "an empty header field": re.compile(r"(?:^|·)[ \t]*-[ \t]*·", re.M),
    "a dash for something not configured": re.compile(r"(?:Logs|Dashboard|Sentry|UptimeRobot|Location|Source|"
                                                      r"Why this severity|Console)\s*[:|]?\s*—"),
    "a wrong plural": re.compile(r"(?<![\d.,])1 (?:occurrences|users|minutes|alerts|messages|tries|hours)\b"),
    "an attempt counter": re.compile(r"\battempts? \d"),
    "a lone record word": re.compile(r"\b(?:superseded|postmortem_sync|discord_staging)\b"),
}
URL = re.compile(r"https?://[^\s<>\"')]+")
TAGS = re.compile(r"<(style|script)\b.*?</\1>|<[^>]+>", re.S)


def visible(page: str) -> str:
    """The text a person sees on an HTML page (attributes, styles and tags gone)."""
    return html.unescape(TAGS.sub(" ", page))


def problems(where: str, text: str) -> list[str]:
    text = URL.sub("<url>", text)
    found = []
    for what, pattern in FORBIDDEN.items():
        for match in pattern.finditer(text):
            start = max(match.start() - 40, 0)
            found.append(f"{where}: {what}: {match[0]!r} in …{text[start:match.end() + 40]!r}…")
    return found


def shown(payload) -> list[str]:
    """The strings of a message's payload that a person reads (not ids, colours, URLs or nonces)."""
    if isinstance(payload, str):
        return [payload]
    if isinstance(payload, list):
        return [s for item in payload for s in shown(item)]
    if not isinstance(payload, dict):
        return []
    hidden = {"url", "custom_id", "nonce", "color", "timestamp", "value", "allowed_mentions", "emoji", "to",
              "enforce_nonce", "type", "style", "html",
              "tags", "topic", "click", "action"}   # ntfy: tags are shown as their emoji, the rest are machine fields
    out = [s for key, value in payload.items() if key not in hidden for s in shown(value)]
    if "html" in payload:   # an email's HTML part, as its reader sees it
        out.append(visible(str(payload["html"])))
    for field in payload.get("fields") or []:   # an embed field's value is read (a select option's is not)
        out.append(str(field.get("value", "")))
    return out


def at(monkeypatch, when):
    monkeypatch.setattr("shared.web.http.now", lambda: when)


@pytest.fixture
def day(ingest, api, escalate, daily, firestore, monkeypatch):
    """A day of incidents, made through the entry points, with no channel configured (all shown on the preview)."""
    made = {}
    made["critical"] = sentry_alert(ingest, monkeypatch, TUESDAY, "9201", "Payment gateway returned 503",
                                    level="fatal", users=40)["incident"]
    made["high"] = sentry_alert(ingest, monkeypatch, TUESDAY + timedelta(minutes=1), "9202",
                                "Login fails with HTTP 500", users=150)["incident"]
    made["medium"] = sentry_alert(ingest, monkeypatch, TUESDAY + timedelta(minutes=2), "9203",
                                  "Image upload slow on the photo page", users=1)["incident"]
    made["low"] = sentry_alert(ingest, monkeypatch, TUESDAY + timedelta(minutes=3), "9204",
                               "Deprecated API used in settings", level="warning")["incident"]
    event = fixture_json("sentry_error_created.json")
    event["data"]["error"].update(environment="staging", level="fatal", title="Crash in staging")
    at(monkeypatch, TUESDAY + timedelta(minutes=4))
    body = json.dumps(event).encode()
    made["staging"] = ingest.post("/sentry", data=body, headers=sentry_headers(body, "error")).get_json()["incident"]
    at(monkeypatch, TUESDAY + timedelta(minutes=5))
    down = dict(fixture_json("uptimerobot_down.json"), monitorID="793527", monitorURL="https://api.petties.world/h")
    made["uptime"] = ingest.post("/uptimerobot?token=test-ingest-token", json=down).get_json()["incident"]
    for n in range(9):   # the medium reaches 10 occurrences: a milestone
        sentry_alert(ingest, monkeypatch, TUESDAY + timedelta(minutes=6, seconds=n), "9203",
                     "Image upload slow on the photo page", users=1)
    delivery.wait_idle()
    at(monkeypatch, TUESDAY + timedelta(minutes=10))
    assert api.post(f"/incidents/{made['high']}/ack", json={"actor": "dev-b"}).status_code == 200
    assert api.post(f"/incidents/{made['high']}/investigating", json={"actor": "dev-b"}).status_code == 200
    assert api.post(f"/incidents/{made['staging']}/ack", json={"actor": "dev-c"}).status_code == 200   # stays open
    sweep(escalate, TUESDAY + timedelta(minutes=16))   # the Critical, unacknowledged: paged
    at(monkeypatch, TUESDAY + timedelta(minutes=30))
    assert api.post(f"/incidents/{made['critical']}/resolve", json={"actor": "dev-d"}).status_code == 200
    at(monkeypatch, TUESDAY + timedelta(minutes=40))
    assert api.post(f"/incidents/{made['high']}/resolve",
                    json={"actor": "dev-b", "detail": "rolled back the login change"}).status_code == 200
    at(monkeypatch, TUESDAY + timedelta(minutes=45))
    up = dict(fixture_json("uptimerobot_up.json"), monitorID="793527", monitorURL="https://api.petties.world/h")
    assert ingest.post("/uptimerobot?token=test-ingest-token", json=up).status_code == 200
    delivery.wait_idle()
    sweep(escalate, TUESDAY + timedelta(hours=1))   # the resolved Critical and High get postmortem drafts
    evening = local("2026-11-24 20:10:00")           # two Highs after hours: held, then one digest at 09:00
    made["held"] = [sentry_alert(ingest, monkeypatch, evening + timedelta(minutes=n), f"93{n}",
                                 f"Checkout step {n} fails", users=150)["incident"] for n in range(2)]
    delivery.wait_idle()
    sweep(escalate, local("2026-11-25 09:00:00"))
    r = scheduled(daily, local("2026-11-25 09:05:00"), "/?date=2026-11-24")
    assert r.status_code == 200, r.get_data(as_text=True)
    delivery.wait_idle()
    return made


def test_every_page_and_message_is_in_the_teams_words(day, live_server, monkeypatch):
    found: list[str] = []
    # the console, every page, signed in
    console = function_app("console").test_client()
    at(monkeypatch, local("2026-11-25 09:10:00"))
    assert sign_in(console).status_code == 303
    ids = [i for v in day.values() for i in (v if isinstance(v, list) else [v])]
    paths = ["/", "/?status=resolved", "/oncall", "/handoff", "/metrics?from=2026-11-24&to=2026-11-26", "/silences",
             *(f"/incidents/{i}" for i in ids), f"/postmortems/{day['critical']}"]
    for path in paths:
        page = console.get(path)
        assert page.status_code == 200, (path, page.status_code)
        found += problems(f"console {path}", visible(page.get_data(as_text=True)))
    # the preview page: what would have been sent, held and shown
    page = httpx.get(f"{live_server}/_local/notifications", timeout=10).text
    assert page.count('<article class="shown">') >= 10
    found += problems("preview page", visible(page))
    for p in outbox.list_previews(200):
        found += [f for text in shown(p.get("payload") or {}) for f in problems(f"preview {p['channel']}", text)]
    # every message kind on every channel, for every incident, with and without the console link
    found += every_message(day, monkeypatch)
    assert not found, "\n".join(dict.fromkeys(found))


def test_a_resolved_incident_never_acknowledged_shows_no_response_clock(day, monkeypatch):
    console = function_app("console").test_client()
    at(monkeypatch, local("2026-11-24 09:31:00"))   # resolved at 09:30, its response was due 09:15
    assert sign_in(console).status_code == 303
    listing = visible(console.get("/?status=resolved").get_data(as_text=True))
    row = next(line for line in listing.split("\n\n") if day["critical"] in line)
    assert "left" not in row and "breached" not in row, row
    page = visible(console.get(f"/incidents/{day['critical']}").get_data(as_text=True))
    assert "Respond " not in page.split("Timeline")[0].replace("Respond by", ""), page
    acked = visible(console.get(f"/incidents/{day['high']}").get_data(as_text=True))
    assert "Respond met" in " ".join(acked.split()), acked   # acknowledged in time: that clock still says so


def every_message(day: dict, monkeypatch) -> list[str]:
    """Render each kind each channel carries, for each incident, as the delivery engine would."""
    cfg, found, rendered = config(), [], set()
    records = {r["reason"]: r for i in day.values() for iid in (i if isinstance(i, list) else [i])
               for r in outbox.for_incident(iid)}
    texts = [r for r in records.values() if kind_of(r["reason"]) in (TEXT, POSTMORTEM, STEP) and r.get("text")]
    texts += [{"reason": p["reason"], "text": p["text"], "incident_id": None} for p in outbox.list_previews(200)
              if p.get("kind") == TEXT]   # the daily report, notices
    texts.append({"reason": "handoff", "text": handoff_view(local("2026-11-30 09:00:00"), cfg)["text"],
                  "incident_id": None})
    incidents = [store.get_incident(i) for v in day.values() for i in (v if isinstance(v, list) else [v])]
    drafted = postmortems.get(day["critical"])
    assert drafted, "the resolved Critical has a postmortem draft"
    now = local("2026-11-25 09:10:00")
    for public in ("", PUBLIC):
        monkeypatch.setenv("PUBLIC_URL", public)
        settings.cache_clear()
        for name in REGISTRY:
            channel = build(name, settings())
            for kind in sorted(CAPABILITIES[name].carries):
                for incident in incidents:
                    for ctx in contexts(kind, incident, texts, drafted, incidents, cfg, now):
                        message = channel.render(kind, incident, cfg, now, ctx)
                        rendered.add((name, kind))
                        where = f"{name} {kind} {incident.id}{' linked' if public else ''}"
                        for text in [message.preview, *shown(payload_of(message))]:
                            found += problems(where, text)
    monkeypatch.delenv("PUBLIC_URL")
    settings.cache_clear()
    assert rendered == {(n, k) for n in REGISTRY for k in CAPABILITIES[n].carries}, "a kind was never rendered"
    return found


def contexts(kind: str, incident, texts: list[dict], drafted: dict, incidents: list, cfg, now) -> list[Context]:
    """What the delivery engine hands a channel for this kind (ready-made texts come from the day's records)."""
    people = ("dev-d", "dev-a")
    if kind in (TEXT, POSTMORTEM):
        return [Context(extra={"text": r["text"], "pings": []}) for r in texts
                if kind_of(r["reason"]) == kind and r.get("incident_id") in (incident.id, None)] or []
    if kind == STEP:
        return [Context(extra={"text": r["text"], "emoji": r.get("emoji", ""), "key": r["id"],
                               "step": r["reason"].split("-", 2)[-1]})
                for r in texts if kind_of(r["reason"]) == STEP and r["incident_id"] == incident.id]
    if kind == DIGEST:
        return [Context(people, extra={"items": incidents[:3], "since": now - timedelta(hours=13)})]
    if kind in (POSTMORTEM_ISSUE, POSTMORTEM_SYNC):
        return [Context(extra={"postmortem": {**drafted, "incident": incident.id}})]
    if kind == ESCALATION:
        return [Context(people, ("dev-a@petties.world",), {"step": step, "level": level})
                for step, level in (("sla-response", 2), ("level-3", 3), ("sla-resolution", 3), ("reminder-1", 2))]
    if kind == MILESTONE:
        return [Context(extra={"milestone": "10"})]
    template = {4: "critical", 3: "high"}.get(incident.severity.value, "warning")
    return [Context(people, ("dev-d@petties.world",), {"template": template})]

