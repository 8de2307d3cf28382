"""The vendor fakes enforce what the real services enforce, and inject the faults they claim to."""
from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage

import httpx
import pytest

from tests.fakes.clock import FakeClock
from tests.fakes.discord import FakeDiscord
from tests.fakes.github import FakeGitHub
from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.smtp import SmtpServer

ISSUES = "/repos/acme/incidents/issues"


@pytest.fixture
def discord():
    with FakeDiscord(rate_limit=100, rate_window=1.0) as fake:
        yield fake


@pytest.fixture
def github():
    with FakeGitHub(tokens=("gh-token",), repos=("acme/incidents",)) as fake:
        yield fake


@pytest.fixture
def sendgrid():
    with FakeSendGrid(api_key="SG.key") as fake:
        yield fake


@pytest.fixture
def smtp_server():
    with SmtpServer(user="mailer", password="s3cret") as server:
        yield server


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


# -- GitHub -------------------------------------------------------------------------------------------------------
def gh(fake: FakeGitHub, auth: str = "Bearer gh-token") -> httpx.Client:
    return httpx.Client(base_url=fake.base_url, headers={"Authorization": auth, "X-GitHub-Api-Version": "2022-11-28",
                                                         "Accept": "application/vnd.github+json"})


def test_github_refuses_bad_credentials_and_a_missing_user_agent(github):
    bad = gh(github, "Bearer nope").post(ISSUES, json={"title": "x"})
    assert (bad.status_code, bad.json()["message"]) == (401, "Bad credentials")
    assert httpx.post(github.base_url + ISSUES, json={"title": "x"}).status_code == 401
    no_agent = gh(github)
    del no_agent.headers["User-Agent"]
    assert no_agent.post(ISSUES, json={"title": "x"}).status_code == 403
    assert github.issues == {}
    assert gh(github, "token gh-token").post(ISSUES, json={"title": "x"}).status_code == 201


def test_github_422_when_the_title_is_missing(github):
    answer = gh(github).post(ISSUES, json={"body": "no title"})
    assert answer.status_code == 422 and answer.json()["message"] == "Validation Failed"
    assert answer.json()["errors"] == [{"resource": "Issue", "code": "missing_field", "field": "title"}]
    assert answer.json()["documentation_url"].startswith("https://docs.github.com/")
    assert github.issues == {}


def test_github_create_list_by_labels_comment_and_close(github):
    client = gh(github)
    created = client.post(ISSUES, json={"title": "DB down", "body": "details", "labels": ["incident", "sentry:42"]})
    assert created.status_code == 201
    issue = created.json()
    assert (issue["number"], issue["state"], issue["title"]) == (1, "open", "DB down")
    assert issue["html_url"] == "https://github.com/acme/incidents/issues/1"
    assert created.headers["Location"] == issue["url"]
    assert [label["name"] for label in issue["labels"]] == ["incident", "sentry:42"]
    assert client.post(ISSUES, json={"title": "other", "labels": ["incident"]}).json()["number"] == 2
    def numbers(**q):
        return [i["number"] for i in client.get(ISSUES, params=q).json()]
    assert numbers(labels="incident,sentry:42") == [1] and numbers(labels="incident") == [2, 1]
    comment = client.post(f"{ISSUES}/1/comments", json={"body": "still down"})
    assert comment.status_code == 201 and comment.json()["body"] == "still down"
    assert comment.json()["html_url"].endswith(f"/issues/1#issuecomment-{comment.json()['id']}")
    closed = client.patch(f"{ISSUES}/1", json={"state": "closed", "state_reason": "completed"})
    assert closed.status_code == 200 and closed.json()["state"] == "closed" and closed.json()["comments"] == 1
    assert numbers(labels="sentry:42") == [] and numbers(labels="sentry:42", state="closed") == [1]
    assert numbers(state="all") == [2, 1] and client.get(f"{ISSUES}/1").json()["closed_at"] is not None
    assert [e["event"] for e in github.issues[1]["events"]] == ["created", "commented", "closed"]
    assert github.issues[1]["comments"][0]["body"] == "still down"


def test_github_unknown_repo_rate_limit_headers_and_secondary_limit(github):
    client = gh(github)
    missing = client.get("/repos/acme/nope/issues")
    assert (missing.status_code, missing.json()["message"]) == (404, "Not Found")
    first, second = client.get(ISSUES), client.get(ISSUES)
    assert int(first.headers["x-ratelimit-remaining"]) - int(second.headers["x-ratelimit-remaining"]) == 1
    assert int(second.headers["x-ratelimit-used"]) == 3 and second.headers["x-ratelimit-resource"] == "core"
    github.fail_next(1, 403)
    limited = client.post(ISSUES, json={"title": "x"})
    assert limited.status_code == 403 and limited.headers["retry-after"] == "1"
    assert limited.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert github.issues == {} and client.post(ISSUES, json={"title": "x"}).json()["number"] == 1


def test_github_primary_rate_limit_exhausted_is_403_with_remaining_0():
    clock = FakeClock()
    with FakeGitHub(rate_limit=1, clock=clock) as fake:
        client = gh(fake, "Bearer test-github-token")
        assert client.get(ISSUES).status_code == 200
        over = client.get(ISSUES)
        assert (over.status_code, over.headers["x-ratelimit-remaining"]) == (403, "0")
        assert over.json()["message"].startswith("API rate limit exceeded")
        reset = int(over.headers["x-ratelimit-reset"])
        assert reset == int(clock.time()) + 3600
        clock.advance(reset - clock.time())  # the hour is over: the quota refills
        refilled = client.get(ISSUES)
        assert (refilled.status_code, refilled.headers["x-ratelimit-remaining"]) == (200, "0")
        assert int(refilled.headers["x-ratelimit-reset"]) == reset + 3600


# -- SendGrid -----------------------------------------------------------------------------------------------------
def mail() -> dict:
    return {"personalizations": [{"to": [{"email": "oncall@example.org", "name": "On call"}]}],
            "from": {"email": "alerts@example.org"}, "subject": "Incident #1",
            "content": [{"type": "text/plain", "value": "DB down"}, {"type": "text/html", "value": "<b>DB</b>"}]}


def send(fake: FakeSendGrid, body: dict, key: str = "SG.key") -> httpx.Response:
    return httpx.post(fake.send_url, json=body, headers={"Authorization": f"Bearer {key}"})


def test_sendgrid_401_on_a_wrong_key(sendgrid):
    answer = send(sendgrid, mail(), key="SG.wrong")
    assert answer.status_code == 401
    denied = "The provided authorization grant is invalid, expired, or revoked"
    assert answer.json() == {"errors": [{"message": denied, "field": None, "help": None}]}
    assert sendgrid.mails == []


@pytest.mark.parametrize("breaks, field", [
    (lambda m: m.pop("personalizations"), "personalizations"),
    (lambda m: m.update(personalizations=[{"to": [{"email": "a@example.org"}]}] * 1001), "personalizations"),
    (lambda m: m["personalizations"][0].update(to=[]), "personalizations.0.to"),
    (lambda m: m["personalizations"][0]["to"][0].update(email="not-an-address"), "personalizations.0.to.0.email"),
    (lambda m: m.pop("from"), "from.email"),
    (lambda m: m.pop("subject"), "subject"),
    (lambda m: m.pop("content"), "content"),
    (lambda m: m["content"][0].update(type="text/plain; charset=utf-8"), "content.0.type"),
    (lambda m: m["content"].reverse(), "content"),
])
def test_sendgrid_400_names_the_invalid_field(sendgrid, breaks, field):
    body = mail()
    breaks(body)
    answer = send(sendgrid, body)
    assert answer.status_code == 400
    assert field in [e["field"] for e in answer.json()["errors"]] and sendgrid.mails == []


def test_sendgrid_202_records_the_mail_and_429_has_no_body(sendgrid):
    per_personalization = mail()
    per_personalization["personalizations"][0]["subject"] = per_personalization.pop("subject")
    accepted = send(sendgrid, per_personalization)
    assert (accepted.status_code, accepted.content) == (202, b"") and accepted.headers["X-Message-Id"]
    sendgrid.fail_next(1, 429)
    limited = send(sendgrid, mail())
    assert (limited.status_code, limited.content) == (429, b"")
    assert [m["message_id"] for m in sendgrid.mails] == [accepted.headers["X-Message-Id"]]


# -- SMTP ---------------------------------------------------------------------------------------------------------
def insecure_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


def message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alerts@example.org", "oncall@example.org", "Incident #1 firing"
    msg.set_content("DB down")
    return msg


def smtp_send(server: SmtpServer, password: str = "s3cret") -> None:
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.starttls(context=insecure_tls())
        client.login("mailer", password)
        client.send_message(message())


def test_smtp_starttls_login_and_send_is_recorded(smtp_server):
    smtp_send(smtp_server)
    [received] = smtp_server.messages
    assert (received.mail_from, received.rcpt_tos) == ("alerts@example.org", ["oncall@example.org"])
    assert received.message["Subject"] == "Incident #1 firing" and received.message.get_content().strip() == "DB down"
    assert received.tls and received.auth_user == "mailer" and received.raw.startswith(b"From: alerts@example.org")
    assert smtp_server.url() == f"smtp://mailer:s3cret@127.0.0.1:{smtp_server.port}"


def test_smtp_refuses_auth_without_tls_and_a_wrong_password(smtp_server):
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPNotSupportedError):
            client.login("mailer", "s3cret")
        with pytest.raises(smtplib.SMTPSenderRefused) as unauthenticated:
            client.send_message(message())
        assert unauthenticated.value.smtp_code == 530
    with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
        smtp_send(smtp_server, password="wrong")
    assert wrong.value.smtp_code == 535 and smtp_server.messages == []


def test_smtp_fail_next_answers_451_at_data_then_at_rcpt(smtp_server):
    smtp_server.fail_next(1)
    with pytest.raises(smtplib.SMTPDataError) as data_error:
        smtp_send(smtp_server)
    assert (data_error.value.smtp_code, data_error.value.smtp_error) == (451, b"4.3.0 try again later")
    smtp_server.fail_next(1, command="RCPT")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp_send(smtp_server)
    assert refused.value.recipients == {"oncall@example.org": (451, b"4.3.0 try again later")}
    assert smtp_server.messages == []
    smtp_send(smtp_server)
    assert len(smtp_server.messages) == 1 and [r["command"] for r in smtp_server.rejected] == ["DATA", "RCPT"]


def test_smtp_plain_auth_can_be_allowed_and_is_recorded_as_not_tls():
    with SmtpServer(auth_require_tls=False) as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.login("mailer", "secret")
            client.send_message(message())
        assert [(m.tls, m.auth_user) for m in server.messages] == [(False, "mailer")]
