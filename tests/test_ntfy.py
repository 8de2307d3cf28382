"""Push pages through ntfy, end to end: ingest and the sweep against a fake ntfy server at the HTTP boundary.

Dev D is on call the week of 2026-11-23 and Dev A leads (the level-2 backup); each has an ntfy topic in these
team files, and the Critical and High production routes page the on-call's topic."""
from __future__ import annotations

import json

import pytest

from shared.channels import ntfy
from shared.config import ConfigError
from shared.config.settings import settings
from shared.notify import delivery
from shared.store import outbox
from tests.conftest import dump_firestore
from tests.fakes.ntfy import FakeNtfy
from tests.notify_fixtures import local, sentry_alert, sweep
from tests.teams import variant

PUBLIC = "https://asia-southeast1-petties-incidents.cloudfunctions.net"
TOKEN = "tk_ntfy-token-SECRET"
DEV_D, DEV_A = "petties-dev-d-9x2k", "petties-dev-a-4m7q"
SATURDAY_0200 = local("2026-11-28 02:00:00")


def _with_ntfy(data: dict) -> None:
    for route in data["notifications"]["routes"][:2]:   # production Critical, production High
        route["channels"].append({"channel": "ntfy", "to": ["on-call"]})


def petties_with_ntfy(topics: dict[str, str] | None = None):
    topics = {"dev-d": DEV_D, "dev-a": DEV_A} if topics is None else topics
    return variant({f"people.{pid}.ntfy_topic": topic for pid, topic in topics.items()}, edit=_with_ntfy)


@pytest.fixture
def phones(channels, monkeypatch, use_team):
    """The `channels` fakes plus a fake ntfy server that wants a token; PUBLIC_URL set; the team pages by ntfy."""
    with FakeNtfy(token=TOKEN, clock=channels.clock) as fake:
        monkeypatch.setenv("NTFY_URL", fake.base_url)
        monkeypatch.setenv("NTFY_TOKEN", TOKEN)
        monkeypatch.setenv("PUBLIC_URL", PUBLIC)
        settings.cache_clear()
        use_team(petties_with_ntfy())
        yield fake
        delivery.wait_idle()


def test_a_critical_at_night_pages_the_on_calls_topic_once_at_priority_5(ingest, phones, monkeypatch, firestore,
                                                                        capsys):
    opened = sentry_alert(ingest, monkeypatch, SATURDAY_0200, "8001", "Payment gateway returned 503",
                          level="fatal", users=40)
    delivery.wait_idle()
    [page] = phones.messages
    link = f"{PUBLIC}/console/incidents/{opened['incident']}"
    assert (page["topic"], page["priority"]) == (DEV_D, 5)
    assert page["title"] == "CRITICAL petties-backend: Payment gateway returned 503"
    assert page["click"] == link
    assert page["actions"] == [{"action": "view", "label": "Acknowledge", "url": link, "clear": True}]
    assert "rotating_light" in page["tags"] and page["authorized"]
    assert "@Dev D" in page["message"] and opened["incident"] in page["message"]
    assert len(phones.requests) == 1 and phones.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    # resolved: the same topic hears it, silently (priority 2: no sound, no vibration)
    sentry_alert(ingest, monkeypatch, local("2026-11-28 02:10:00"), "8001", "x", level="fatal", action="resolved")
    delivery.wait_idle()
    assert [(p["topic"], p["priority"], p["title"].split()[0]) for p in phones.messages] == [
        (DEV_D, 5, "CRITICAL"), (DEV_D, 2, "RESOLVED")]
    assert TOKEN not in capsys.readouterr().out + json.dumps(dump_firestore(firestore), default=str)


def test_a_high_at_3am_pages_nobody_until_business_hours(ingest, escalate, phones, monkeypatch):
    sentry_alert(ingest, monkeypatch, local("2026-11-24 03:00:00"), "8002", "Booking confirmation fails", level="error")
    delivery.wait_idle()
    sweep(escalate, local("2026-11-24 03:01:00"))
    assert phones.messages == [] and phones.requests == []
    sweep(escalate, local("2026-11-24 09:00:00"))   # the route's after_hours: hold, released at 09:00
    assert [(p["topic"], p["priority"]) for p in phones.messages] == [(DEV_D, 4)]


def test_escalation_pages_the_next_levels_topic(ingest, escalate, phones, monkeypatch):
    opened = sentry_alert(ingest, monkeypatch, SATURDAY_0200, "8003", "Database unavailable", level="fatal")
    delivery.wait_idle()
    assert sweep(escalate, local("2026-11-28 02:15:00"))["escalated"] == 1
    assert [(p["topic"], p["priority"]) for p in phones.messages] == [(DEV_D, 5), (DEV_A, 5)]
    page = phones.messages[1]
    assert page["title"] == "ESCALATION L2 petties-backend: Database unavailable"
    assert page["click"] == f"{PUBLIC}/console/incidents/{opened['incident']}"
    assert "Escalated to level 2: @Dev A" in page["message"]


def test_a_500_then_success_pages_exactly_once(ingest, escalate, phones, monkeypatch):
    phones.fail_next(1, status=500)
    opened = sentry_alert(ingest, monkeypatch, SATURDAY_0200, "8004", "Data loss in bookings", level="fatal")
    delivery.wait_idle()
    assert phones.messages == []
    record = outbox.get(outbox.record_id(opened["incident"], "opened", "ntfy"))
    assert record["status"] == "pending" and record["last_error"].startswith("HTTP 500")
    sweep(escalate, local("2026-11-28 02:01:00"))
    sweep(escalate, local("2026-11-28 02:02:00"))
    assert phones.statuses() == [500, 200] and [p["topic"] for p in phones.messages] == [DEV_D]


def test_a_429_is_retried_too(ingest, escalate, phones, monkeypatch):
    phones.fail_next(1, status=429)
    sentry_alert(ingest, monkeypatch, SATURDAY_0200, "8005", "Login fails", level="fatal")
    delivery.wait_idle()
    sweep(escalate, local("2026-11-28 02:01:00"))
    assert phones.statuses() == [429, 200] and len(phones.messages) == 1


def test_an_on_call_without_a_topic_is_not_paged(ingest, phones, monkeypatch, use_team):
    use_team(petties_with_ntfy({"dev-a": DEV_A}))   # Dev D, on call, has no topic
    opened = sentry_alert(ingest, monkeypatch, SATURDAY_0200, "8006", "Database unavailable", level="fatal")
    delivery.wait_idle()
    assert phones.requests == []
    assert outbox.get(outbox.record_id(opened["incident"], "opened", "ntfy")) is None
    assert len(outbox.list_previews(10)) == 0


def test_a_long_title_with_line_breaks_is_one_short_line_and_the_body_fits(ingest, phones, monkeypatch):
    title = "Boom\r\nX-Injected: yes\x07 " + "é" * 3000
    sentry_alert(ingest, monkeypatch, SATURDAY_0200, "8007", title, level="fatal")
    delivery.wait_idle()
    [page] = phones.messages   # the fake refuses (413) a JSON body past ntfy's 4,096 bytes
    assert "\n" not in page["title"] and "\r" not in page["title"] and "\x07" not in page["title"]
    assert page["title"].startswith("CRITICAL petties-backend: Boom X-Injected: yes")
    assert len(page["title"]) <= ntfy.TITLE_MAX
    assert len(phones.requests[0]["body"]) <= ntfy.BODY_BYTES_MAX


def test_without_ntfy_url_the_page_shows_on_the_preview_page(ingest, phones, monkeypatch):
    monkeypatch.setenv("NTFY_URL", "")
    settings.cache_clear()
    sentry_alert(ingest, monkeypatch, SATURDAY_0200, "8008", "Database unavailable", level="fatal")
    delivery.wait_idle()
    assert phones.requests == []
    [shown] = [p for p in outbox.list_previews(20) if p["channel"] == "ntfy"]
    assert shown["text"].startswith(f"To topics: {DEV_D} · priority 5\nTitle: CRITICAL petties-backend")
    assert "[Acknowledge] → " + PUBLIC in shown["text"]


def test_ntfy_routes_name_people_not_email_addresses():
    def route(data):
        data["notifications"]["routes"][0]["channels"].append({"channel": "ntfy", "to": ["ops@petties.world"]})
    with pytest.raises(ConfigError, match="ntfy reaches people by their ntfy_topic"):
        variant(edit=route)
    with pytest.raises(ConfigError, match="ntfy needs `to`"):
        variant(edit=lambda d: d["notifications"]["routes"][0]["channels"].append({"channel": "ntfy"}))


def test_doctor_says_whose_phones_ntfy_reaches_and_posts_nothing(clock):
    from shared.config.settings import Settings
    from shared.local import doctor
    with FakeNtfy(clock=clock) as fake:
        cfg = petties_with_ntfy({"dev-a": DEV_A})
        line = doctor.check_ntfy(Settings.from_env({"NTFY_URL": fake.base_url}), cfg, 2.0)
        assert (line.status, line.what) == (doctor.OK, "ntfy")
        assert "is healthy; pages reach Dev A; no topic: Dev B, Dev C, Dev D, DevOps" in line.detail
        assert fake.messages == [] and [r["path"] for r in fake.requests] == ["/v1/health"]
        fake.fail_next(1, status=503)
        assert doctor.check_ntfy(Settings.from_env({"NTFY_URL": fake.base_url}), cfg, 2.0).status == doctor.FAIL
    assert doctor.check_ntfy(Settings.from_env({"NTFY_URL": ""}), cfg, 2.0).status == doctor.OFF
    unrouted = doctor.check_ntfy(Settings.from_env({}), variant(), 2.0)   # Petties routes no ntfy: no call at all
    assert unrouted.status == doctor.OK and unrouted.detail.startswith("not used")


def test_doctor_send_test_pushes_one_quiet_marked_message_to_the_leads_topic(clock):
    from shared.config.settings import Settings
    from shared.local import doctor
    with FakeNtfy(clock=clock) as fake:
        cfg = petties_with_ntfy({"dev-a": DEV_A, "dev-b": "petties-devb-x1"})   # Dev A leads the Petties team
        line = doctor.send_test(Settings.from_env({"NTFY_URL": fake.base_url}), "ntfy", "", 2.0, cfg)
        assert (line.status, line.detail) == (doctor.OK, "sent to Dev A's topic")
        [pushed] = fake.messages
        assert (pushed["topic"], pushed["title"], pushed["priority"]) == (DEV_A, doctor.TEST_TEXT, 3)
        nobody = doctor.send_test(Settings.from_env({"NTFY_URL": fake.base_url}), "ntfy", "", 2.0, variant())
        assert nobody.status == doctor.WARN and len(fake.messages) == 1
