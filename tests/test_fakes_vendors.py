"""The GitHub, SendGrid and SMTP fakes enforce what the real services enforce, and inject the faults they claim to
(the Discord fake: test_fakes.py)."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

import httpx
import pytest

from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHub
from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.smtp import SmtpServer

ISSUES = "/repos/acme/incidents/issues"


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
