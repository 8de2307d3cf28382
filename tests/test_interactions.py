"""Discord interactions: signatures, buttons and slash commands run the team's workflow, refusals are ephemeral.

Requests are signed with a real Ed25519 key made for this run (tests/conftest.py), shaped like Discord's own
payloads (a guild member, the message a button sits on, subcommand options), and sent to the real
`interactions` function; what changed is read back from Firestore through the API.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from nacl.signing import SigningKey

from shared.notify import delivery
from tests.conftest import discord_signed, dump_firestore
from tests.notify_fixtures import local, sentry_alert
from tests.teams import variant

TUESDAY = local("2026-11-24 10:00:00")   # business hours; Dev D is on call that week, Dev A is the lead
IDS = {"dev-a": "111111111111111111", "dev-b": "222222222222222222", "dev-d": "444444444444444444"}
TEAM = variant({f"people.{pid}.discord_id": uid for pid, uid in IDS.items()})
STRANGER = "999999999999999999"


@pytest.fixture
def team(monkeypatch, use_team):
    use_team(TEAM)
    return TEAM


def at(monkeypatch, when):
    monkeypatch.setattr("shared.web.http.now", lambda: when)


_ids = iter(range(10**17, 10**18))


def interaction(kind: int, data: dict, user: str = IDS["dev-d"], **extra) -> dict:
    """An interaction as Discord sends it from a guild (trimmed from Discord's documented examples)."""
    return {"version": 1, "type": kind, "id": str(next(_ids)), "application_id": "290926444748734465",
            "token": "unique_interaction_token", "guild_id": "290926798626357999",
            "channel_id": "345626669114982999", "locale": "en-US", "app_permissions": "442368",
            "member": {"user": {"id": user, "username": "someone", "discriminator": "0"}, "roles": [],
                       "permissions": "2147483647", "nick": None},
            "data": data, **extra}


def click(action: str, incident: str, user: str = IDS["dev-d"], values: list | None = None) -> dict:
    data = {"custom_id": f"incident:{action}:{incident}", "component_type": 3 if values else 2}
    if values:
        data["values"] = values
    message = {"id": "844397162624450620", "channel_id": "345626669114982999", "content": "alert",
               "components": []}
    return interaction(3, data, user, message=message)


def command(name: str, sub: str | None = None, user: str = IDS["dev-d"], **options) -> dict:
    opts = [{"type": 3, "name": k, "value": v} for k, v in options.items()]
    data = {"type": 1, "id": "771825006014889984", "name": name,
            "options": [{"type": 1, "name": sub, "options": opts}] if sub else opts}
    return interaction(2, data, user)


def send(client, payload: dict, headers: dict | None = None):
    body = json.dumps(payload).encode()
    return client.post("/", data=body, headers=headers or discord_signed(body))


def incident_of(api, iid: str) -> dict:
    return api.get(f"/incidents/{iid}").get_json()


# ---------------------------------------------------------------- signatures

def test_ping_is_answered_pong(interactions):
    r = send(interactions, {"id": "1", "token": "t", "type": 1, "version": 1, "application_id": "2"})
    assert r.status_code == 200 and r.get_json() == {"type": 1}
    assert r.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("tamper", ["body", "timestamp", "wrong key", "no signature", "no timestamp", "not hex"])
def test_a_request_not_signed_by_discord_is_401_and_changes_nothing(interactions, firestore, tamper):
    body = json.dumps(command("incident", "list")).encode()
    headers = discord_signed(body)
    if tamper == "body":
        body = body.replace(b"list", b"lisT")
    elif tamper == "timestamp":
        headers["X-Signature-Timestamp"] = str(int(headers["X-Signature-Timestamp"]) + 1)
    elif tamper == "wrong key":
        headers = discord_signed(body, key=SigningKey.generate())
    elif tamper == "no signature":
        del headers["X-Signature-Ed25519"]
    elif tamper == "no timestamp":
        del headers["X-Signature-Timestamp"]
    else:
        headers["X-Signature-Ed25519"] = "zz" * 64
    r = interactions.post("/", data=body, headers=headers)
    assert r.status_code == 401 and r.get_json()["error"]
    assert dump_firestore(firestore) == {}


@pytest.mark.parametrize("stamp", [-3600, -365 * 86400, 86400 * 365, -301, 301, "0", "-5", "abc", "", "1e9", "١٢٣",
                                   "9" * 40])
def test_a_signed_interaction_stamped_outside_five_minutes_is_401_before_it_is_read(interactions, firestore,
                                                                                     monkeypatch, stamp):
    """Hardening 2, finding 3: a validly signed interaction is refused when its timestamp is not a number or is more
    than 5 minutes from now, so a captured one cannot be replayed later."""
    now = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)
    monkeypatch.setattr("shared.web.http.now", lambda: now)
    body = json.dumps(command("incident", "list")).encode()
    stamp = str(int(now.timestamp()) + stamp) if isinstance(stamp, int) else stamp
    r = interactions.post("/", data=body, headers=discord_signed(body, timestamp=stamp))
    assert r.status_code == 401 and "X-Signature-Timestamp" in r.get_json()["error"], r.get_json()
    assert dump_firestore(firestore) == {}


def test_a_captured_interaction_replayed_after_five_minutes_is_refused(interactions, monkeypatch):
    now = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)
    monkeypatch.setattr("shared.web.http.now", lambda: now)
    body = json.dumps(command("incident", "list")).encode()
    captured = discord_signed(body)
    assert interactions.post("/", data=body, headers=captured).status_code == 200
    monkeypatch.setattr("shared.web.http.now", lambda: now + timedelta(seconds=299))
    assert interactions.post("/", data=body, headers=captured).status_code == 200    # Discord's retries: in time
    monkeypatch.setattr("shared.web.http.now", lambda: now + timedelta(minutes=6))
    assert interactions.post("/", data=body, headers=captured).status_code == 401


def test_wrong_method_and_malformed_body(interactions):
    assert interactions.get("/").status_code == 405
    body = b"{nope"
    r = interactions.post("/", data=body, headers=discord_signed(body))
    assert r.status_code == 400 and "JSON" in r.get_json()["error"]


# ---------------------------------------------------------------- the workflow from buttons and commands

def _critical(ingest, monkeypatch, issue="7001", title="Payment gateway down"):
    return sentry_alert(ingest, monkeypatch, TUESDAY, issue, title, level="fatal")["incident"]


def _steps(iid: str) -> list[tuple[str, str]]:
    """The workflow's thread replies written for the incident: (reason, text), in the order taken."""
    from google.cloud.firestore import FieldFilter

    from shared.store.client import client
    query = client().collection("outbox").where(filter=FieldFilter("incident_id", "==", iid))
    docs = [d.to_dict() for d in query.stream()]
    steps = sorted((d for d in docs if d["reason"].startswith("step-")), key=lambda d: int(d["reason"].split("-")[1]))
    return [(d["reason"], d["text"]) for d in steps]


def test_a_slash_command_only_run_with_every_step_in_the_thread(ingest, api, interactions, team, monkeypatch):
    iid = _critical(ingest, monkeypatch)
    at(monkeypatch, local("2026-11-24 10:10:00"))
    r = send(interactions, command("incident", "ack", id=iid.lower()))
    assert r.status_code == 200 and r.get_json()["data"]["flags"] == 64, r.get_json()
    for minute, step in ((12, "investigating"), (20, "fixing"), (35, "deploying")):
        at(monkeypatch, local(f"2026-11-24 10:{minute}:00"))
        assert send(interactions, command("incident", step, id=iid)).status_code == 200
    at(monkeypatch, local("2026-11-24 10:41:00"))
    done = send(interactions, command("incident", "resolve", id=iid, detail="pool size raised")).get_json()
    assert done["data"]["content"] == f"✅ {iid}: Resolved."
    got = incident_of(api, iid)
    assert (got["status"], got["owner"], got["time_to_acknowledge_seconds"], got["time_to_resolve_seconds"]) == \
        ("resolved", "dev-d", 600, 2460)
    assert [e["action"] for e in got["timeline"]][-5:] == ["acknowledged", "investigating", "fixing", "deploying",
                                                         "resolved"]
    assert _steps(iid) == [
        ("step-1-ack", "👀 @Dev D: Acknowledged, investigating (10:10)"),
        ("step-2-investigating", "🔍 @Dev D: Investigating (10:12)"),
        ("step-3-fixing", "🔧 @Dev D: Working on a fix (10:20)"),
        ("step-4-deploying", "🔄 @Dev D: Deploying the fix (10:35)"),
        ("step-5-resolve", "✅ @Dev D: Resolved - pool size raised (10:41)"),
    ]


def test_a_button_updates_the_alert_message_in_place(ingest, api, interactions, team, monkeypatch):
    iid = _critical(ingest, monkeypatch, "7002")
    at(monkeypatch, local("2026-11-24 10:05:00"))
    r = send(interactions, click("ack", iid))
    answer = r.get_json()
    assert r.status_code == 200 and answer["type"] == 7, answer
    buttons = {c["custom_id"]: c for row in answer["data"]["components"] for c in row["components"]}
    assert buttons[f"incident:ack:{iid}"].get("disabled") is True
    assert not buttons[f"incident:resolve:{iid}"].get("disabled")
    assert incident_of(api, iid)["owner"] == "dev-d"
    at(monkeypatch, local("2026-11-24 10:06:00"))
    select = send(interactions, click("severity", iid, values=["high"])).get_json()
    assert select["type"] == 7 and incident_of(api, iid)["severity"] == "high"


def test_ack_by_the_on_call_at_minute_ten_means_no_lead_page_at_fifteen(ingest, api, interactions, escalate, team,
                                                                        monkeypatch):
    from tests.notify_fixtures import sweep
    iid = _critical(ingest, monkeypatch, "7003")
    at(monkeypatch, local("2026-11-24 10:10:00"))
    assert send(interactions, click("ack", iid)).get_json()["type"] == 7
    sweep(escalate, local("2026-11-24 10:16:00"))
    sweep(escalate, local("2026-11-24 10:31:00"))
    got = incident_of(api, iid)
    assert got["escalation_level"] == 1 and got["sla_response_met"] is True
    assert not [e for e in got["timeline"] if e["action"] == "escalated"]


def test_invalid_closes_it_and_leaves_it_out_of_the_sla_metrics(ingest, api, interactions, team, monkeypatch):
    iid = _critical(ingest, monkeypatch, "7004", "Checkout flaky")
    at(monkeypatch, local("2026-11-24 13:00:00"))
    answer = send(interactions, click("invalid", iid)).get_json()
    assert answer["type"] == 7
    buttons = [c for row in answer["data"]["components"] for c in row["components"]]
    assert all(b.get("disabled") for b in buttons)   # nothing applies to a closed incident
    got = incident_of(api, iid)
    assert (got["status"], got["invalid"]) == ("resolved", True)
    critical = api.get("/metrics?from=2026-11-24T00:00:00&to=2026-11-25T00:00:00").get_json()["by_severity"]["critical"]
    assert (critical["incidents"], critical["invalid"], critical["resolution_sla_breached"]) == (0, 1, 0)
    assert _steps(iid) == [("step-1-invalid", "❌ @Dev D: Cannot reproduce, closed as invalid (13:00)")]


# ---------------------------------------------------------------- refusals: ephemeral, nothing changed

def _settled(firestore) -> dict:
    """Firestore once the background sends of earlier clicks are done (they settle outbox records)."""
    delivery.wait_idle()
    return dump_firestore(firestore)


def _unchanged(firestore, before):
    after = _settled(firestore)
    after = {k: v for k, v in after.items() if not k.startswith("claims/interaction-")}
    assert after == {k: v for k, v in before.items() if not k.startswith("claims/interaction-")}


@pytest.mark.parametrize("payload", [
    lambda iid: click("ack", iid, user=STRANGER),
    lambda iid: command("incident", "resolve", user=STRANGER, id=iid),
], ids=["button", "command"])
def test_someone_not_in_the_team_file_is_refused(ingest, interactions, firestore, team, monkeypatch, payload):
    iid = _critical(ingest, monkeypatch, "7005")
    before = _settled(firestore)
    answer = send(interactions, payload(iid)).get_json()
    assert answer["type"] == 4 and answer["data"]["flags"] == 64
    assert "Only people in the team file" in answer["data"]["content"]
    _unchanged(firestore, before)


def test_unknown_incident_resolved_incident_and_replayed_interaction(ingest, api, interactions, firestore, team,
                                                                     monkeypatch):
    unknown = send(interactions, click("ack", "INC-ZZZZZZ")).get_json()
    assert unknown["data"]["flags"] == 64 and "no incident" in unknown["data"]["content"]
    iid = _critical(ingest, monkeypatch, "7006")
    at(monkeypatch, local("2026-11-24 10:20:00"))
    resolved = click("resolve", iid)
    assert send(interactions, resolved).get_json()["type"] == 7
    before = _settled(firestore)
    again = send(interactions, resolved).get_json()   # the same interaction delivered twice
    assert again["data"]["flags"] == 64 and "already handled" in again["data"]["content"]
    late = send(interactions, click("fixing", iid, user=IDS["dev-b"])).get_json()
    assert late["data"]["flags"] == 64 and f"{iid} is resolved" in late["data"]["content"]
    _unchanged(firestore, before)
    assert [e["action"] for e in incident_of(api, iid)["timeline"]].count("resolved") == 1


def test_a_second_ack_by_someone_else_says_who_has_it(ingest, interactions, firestore, team, monkeypatch):
    iid = _critical(ingest, monkeypatch, "7007")
    at(monkeypatch, local("2026-11-24 10:03:00"))
    send(interactions, click("ack", iid))
    before = _settled(firestore)
    other = send(interactions, click("ack", iid, user=IDS["dev-b"])).get_json()
    assert other["data"]["flags"] == 64
    assert other["data"]["content"] == (f"{iid} is already acknowledged by Dev D at "
                                        "2026-11-24 10:03:00 +07:00; nothing changed")
    _unchanged(firestore, before)


@pytest.mark.parametrize("payload", [
    lambda iid: command("incident", "show", user=STRANGER, id=iid),
    lambda iid: command("incident", "list", user=STRANGER),
    lambda iid: command("handoff", user=STRANGER),
    lambda iid: command("oncall", "now", user=STRANGER),
    lambda iid: command("postmortem", "show", user=STRANGER, incident=iid),
    lambda iid: click("ack", iid, user=STRANGER),
    lambda iid: command("incident", "note", user=STRANGER, id=iid, text="hello"),
], ids=["show", "list", "handoff", "oncall now", "postmortem show", "button", "note"])
def test_someone_not_in_the_team_file_can_neither_read_nor_change_an_incident(ingest, interactions, firestore, team,
                                                                               monkeypatch, payload):
    iid = _critical(ingest, monkeypatch, "7015", "Payment gateway down")
    before = _settled(firestore)
    answer = send(interactions, payload(iid)).get_json()
    assert answer["type"] == 4 and answer["data"]["flags"] == 64
    said = answer["data"]["content"]
    assert said.startswith("Only people in the team file can read or change incidents")
    for internal in (iid, "Payment gateway", "Dev A", "Dev D", "dev-d", "Critical", "On call", "Petties"):
        assert internal not in said, internal
    _unchanged(firestore, before)


def test_autocomplete_offers_someone_not_in_the_team_file_nothing(ingest, interactions, team, monkeypatch):
    iid = _critical(ingest, monkeypatch, "7016", "Payment gateway down")
    typing = {"type": 1, "name": "incident", "options": [
        {"type": 1, "name": "show", "options": [{"type": 3, "name": "id", "value": "", "focused": True}]}]}
    assert [c["value"] for c in send(interactions, interaction(4, typing)).get_json()["data"]["choices"]] == [iid]
    assert send(interactions, interaction(4, typing, STRANGER)).get_json() == {"type": 8, "data": {"choices": []}}


# ---------------------------------------------------------------- reading: show, list, on-call, autocomplete

def test_show_list_oncall_handoff_and_autocomplete(ingest, interactions, team, monkeypatch):
    iid = _critical(ingest, monkeypatch, "7008", "Payment gateway down")
    other = sentry_alert(ingest, monkeypatch, TUESDAY, "7009", "Search slow")["incident"]
    shown = send(interactions, command("incident", "show", id=iid)).get_json()["data"]
    assert shown["flags"] == 64 and shown["content"].startswith(f"**{iid}** · Critical · open")
    listed = send(interactions, command("incident", "list")).get_json()["data"]["content"]
    assert iid in listed and other in listed
    on_call = send(interactions, command("oncall", "now")).get_json()["data"]["content"]
    assert on_call.startswith("On call now: Dev D (backup Dev A)")
    assert "On-Call Handoff" in send(interactions, command("handoff")).get_json()["data"]["content"]
    typing = interaction(4, {"type": 1, "name": "incident", "options": [
        {"type": 1, "name": "ack", "options": [{"type": 3, "name": "id", "value": "pay", "focused": True}]}]})
    choices = send(interactions, typing).get_json()
    assert choices["type"] == 8
    assert [c["value"] for c in choices["data"]["choices"]] == [iid]
    assert choices["data"]["choices"][0]["name"].startswith(f"{iid} · Critical · Payment gateway down")


def test_a_reply_about_an_incident_links_to_its_console_page(ingest, interactions, team, monkeypatch):
    from shared.config.settings import settings
    iid = _critical(ingest, monkeypatch, "7010", "Payment gateway down")
    monkeypatch.setenv("PUBLIC_URL", "https://incidents.petties.world")
    settings.cache_clear()
    page = f"https://incidents.petties.world/console/incidents/{iid}"
    shown = send(interactions, command("incident", "show", id=iid)).get_json()["data"]
    acked = send(interactions, command("incident", "ack", id=iid)).get_json()["data"]
    for reply in (shown, acked):
        [row] = reply["components"]
        assert [(b["style"], b["url"]) for b in row["components"]] == [(5, page)], reply   # a link button
    monkeypatch.delenv("PUBLIC_URL")
    settings.cache_clear()
    assert "components" not in send(interactions, command("incident", "show", id=iid)).get_json()["data"]


def test_an_override_from_discord(ingest, api, interactions, team, monkeypatch):
    at(monkeypatch, TUESDAY)
    payload = command("oncall", "override", user=IDS["dev-d"], **{"from": "2026-11-24T12:00:00",
                                                                "to": "2026-11-24T18:00:00"})
    payload["data"]["options"][0]["options"].insert(0, {"type": 6, "name": "member", "value": IDS["dev-b"]})
    answer = send(interactions, payload).get_json()
    assert answer["type"] == 4 and "Dev B is on call" in answer["data"]["content"], answer
    assert api.get("/oncall?at=2026-11-24T13:00:00%2B07:00").get_json()["primary"]["id"] == "dev-b"


# ---------------------------------------------------------------- the whole run in bot mode, at the fake Discord

@pytest.mark.parametrize("how", ["buttons", "commands"])
def test_a_critical_run_from_discord_with_every_step_in_the_alerts_thread(ingest, api, interactions, escalate, bot,
                                                                          team, monkeypatch, how):
    from tests.notify_fixtures import ALERTS, sweep
    iid = _critical(ingest, monkeypatch, "7100" if how == "buttons" else "7101")
    delivery.wait_idle()
    [alert] = bot.discord.messages_in(ALERTS)
    steps = [(10, "ack"), (12, "investigating"), (20, "fixing"), (35, "deploying"), (41, "resolve")]
    for minute, step in steps:
        at(monkeypatch, local(f"2026-11-24 10:{minute:02d}:00"))
        payload = click(step, iid) if how == "buttons" else command("incident", step, id=iid)
        answer = send(interactions, payload).get_json()
        assert answer["type"] == (7 if how == "buttons" else 4), answer
        delivery.wait_idle()
        if step == "ack":   # the lead is not paged at minute 15: someone has it
            sweep(escalate, local("2026-11-24 10:16:00"))
    replies = [m["content"] for m in bot.discord.messages_in(alert["id"])]   # the thread's id is the alert's
    expected = ["👀 @Dev D: Acknowledged, investigating (10:10)", "🔍 @Dev D: Investigating (10:12)",
                "🔧 @Dev D: Working on a fix (10:20)", "🔄 @Dev D: Deploying the fix (10:35)"]
    assert [r for r in replies if r in expected] == expected, replies
    # one ✅ message says it is resolved, and by whom (the resolve step adds only its reaction)
    [resolved] = [r for r in replies if "✅" in r]
    assert resolved.startswith("✅ RESOLVED - petties-backend") and resolved.endswith("👤 Resolved by @Dev D"), resolved
    assert bot.discord.reactions_on(alert["id"]) == ["👀", "🔍", "🔧", "🔄", "✅"]
    assert not [m for m in bot.discord.messages_in(ALERTS) if "SLA breach" in (m.get("content") or "")]
    got = incident_of(api, iid)
    assert (got["status"], got["owner"], got["time_to_acknowledge_seconds"], got["time_to_resolve_seconds"],
            got["escalation_level"]) == ("resolved", "dev-d", 600, 2460, 1)
    assert [e["action"] for e in got["timeline"]][-5:] == ["acknowledged", "investigating", "fixing", "deploying",
                                                         "resolved"]
    if how == "buttons":   # the alert itself shows it closed: every control disabled
        edited = next(m for m in bot.discord.messages_in(ALERTS) if m["id"] == alert["id"])
        assert all(c.get("disabled") for row in edited["components"] for c in row["components"])


def test_silence_a_deploy_from_discord_and_end_it(ingest, api, interactions, team, monkeypatch):
    at(monkeypatch, TUESDAY)
    made = send(interactions, command("silence", "add", service="petties-backend", duration="30m",
                                      comment="deploy v2.3")).get_json()["data"]
    assert "flags" not in made and made["content"].startswith("🔕 Silenced ")
    assert made["content"].endswith("service=petties-backend until 2026-11-24 10:30:00 +07:00")
    [silence] = api.get("/silences").get_json()["silences"]
    assert (silence["created_by"], silence["comment"], silence["state"]) == ("dev-d", "deploy v2.3", "active")
    refused = send(interactions, command("silence", "add", user=STRANGER, service="*", duration="1h",
                                         comment="x")).get_json()["data"]
    assert refused["flags"] == 64 and "Only people in the team file" in refused["content"]
    bad = send(interactions, command("silence", "add", service="petties-backend", duration="30 years",
                                     comment="x")).get_json()["data"]
    assert bad["flags"] == 64 and bad["content"].startswith("Nothing changed: ")
    ended = send(interactions, command("silence", "end", id=silence["id"])).get_json()["data"]
    assert ended["content"] == f"🔔 Silence {silence['id']} ended."
    assert api.get("/silences?state=expired").get_json()["silences"][0]["id"] == silence["id"]
