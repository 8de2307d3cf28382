"""The Discord fake enforces what Discord enforces, and injects the faults it claims to (the other vendors' fakes:
test_fakes_vendors.py); the fakes share one clock."""
from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from tests.fakes.clock import FakeClock
from tests.fakes.discord import FakeDiscord

ISSUES = "/repos/acme/incidents/issues"


@pytest.fixture
def discord():
    with FakeDiscord(rate_limit=100, rate_window=1.0) as fake:
        yield fake


def post(fake: FakeDiscord, body: dict, **params: str) -> httpx.Response:
    return httpx.post(fake.webhook_url(), json=body, params=params)


# -- Discord ------------------------------------------------------------------------------------------------------
def test_discord_content_over_2000_chars_is_invalid_form_body_and_not_recorded(discord):
    ok, bad = post(discord, {"content": "x" * 2000}), post(discord, {"content": "x" * 2001})
    assert (ok.status_code, ok.content) == (204, b"")
    assert bad.status_code == 400
    assert (bad.json()["code"], bad.json()["message"]) == (50035, "Invalid Form Body")
    assert bad.json()["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    assert [m["content"] for m in discord.messages] == ["x" * 2000]


def test_discord_embeds_over_6000_chars_in_total_are_rejected(discord):
    first = {"title": "t" * 256, "description": "d" * 3744, "fields": [{"name": "n" * 100, "value": "v" * 900}]}
    assert post(discord, {"embeds": [first, {"footer": {"text": "f" * 1000}}]}).status_code == 204  # exactly 6000
    over = post(discord, {"embeds": [first, {"footer": {"text": "f" * 1001}}]})
    assert over.status_code == 400 and over.json()["code"] == 50035
    assert over.json()["errors"]["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"
    assert len(discord.messages) == 1


@pytest.mark.parametrize("limit, build, path", [
    (256, lambda n: {"title": "x" * n}, ("0", "title")),
    (4096, lambda n: {"description": "x" * n}, ("0", "description")),
    (25, lambda n: {"fields": [{"name": "n", "value": "v"}] * n}, ("0", "fields")),
    (256, lambda n: {"fields": [{"name": "x" * n, "value": "v"}]}, ("0", "fields", "0", "name")),
    (1024, lambda n: {"fields": [{"name": "n", "value": "x" * n}]}, ("0", "fields", "0", "value")),
    (2048, lambda n: {"footer": {"text": "x" * n}}, ("0", "footer", "text")),
    (256, lambda n: {"author": {"name": "x" * n}}, ("0", "author", "name")),
])
def test_discord_enforces_each_embed_limit_inclusively(discord, limit, build, path):
    assert post(discord, {"embeds": [build(limit)]}).status_code == 204
    over = post(discord, {"embeds": [build(limit + 1)]})
    assert over.status_code == 400
    node = over.json()["errors"]["embeds"]
    for key in path:
        node = node[key]
    assert node["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    assert len(discord.messages) == 1


def test_discord_allows_ten_embeds_but_not_eleven(discord):
    assert post(discord, {"embeds": [{"title": "t"}] * 10}).status_code == 204
    over = post(discord, {"embeds": [{"title": "t"}] * 11})
    assert over.status_code == 400 and "embeds" in over.json()["errors"]


def test_discord_wait_returns_the_message_and_patch_edits_it(discord):
    created = post(discord, {"content": "firing", "embeds": [{"title": "CPU"}]}, wait="true")
    assert created.status_code == 200
    message = created.json()
    assert message["id"].isdigit() and message["webhook_id"] == "1" and message["content"] == "firing"
    assert message["embeds"] == [{"type": "rich", "title": "CPU"}] and message["edited_timestamp"] is None
    url = f"{discord.webhook_url()}/messages/{message['id']}"
    edited = httpx.patch(url, json={"content": "resolved"})
    assert edited.status_code == 200
    assert (edited.json()["id"], edited.json()["content"]) == (message["id"], "resolved")
    assert edited.json()["edited_timestamp"] is not None
    assert httpx.patch(url, json={"content": "x" * 2001}).status_code == 400
    assert httpx.get(url).json()["content"] == "resolved"
    [record] = discord.messages
    assert record["embeds"] == [{"title": "CPU"}]
    assert [e["changes"] for e in record["edits"]] == [{"content": "resolved"}]
    unknown = httpx.patch(f"{discord.webhook_url()}/messages/42", json={"content": "x"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, 10008)
    assert httpx.delete(url).status_code == 204
    assert httpx.get(url).status_code == 404 and discord.messages == []


def test_discord_rate_limit_answers_429_with_headers_then_recovers():
    clock = FakeClock()
    with FakeDiscord(rate_limit=5, rate_window=0.5, clock=clock) as fake:
        other = fake.add_webhook("2", "tok2")
        answers = [post(fake, {"content": f"m{i}"}) for i in range(6)]
        assert [a.status_code for a in answers] == [204] * 5 + [429]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["4", "3", "2", "1", "0", "0"]
        assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"5"}
        assert len({a.headers["X-RateLimit-Bucket"] for a in answers}) == 1
        limited = answers[-1]
        body = limited.json()
        assert (body["message"], body["global"]) == ("You are being rate limited.", False)
        assert 0 < body["retry_after"] <= 0.5
        assert float(limited.headers["X-RateLimit-Reset-After"]) == body["retry_after"]
        assert abs(float(limited.headers["X-RateLimit-Reset"]) - (clock.time() + body["retry_after"])) < 0.25
        assert int(limited.headers["Retry-After"]) >= body["retry_after"]
        assert limited.headers["X-RateLimit-Scope"] == "user" and "X-RateLimit-Global" not in limited.headers
        assert [m["content"] for m in fake.messages] == [f"m{i}" for i in range(5)]
        assert httpx.post(other, json={"content": "own bucket"}).status_code == 204
        clock.advance(float(limited.headers["X-RateLimit-Reset-After"]) / 2)
        assert post(fake, {"content": "before the reset"}).status_code == 429
        clock.advance(float(limited.headers["X-RateLimit-Reset-After"]) / 2)
        again = post(fake, {"content": "after reset"})
        assert again.status_code == 204 and again.headers["X-RateLimit-Remaining"] == "4"
        assert [m["content"] for m in fake.messages_for("1")][-1] == "after reset"


def test_discord_unknown_webhook_is_404_10015_and_a_wrong_token_401_50027(discord):
    unknown = httpx.post(discord.webhook_url("999", "tok"), json={"content": "x"})
    assert (unknown.status_code, unknown.json()) == (404, {"message": "Unknown Webhook", "code": 10015})
    wrong = httpx.post(discord.webhook_url("1", "not-the-token"), json={"content": "x"})
    assert (wrong.status_code, wrong.json()["code"]) == (401, 50027)
    assert discord.messages == []


@pytest.mark.parametrize("mentions, status", [
    ({"parse": ["users"], "users": ["123"]}, 400),
    ({"parse": ["roles"], "roles": ["456"]}, 400),
    ({"parse": ["here"]}, 400),
    ({"users": [str(i) for i in range(101)]}, 400),
    (["users"], 400),
    ({"parse": ["users"], "users": []}, 204),
    ({"parse": [], "users": ["123"]}, 204),
])
def test_discord_validates_allowed_mentions(discord, mentions, status):
    answer = post(discord, {"content": "<@123> look", "allowed_mentions": mentions})
    assert answer.status_code == status
    if status == 400:
        assert "allowed_mentions" in answer.json()["errors"] and discord.messages == []
    else:
        assert discord.messages[0]["allowed_mentions"] == mentions


def test_discord_parse_users_with_a_users_list_is_the_exclusive_error(discord):
    answer = post(discord, {"content": "x", "allowed_mentions": {"parse": ["users"], "users": ["1"]}})
    [error] = answer.json()["errors"]["allowed_mentions"]["_errors"]
    assert error["code"] == "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"
    assert error["message"] == 'parse:["users"] and users: [ids...] are mutually exclusive.'


def test_discord_invalid_json_is_50109_and_an_empty_message_50006(discord):
    bad = httpx.post(discord.webhook_url(), content=b"{nope", headers={"Content-Type": "application/json"})
    assert (bad.status_code, bad.json()["code"]) == (400, 50109)
    for body in ({"content": "   "}, {"embeds": []}, {"username": "bot"}):
        empty = post(discord, body)
        assert (empty.status_code, empty.json()["code"]) == (400, 50006)
    assert discord.messages == []


def test_discord_keeps_components_only_with_with_components(discord):
    row = [{"type": 1, "components": [{"type": 2, "style": 5, "label": "Open", "url": "https://example.org"}]}]
    assert post(discord, {"content": "a", "components": row}, wait="true").json()["components"] == []
    assert post(discord, {"content": "b", "components": row}, wait="true", with_components="true").json()[
        "components"] == row
    no_id = [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Ack"}]}]
    refused = post(discord, {"content": "c", "components": no_id}, with_components="true")
    assert refused.status_code == 400
    assert "custom_id" in refused.json()["errors"]["components"]["0"]["components"]["0"]


LINK = {"type": 2, "style": 5, "label": "Runbook", "url": "https://example.org/runbook"}
ACK = {"type": 2, "style": 1, "label": "Acknowledge", "custom_id": "ack:INC-1"}
SEVERITY = {"type": 3, "custom_id": "severity:INC-1", "options": [{"label": "High", "value": "high"}]}
INTERACTIVE = [{"type": 1, "components": [ACK]}, {"type": 1, "components": [SEVERITY]}]


def test_discord_plain_webhook_drops_interactive_components_silently(discord):
    # INTEGRATIONS.md A7: "Non-application-owned webhooks cannot send interactive components"
    # (https://discord.com/developers/docs/resources/webhook#execute-webhook)
    assert httpx.get(discord.webhook_url()).json()["application_id"] is None
    for params in ({}, {"with_components": "true"}):
        sent = post(discord, {"content": "buttons?", "components": INTERACTIVE}, wait="true", **params)
        assert sent.status_code == 200 and sent.json()["components"] == []
        assert httpx.get(f"{discord.webhook_url()}/messages/{sent.json()['id']}").json()["components"] == []
    mixed = [{"type": 1, "components": [ACK, LINK]}, {"type": 1, "components": [SEVERITY]}]
    kept = post(discord, {"content": "mixed", "components": mixed}, wait="true", with_components="true").json()
    assert kept["components"] == [{"type": 1, "components": [LINK]}]  # only the non-interactive link button
    edited = httpx.patch(f"{discord.webhook_url()}/messages/{kept['id']}", params={"with_components": "true"},
                         json={"components": INTERACTIVE})
    assert edited.status_code == 200 and edited.json()["components"] == []
    assert [m["components"] for m in discord.messages] == [[], [], []]


def test_discord_application_owned_webhook_keeps_interactive_components(discord):
    url = discord.add_webhook("3", "app-token", application_id="900000000000000001")
    assert httpx.get(url).json()["application_id"] == "900000000000000001"
    sent = httpx.post(url, params={"wait": "true"}, json={"content": "act", "components": INTERACTIVE})
    assert sent.status_code == 200 and sent.json()["components"] == INTERACTIVE
    assert httpx.get(f"{url}/messages/{sent.json()['id']}").json()["components"] == INTERACTIVE
    link_row = [{"type": 1, "components": [LINK]}]
    edited = httpx.patch(f"{url}/messages/{sent.json()['id']}", json={"components": link_row})
    assert edited.json()["components"] == link_row
    no_id = [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Ack"}]}]
    refused = httpx.post(url, json={"content": "c", "components": no_id})  # validated without ?with_components
    assert refused.status_code == 400
    assert "custom_id" in refused.json()["errors"]["components"]["0"]["components"]["0"]
    assert [m["components"] for m in discord.messages_for("3")] == [[{"type": 1, "components": [LINK]}]]


def test_discord_fail_next_answers_503_unrecorded_then_delivers(discord):
    discord.fail_next(1, 503)
    failed, delivered = post(discord, {"content": "once"}), post(discord, {"content": "once"})
    assert failed.status_code == 503 and "message" in failed.json()
    assert delivered.status_code == 204
    assert [m["content"] for m in discord.messages] == ["once"]
    assert discord.statuses() == [503, 204]


def test_discord_hang_answers_late_but_the_message_is_posted():
    with FakeDiscord(hang_seconds=0.5) as fake:
        fake.hang_next(1)
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(fake.webhook_url(), json={"content": "slow"}, timeout=0.1)
        assert [m["content"] for m in fake.messages] == ["slow"]
        assert post(fake, {"content": "slow"}).status_code == 204
        assert len(fake.messages) == 2  # the duplicate a blind retry after a timeout causes


@pytest.mark.slow
def test_random_faults_are_seeded_and_only_successes_are_recorded():
    def run(seed: int) -> tuple[list[int], list, list[str]]:
        with FakeDiscord(fail_ratio=0.5, seed=seed, hang_seconds=0.05, rate_limit=1000) as fake:
            statuses = [post(fake, {"content": str(i)}).status_code for i in range(30)]
            return statuses, [r["fault"] for r in fake.requests], [m["content"] for m in fake.messages]

    statuses, faults, contents = run(3)
    assert run(3) == (statuses, faults, contents) and run(4)[0] != statuses
    assert set(statuses) == {204, 429, 500, 502, 503} and "hang" in faults
    assert contents == [str(i) for i, status in enumerate(statuses) if status == 204]


@pytest.mark.fakes(clock="fake", rate_limit=1, rate_window=60.0)
def test_the_channels_fixture_hands_one_fake_clock_to_every_fake(channels):
    assert isinstance(channels.clock, FakeClock)
    assert channels.discord.clock is channels.github.clock is channels.smtp.clock is channels.clock
    url = channels.discord.webhook_url("100")
    first = httpx.post(url, params={"wait": "true"}, json={"content": "one"})
    assert datetime.fromisoformat(first.json()["timestamp"]).timestamp() == channels.clock.time()
    assert httpx.post(url, json={"content": "two"}).status_code == 429
    channels.clock.advance(60)
    assert httpx.post(url, json={"content": "two"}).status_code == 204
