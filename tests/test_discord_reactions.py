"""Reactions are actions (bot mode): the team's habit "React 👀 on the alert", read by the minute's sweep through the
fake Discord (the message's `reactions`, then GET .../reactions/{emoji}) and taken as the step it means, as the first
team member (by discord_id) who reacted; strangers, the bot itself and steps already taken change nothing."""
from __future__ import annotations

import json

import httpx
import pytest

from shared.notify import delivery
from shared.store import incidents
from tests.fakes.discord import FakeDiscord
from tests.notify_fixtures import ALERTS, local, scheduled, sentry_alert, sweep
from tests.teams import variant

SATURDAY_0200 = local("2026-11-28 02:00:00")   # Dev D on call, Dev A leads: the lead is paged at 02:15
DEV_B, DEV_C, STRANGER = "310000000000000002", "310000000000000003", "390000000000000009"
BOT = FakeDiscord.BOT_USER_ID
TEAM = variant({"people.dev-b.discord_id": DEV_B, "people.dev-c.discord_id": DEV_C})


@pytest.fixture
def team(monkeypatch):
    cfg = variant({"stakeholders": ["devops"], "people.devops.email": "ops@petties.world",
                   "people.dev-b.discord_id": DEV_B, "people.dev-c.discord_id": DEV_C})
    for where in ("shared.incidents.webhook.config", "shared.sweep.config", "shared.web.api.config"):
        monkeypatch.setattr(where, lambda: cfg)
    return cfg


def open_critical(ingest, monkeypatch, bot, issue: str = "9001") -> tuple[str, dict]:
    opened = sentry_alert(ingest, monkeypatch, SATURDAY_0200, issue, "Payment gateway down", level="fatal")
    delivery.wait_idle()
    [alert] = bot.discord.messages_in(ALERTS)
    return opened["incident"], alert


def minute(m: int):
    return local(f"2026-11-28 02:{m:02d}:00")


def thread(bot, alert: dict) -> list[str]:
    return [m["content"] for m in bot.discord.messages_in(alert["id"])]


def reaction_lists(bot) -> list[str]:
    """The GET .../reactions/{emoji} calls made (not the bot's own PUT .../@me)."""
    return [r["path"] for r in bot.discord.requests if r["method"] == "GET" and "/reactions/" in r["path"]]


def pages(bot) -> list[str]:
    everything = [m["content"] for m in bot.discord.messages]
    return [c for c in everything if "SLA breach" in c or "Escalated" in c] + \
        [m.message["Subject"] for m in bot.smtp.messages if "[ESCALATION" in m.message["Subject"]]


def test_a_team_members_eyes_acknowledge_as_that_person_and_the_lead_is_not_paged(ingest, escalate, bot, team,
                                                                                  monkeypatch):
    iid, alert = open_critical(ingest, monkeypatch, bot)
    sweep(escalate, minute(4))
    bot.discord.react_as(DEV_B, alert["id"], "👀", "devb")

    assert sweep(escalate, minute(5))["reactions_applied"] == 1
    incident = incidents.get_incident(iid)
    assert (incident.status, incident.owner) == ("acknowledged", "dev-b")
    assert thread(bot, alert) == ["👀 @Dev B: Acknowledged, investigating (reacted) (02:05)"]
    assert incident.timeline[-1]["actor"] == "dev-b" and incident.timeline[-1]["detail"] == "(reacted)"
    for m in range(6, 21):
        sweep(escalate, minute(m))
    assert pages(bot) == []   # no ⏰ SLA breach at 02:15, no email to the lead
    assert len(bot.smtp.messages) == 1


def test_an_eyes_read_in_the_same_minute_as_the_page_stops_it(ingest, escalate, bot, team, monkeypatch):
    _, alert = open_critical(ingest, monkeypatch, bot)
    bot.discord.react_as(DEV_B, alert["id"], "👀")
    result = sweep(escalate, minute(15))   # the reactions are read before the escalation step is decided
    assert result["reactions_applied"] == 1 and result["escalated"] == 0
    assert pages(bot) == []


def test_a_strangers_eyes_change_nothing_a_team_members_then_do(ingest, escalate, bot, team, monkeypatch):
    iid, alert = open_critical(ingest, monkeypatch, bot)
    bot.discord.react_as(STRANGER, alert["id"], "👀", "passer-by")
    sweep(escalate, minute(5))
    assert incidents.get_incident(iid).status == "open" and thread(bot, alert) == []

    bot.discord.react_as(DEV_C, alert["id"], "👀")   # the first team member among those who reacted
    sweep(escalate, minute(6))
    incident = incidents.get_incident(iid)
    assert (incident.status, incident.owner) == ("acknowledged", "dev-c")
    assert thread(bot, alert) == ["👀 @Dev C: Acknowledged, investigating (reacted) (02:06)"]


def test_the_bots_own_reactions_change_nothing(ingest, escalate, api, bot, team, monkeypatch):
    iid, alert = open_critical(ingest, monkeypatch, bot)
    monkeypatch.setattr("shared.web.http.now", lambda: minute(3))
    assert api.post(f"/incidents/{iid}/ack", data=json.dumps({"actor": "dev-d"})).status_code == 200
    delivery.wait_idle()
    assert bot.discord.reactions_on(alert["id"]) == ["👀"]      # the button's (here the API's) own reaction
    bot.discord.react_as(BOT, alert["id"], "✅", bot=True)       # and one the bot never means as a step
    sweep(escalate, minute(4))
    incident = incidents.get_incident(iid)
    assert (incident.status, incident.owner, incident.steps) == ("acknowledged", "dev-d", 1)
    assert thread(bot, alert) == ["👀 @Dev D: Acknowledged, investigating (02:03)"]

    bot.discord.react_as(DEV_B, alert["id"], "🔍")   # a person's reaction is still read
    sweep(escalate, minute(5))
    assert incidents.get_incident(iid).phase == "investigating"
    assert thread(bot, alert)[-1] == "🔍 @Dev B: Investigating (reacted) (02:05)"


def test_a_tick_resolves_as_that_person(ingest, escalate, bot, team, monkeypatch):
    iid, alert = open_critical(ingest, monkeypatch, bot)
    bot.discord.react_as(DEV_B, alert["id"], "✅")
    sweep(escalate, minute(5))
    incident = incidents.get_incident(iid)
    assert incident.status == "resolved" and not incident.invalid
    assert [(e["actor"], e["action"], e["detail"]) for e in incident.timeline if e["actor"] == "dev-b"] == [
        ("dev-b", "resolved", "(reacted)")]
    assert any(c.startswith("✅ RESOLVED") for c in thread(bot, alert))
    for m in range(6, 16):
        sweep(escalate, minute(m))
    assert pages(bot) == []


def test_a_cross_closes_it_as_invalid(ingest, escalate, bot, team, monkeypatch):
    iid, alert = open_critical(ingest, monkeypatch, bot)
    bot.discord.react_as(DEV_C, alert["id"], "❌")
    sweep(escalate, minute(5))
    incident = incidents.get_incident(iid)
    assert incident.status == "resolved" and incident.invalid
    assert incident.timeline[-1]["action"] == "invalid" and incident.timeline[-1]["actor"] == "dev-c"


def test_a_second_sweep_does_not_apply_a_reaction_again(ingest, escalate, bot, team, monkeypatch):
    iid, alert = open_critical(ingest, monkeypatch, bot)
    bot.discord.react_as(DEV_B, alert["id"], "🔍")
    bot.discord.react_as(DEV_B, alert["id"], "🔧")
    sweep(escalate, minute(5))
    assert scheduled(escalate, minute(5)).get_json()["status"] == "duplicate"   # Cloud Scheduler's redelivery
    listed = len(reaction_lists(bot))
    assert listed == 2
    for m in range(6, 9):
        sweep(escalate, minute(m))
    incident = incidents.get_incident(iid)
    assert (incident.owner, incident.phase, incident.steps) == ("dev-b", "fixing", 2)
    assert thread(bot, alert) == ["🔍 @Dev B: Investigating (reacted) (02:05)",
                                  "🔧 @Dev B: Working on a fix (reacted) (02:05)"]
    assert len(reaction_lists(bot)) == listed   # nobody new: nobody listed again (the bot's own 🔍 🔧 are not people)


def test_a_429_on_the_reactions_call_leaves_it_for_the_next_sweep(ingest, escalate, bot, team, monkeypatch):
    iid, alert = open_critical(ingest, monkeypatch, bot)
    bot.discord.react_as(DEV_B, alert["id"], "👀")
    bot.discord.fail_on("/reactions/", 1, status=429, retry_after=30)
    result = sweep(escalate, minute(5))
    assert result.get("reactions_cut_short") == 1 and "reactions_applied" not in result
    assert incidents.get_incident(iid).status == "open"

    sweep(escalate, minute(6))
    incident = incidents.get_incident(iid)
    assert (incident.status, incident.owner) == ("acknowledged", "dev-b")
    assert thread(bot, alert) == ["👀 @Dev B: Acknowledged, investigating (reacted) (02:06)"]


def test_the_fake_serves_reactions_as_discord_documents_them(bot):
    """https://discord.com/developers/docs/resources/message#get-reactions and #reaction-object."""
    fake = bot.discord
    headers = {"Authorization": f"Bot {fake.bot_token}"}
    posted = httpx.post(f"{fake.base_url}/api/v10/channels/{ALERTS}/messages", headers=headers,
                                      json={"content": "alert"}).json()
    users = [str(310000000000000100 + n) for n in range(30)]
    for user in reversed(users):
        fake.react_as(user, posted["id"], "👀")
    fake.react_as(BOT, posted["id"], "👀", bot=True)
    base = f"{fake.base_url}/api/v10/channels/{ALERTS}/messages/{posted['id']}"
    got = httpx.get(base, headers=headers).json()
    assert got["reactions"] == [{"count": 31, "count_details": {"burst": 0, "normal": 31}, "me": True,
                                 "me_burst": False, "burst_colors": [], "emoji": {"id": None, "name": "👀"}}]
    listing = f"{base}/reactions/%F0%9F%91%80"
    first = httpx.get(listing, headers=headers).json()
    assert [u["id"] for u in first] == users[:25]   # sorted by id, 25 by default
    rest = httpx.get(listing, headers=headers, params={"after": users[24], "limit": 100}).json()
    assert [u["id"] for u in rest] == users[25:] + [BOT]
    assert rest[-1]["bot"] is True and "bot" not in rest[0]
    assert httpx.get(listing, headers=headers, params={"limit": 101}).status_code == 400
    fake.unreact_as(users[0], posted["id"], "👀")
    assert httpx.get(base, headers=headers).json()["reactions"][0]["count"] == 30


def test_what_the_stage_costs(ingest, escalate, channels, team, monkeypatch):
    """No bot mode: nothing at all. Bot mode: one Discord read of the channel a minute and no Firestore read, however
    many incidents are open; a stranger's reaction is listed once; a team member's costs only the step's own."""
    from shared.config.settings import settings
    from shared.incidents import reactions
    from tests.fakes.firestore_tap import tapped

    with tapped() as tap:
        assert reactions.sweep(team, settings(), minute(1)) == ({}, [])
        assert tap.totals() == (0, 0, 0)   # webhook mode: the stage does not even look
    fake = channels.discord   # bot mode from now on (as the `bot` fixture)
    fake.bot_token = "bot-token-SECRET"
    fake.add_channel(ALERTS, "petties-alerts")
    for key, value in {"DISCORD_BOT_TOKEN": fake.bot_token, "DISCORD_ALERTS_CHANNEL_ID": ALERTS,
                       "DISCORD_API_URL": f"{fake.base_url}/api/v10"}.items():
        monkeypatch.setenv(key, value)
    settings.cache_clear()
    for n in range(3):
        sentry_alert(ingest, monkeypatch, SATURDAY_0200, f"95{n}", f"Gateway {n} down", level="fatal")
    delivery.wait_idle()
    alerts = fake.messages_in(ALERTS)
    assert len(alerts) == 3
    calls = len(fake.requests)
    with tapped() as tap:
        assert reactions.sweep(team, settings(), minute(2)) == ({}, [])
        assert tap.totals() == (0, 0, 0)
    assert [r["path"] for r in fake.requests[calls:]] == [f"/api/v10/channels/{ALERTS}/messages"]
    fake.react_as(STRANGER, alerts[0]["id"], "👀")
    for m in (3, 4):
        with tapped() as tap:
            assert reactions.sweep(team, settings(), minute(m)) == ({}, [])
            assert tap.totals() == (0, 0, 0)   # a stranger takes no step, and nothing is kept in Firestore
    assert len(reaction_lists(fake_bot(fake))) == 1   # listed once, not each minute
    fake.react_as(DEV_B, alerts[1]["id"], "👀")
    with tapped() as tap:
        applied, _ = reactions.sweep(team, settings(), minute(5))
        assert applied == {"reactions_applied": 1} and tap.totals()[0] > 0   # the acknowledgement's own reads
    settings.cache_clear()


def fake_bot(fake):
    """Something with a .discord, as reaction_lists takes."""
    return type("Bot", (), {"discord": fake})()


def test_a_tick_on_an_acknowledged_incident_resolves_it_at_the_next_sweep(ingest, escalate, api, bot, team,
                                                                        monkeypatch):
    iid, alert = open_critical(ingest, monkeypatch, bot)
    monkeypatch.setattr("shared.web.http.now", lambda: minute(1))
    assert api.post(f"/incidents/{iid}/ack", json={"actor": "dev-b"}).status_code == 200
    delivery.wait_idle()
    bot.discord.react_as(DEV_B, alert["id"], "👀")   # out of habit, after the button: already taken, nothing more
    bot.discord.react_as(DEV_B, alert["id"], "✅")
    sweep(escalate, minute(6))
    incident = incidents.get_incident(iid)
    assert (incident.status, incident.steps) == ("resolved", 2)


def test_a_closed_incidents_alert_is_not_read_for_reactions(ingest, escalate, api, bot, team, monkeypatch):
    iid, alert = open_critical(ingest, monkeypatch, bot)
    monkeypatch.setattr("shared.web.http.now", lambda: minute(1))
    assert api.post(f"/incidents/{iid}/resolve", json={"actor": "dev-b"}).status_code == 200
    delivery.wait_idle()
    bot.discord.react_as(DEV_C, alert["id"], "🔧")   # its buttons are disabled: nothing to take
    sweep(escalate, minute(6))
    assert reaction_lists(bot) == [] and incidents.get_incident(iid).phase == ""


# -- the pure rules (shared/rules/reactions.py) ----------------------------------------------------------------------
def test_pending_emoji_are_the_workflows_that_the_bot_has_not_marked():
    from shared.rules import reactions as rules
    message = [{"count": 2, "me": True, "emoji": {"id": None, "name": "👀"}},
               {"count": 1, "me": False, "emoji": {"id": None, "name": "✅\ufe0f"}},
               {"count": 3, "me": False, "emoji": {"id": None, "name": "🔧"}},
               {"count": 4, "me": False, "emoji": {"id": "123", "name": "eyes"}},
               {"count": 3, "me": False, "emoji": {"id": None, "name": "🎉"}}, "junk", {"count": "x", "emoji": {}}]
    assert rules.pending(message) == [("🔧", 3), ("✅", 1)]   # the workflow's order
    assert rules.pending(None) == [] and rules.step_of("✅\ufe0f") == "resolve" and rules.step_of("🎉") is None


def test_an_alert_is_a_message_with_the_incidents_buttons_still_live():
    from shared.rules import reactions as rules

    def message(*disabled: bool) -> dict:
        return {"components": [{"type": 1, "components": [
            {"type": 2, "custom_id": f"incident:{step}:INC-7K3QXD", "disabled": d}
            for step, d in zip(("ack", "resolve"), disabled, strict=False)]}]}
    assert rules.alert_incident(message(False, True)) == "INC-7K3QXD"
    assert rules.alert_incident(message(True, True)) is None            # closed: every button disabled
    assert rules.alert_incident({"content": "📊 PETTIES DAILY REPORT"}) is None
    assert rules.alert_incident({"components": [{"components": [{"custom_id": "other:thing"}]}]}) is None
    assert rules.alert_incident("junk") is None


def test_the_first_team_member_is_the_one():
    from shared.rules import reactions as rules
    assert rules.first_member([STRANGER, DEV_C, DEV_B], TEAM) == "dev-c"
    assert rules.first_member([STRANGER, BOT], TEAM) is None
