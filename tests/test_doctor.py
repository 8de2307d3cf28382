"""./deploy.sh doctor against the vendor fakes: one line per check, nobody alerted unless --send-test."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from shared.local import doctor
from tests.conftest import ROOT
from tests.fakes.discord import FakeDiscord
from tests.fakes.github import FakeGitHub
from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.smtp import SmtpServer

DISCORD_TOKEN, STAGING_TOKEN = "prod-webhook-token-SECRET", "staging-webhook-token-SECRET"
GITHUB_TOKEN, SMTP_PASSWORD, SENDGRID_KEY = "ghp_doctor-token-SECRET", "smtp-password-SECRET", "SG.doctor-key-SECRET"
SECRETS = (DISCORD_TOKEN, STAGING_TOKEN, GITHUB_TOKEN, SMTP_PASSWORD, SENDGRID_KEY)
CHANNEL_VARS = ("DISCORD_WEBHOOK_URL", "DISCORD_STAGING_WEBHOOK_URL", "GITHUB_TOKEN", "GITHUB_REPO", "GITHUB_API_URL",
                "SMTP_URL", "SENDGRID_API_KEY", "SENDGRID_API_URL", "EMAIL_FROM")


@dataclass
class Vendors:
    discord: FakeDiscord
    github: FakeGitHub
    sendgrid: FakeSendGrid
    smtp: SmtpServer
    env: dict

    def nothing_sent(self) -> bool:
        return (self.discord.messages == [] and self.smtp.messages == [] and self.sendgrid.mails == []
                and all(not self.github.issues_for(r["full_name"]) for r in self.github.repos.values()))


@pytest.fixture
def vendors(monkeypatch, emulator_host):
    """Start every fake with one working account each; the environment points at all of them."""
    discord = FakeDiscord(webhook_id="100", token=DISCORD_TOKEN, rate_limit=50).serve()
    discord.add_webhook("200", STAGING_TOKEN)
    github = FakeGitHub(tokens=(GITHUB_TOKEN,), repos=("petties/petties",)).serve()
    sendgrid = FakeSendGrid(api_key=SENDGRID_KEY).serve()
    smtp = SmtpServer(user="mailer", password=SMTP_PASSWORD).serve()
    for name in (*CHANNEL_VARS, "INCIDENT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    env = {"DISCORD_WEBHOOK_URL": discord.webhook_url("100", DISCORD_TOKEN),
           "DISCORD_STAGING_WEBHOOK_URL": discord.webhook_url("200", STAGING_TOKEN),
           "GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_REPO": "petties/petties", "GITHUB_API_URL": github.base_url,
           "SMTP_URL": smtp.url() + "?tls=insecure", "SENDGRID_API_KEY": SENDGRID_KEY,
           "SENDGRID_API_URL": sendgrid.base_url, "EMAIL_FROM": "incidents@petties.world",
           "FIRESTORE_EMULATOR_HOST": emulator_host}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        yield Vendors(discord, github, sendgrid, smtp, env)
    finally:
        for fake in (discord, github, sendgrid, smtp):
            fake.stop()


def run(capsys, *args: str) -> tuple[int, dict[str, str]]:
    """Run the doctor; return its exit code and its lines by what they check ("Discord alerts": "✓ ...")."""
    code = doctor.main(list(args))
    out = capsys.readouterr().out
    for secret in SECRETS:
        assert secret not in out, f"a secret leaked: {secret[:8]}..."
    lines = out.strip().splitlines()
    by_what = {line[2:].split(": ", 1)[0]: line for line in lines[:-1]}
    assert len(by_what) == len(lines) - 1, "one line per check"
    return code, by_what


CHECKS = ("Team file", "Settings", "Secrets", "Production needs", "Discord sign-in", "GitHub webhook",
          "Discord alerts", "Discord staging", "Slack alerts", "Slack staging", "Email SMTP", "Email SendGrid",
          "GitHub", "Sentry resolution", "ntfy", "Firestore")


def test_everything_working_is_one_ok_line_each_exit_0_and_nothing_is_sent(vendors, capsys, monkeypatch):
    monkeypatch.setenv("API_TOKEN", "t" * 32)
    code, lines = run(capsys)
    assert code == 0, "\n".join(lines.values())
    assert list(lines) == list(CHECKS)
    assert all(line.startswith("✓ ") for what, line in lines.items() if what != "Discord sign-in")
    assert lines["Discord sign-in"].startswith("– Discord sign-in: not configured")   # its own tests: see
    #                                                                     tests/test_console_discord_signin.py
    assert "petties.yaml: team Petties" in lines["Team file"] and "Asia/Ho_Chi_Minh" in lines["Team file"]
    assert "channel" in lines["Discord alerts"] and "STARTTLS, login as mailer" in lines["Email SMTP"]
    assert "unused while SENDGRID_API_KEY is set" in lines["Email SMTP"] and "mail.send" in lines["Email SendGrid"]
    assert "petties/petties" in lines["GitHub"] and f"emulator at {vendors.env['FIRESTORE_EMULATOR_HOST']}" in \
        lines["Firestore"]
    assert vendors.nothing_sent()
    assert {r["method"] for r in vendors.discord.requests} == {"GET"}
    assert {(r["method"], r["path"]) for r in vendors.github.requests} == {("GET", "/repos/petties/petties")}


@pytest.mark.parametrize("email", ["sendgrid", "smtp"])
def test_send_test_posts_exactly_one_marked_message_per_channel(vendors, capsys, monkeypatch, email):
    if email == "smtp":
        monkeypatch.delenv("SENDGRID_API_KEY")
    code, lines = run(capsys, "--send-test", "--to", "lead@petties.world")
    assert code == 0, lines
    for what in ("Discord alerts", "Discord staging", "Email", "GitHub"):
        assert lines[f"{what} test"].startswith("✓ "), lines
    for webhook in ("100", "200"):
        assert [m["content"] for m in vendors.discord.messages_for(webhook)] == [doctor.TEST_TEXT]
    if email == "sendgrid":
        assert [m["subject"] for m in vendors.sendgrid.mails] == [doctor.TEST_TEXT] and vendors.smtp.messages == []
        assert vendors.sendgrid.mails[0]["personalizations"][0]["to"] == [{"email": "lead@petties.world"}]
    else:
        assert [m.message["Subject"] for m in vendors.smtp.messages] == [doctor.TEST_TEXT]
        assert vendors.smtp.messages[0].rcpt_tos == ["lead@petties.world"] and vendors.smtp.messages[0].tls
    issues = vendors.github.issues_for("petties/petties")
    assert [(i["title"], i["state"]) for i in issues.values()] == [(doctor.TEST_TEXT, "closed")]
    assert "issue #1 opened and closed" in lines["GitHub test"]


def _wrong_discord(v: Vendors, mp):
    mp.setenv("DISCORD_WEBHOOK_URL", v.discord.webhook_url("999", DISCORD_TOKEN))


def _wrong_discord_token(v: Vendors, mp):
    mp.setenv("DISCORD_WEBHOOK_URL", v.discord.webhook_url("100", "not-the-token"))


def _bad_github_token(v: Vendors, mp):
    mp.setenv("GITHUB_TOKEN", "ghp_revoked")


def _github_repo_hidden(v: Vendors, mp):
    v.github.add_repo("petties/private", access={})
    mp.setenv("GITHUB_REPO", "petties/private")


def _github_issues_off(v: Vendors, mp):
    v.github.add_repo("petties/no-issues", has_issues=False)
    mp.setenv("GITHUB_REPO", "petties/no-issues")


def _github_read_only(v: Vendors, mp):
    v.github.add_repo("petties/read-only", access={GITHUB_TOKEN: "pull"})
    mp.setenv("GITHUB_REPO", "petties/read-only")


def _github_half(v: Vendors, mp):
    mp.delenv("GITHUB_REPO")


def _smtp_password(v: Vendors, mp):
    mp.setenv("SMTP_URL", v.smtp.url(password="wrong-password") + "?tls=insecure")


def _smtp_closed(v: Vendors, mp):
    mp.setenv("SMTP_URL", f"smtp://mailer:x@127.0.0.1:{_closed_port()}?tls=insecure")


def _sendgrid_no_mail_send(v: Vendors, mp):
    v.sendgrid.scopes = ("stats.read", "scopes.read")


def _sendgrid_bad_key(v: Vendors, mp):
    mp.setenv("SENDGRID_API_KEY", "SG.revoked")


@pytest.mark.parametrize("breaks, what, fix", [
    (_wrong_discord, "Discord alerts", "404 Unknown Webhook: the webhook was deleted or the URL is wrong"),
    (_wrong_discord_token, "Discord alerts", "401 Invalid Webhook Token: the token part of the URL is wrong"),
    (_bad_github_token, "GitHub", "401 Bad credentials: the token is wrong, expired or revoked"),
    (_github_repo_hidden, "GitHub", "404 Not Found: petties/private does not exist or this token cannot see it"),
    (_github_issues_off, "GitHub", "petties/no-issues has Issues turned off: turn Issues on"),
    (_github_read_only, "GitHub", "drops their labels without triage or write access"),
    (_github_half, "GitHub", "GITHUB_REPO is not set"),
    (_smtp_password, "Email SMTP", "refused the login (535): check the user and password in SMTP_URL"),
    (_smtp_closed, "Email SMTP", "cannot connect to 127.0.0.1:"),
    (_sendgrid_no_mail_send, "Email SendGrid", "lacks the mail.send scope: give it Mail Send access"),
    (_sendgrid_bad_key, "Email SendGrid", "SendGrid answered 401"),
])
def test_a_broken_channel_is_one_fail_line_naming_the_fix_and_exit_1(vendors, capsys, monkeypatch, breaks, what,
                                                                    fix):
    breaks(vendors, monkeypatch)
    code, lines = run(capsys)
    assert code == 1
    assert lines[what].startswith(f"✗ {what}: ") and fix in lines[what], lines[what]
    assert [w for w, line in lines.items() if line.startswith("✗")] == [what]
    assert vendors.nothing_sent()


def test_send_test_skips_a_failing_channel_and_sends_through_the_rest(vendors, capsys, monkeypatch):
    _wrong_discord(vendors, monkeypatch)
    code, lines = run(capsys, "--send-test")
    assert code == 1
    assert lines["Discord alerts test"].startswith("✗ ") and "fix the check above first" in lines["Discord alerts test"]
    assert vendors.discord.messages_for("999") == [] and len(vendors.discord.messages_for("200")) == 1
    assert [m["personalizations"][0]["to"] for m in vendors.sendgrid.mails] == [[{"email": "dev-a@petties.world"}]]


def test_an_unconfigured_channel_goes_to_the_preview_page_and_is_not_a_failure(vendors, capsys, monkeypatch):
    for name in CHANNEL_VARS:
        monkeypatch.delenv(name)
    code, lines = run(capsys, "--send-test")
    assert code == 0, lines
    for what in ("Discord alerts", "Discord staging", "Email SMTP", "GitHub"):
        assert lines[what].startswith(f"– {what}: not configured: messages go to the local preview page"), lines[what]
    assert not any(what.endswith(" test") for what in lines) and vendors.nothing_sent()
    assert doctor.main(["--strict"]) == 1  # production: a channel nobody set up is a failure
    capsys.readouterr()


@pytest.mark.parametrize(("token", "secret", "warned"), [
    ("t" * 31, None, ["API_TOKEN has 31 characters"]), ("t" * 40, "s" * 8, ["CONSOLE_SECRET has 8 characters"]),
    ("t" * 12, "s" * 12, ["API_TOKEN has 12 characters", "CONSOLE_SECRET has 12 characters"]),
])
def test_a_short_api_token_or_console_secret_is_a_warning(vendors, capsys, monkeypatch, token, secret, warned):
    """Hardening 2, finding 4: a guessable token is said (not failed: a local stack uses short ones; --strict
    fails it, as production should)."""
    monkeypatch.setenv("API_TOKEN", token)
    if secret:
        monkeypatch.setenv("CONSOLE_SECRET", secret)
    code, lines = run(capsys)
    assert code == 0 and lines["Secrets"].startswith("! Secrets: ") and "at least 32" in lines["Secrets"]
    assert all(w in lines["Secrets"] for w in warned) and token not in lines["Secrets"]
    assert doctor.main(["--strict"]) == 1
    capsys.readouterr()


def test_what_production_still_needs_is_a_warning_line(vendors, capsys, monkeypatch):
    """Settings is ticked for a valid environment; the line after it says what production would still lack: the
    secrets it requires (unset, or ./deploy.sh local's defaults) and a way to send for each channel routed to."""
    for name in ("SENTRY_CLIENT_SECRET", "INGEST_TOKEN", *CHANNEL_VARS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("API_TOKEN", "local-api-token")
    code, lines = run(capsys)
    assert code == 0 and lines["Settings"].startswith("✓ Settings: environment valid")
    assert lines["Production needs"] == (
        "! Production needs: SENTRY_CLIENT_SECRET; INGEST_TOKEN; API_TOKEN (now the local default); "
        "DISCORD_WEBHOOK_URL (or bot mode: DISCORD_BOT_TOKEN and DISCORD_ALERTS_CHANNEL_ID) (the team file routes "
        "alerts to discord); SMTP_URL or SENDGRID_API_KEY (the team file routes alerts to email); GITHUB_TOKEN and "
        "GITHUB_REPO (the team file routes alerts to github); DISCORD_STAGING_WEBHOOK_URL (or bot mode: "
        "DISCORD_STAGING_CHANNEL_ID) (the team file routes alerts to discord_staging)")
    assert doctor.main(["--strict"]) == 1
    capsys.readouterr()


def test_a_configured_production_needs_nothing_more(vendors, capsys, monkeypatch):
    monkeypatch.setenv("API_TOKEN", "t" * 32)
    code, lines = run(capsys)
    assert code == 0 and lines["Production needs"].startswith("✓ Production needs: nothing more")


@pytest.mark.parametrize("variable,value,words", [
    ("GITHUB_REPO", "not a repo", "GITHUB_REPO: expected owner/repo, e.g. petties/backend"),
    ("DISCORD_PUBLIC_KEY", "xyz", "DISCORD_PUBLIC_KEY: expected the application's public key"),
    ("DISCORD_GUILD_ID", "my-server", "DISCORD_GUILD_ID: expected a Discord id"),
])
def test_a_badly_formed_variable_is_said_in_words(vendors, capsys, monkeypatch, variable, value, words):
    monkeypatch.setenv(variable, value)
    code, lines = run(capsys)
    assert code == 1 and words in lines["Settings"], lines["Settings"]
    assert "pattern" not in lines["Settings"] and "^" not in lines["Settings"] and value not in lines["Settings"]


def test_a_hung_discord_fails_within_the_timeout(vendors, capsys, clock):
    from concurrent.futures import ThreadPoolExecutor
    vendors.discord.clock, vendors.discord.hang_waits_for_clock = clock, True
    vendors.discord.hang_next(2, seconds=30)  # both webhooks answer 30 s late on the doctor's clock
    with ThreadPoolExecutor(1) as doctor_run:
        code = doctor_run.submit(doctor.main, ["--timeout", "1"])
        clock.run_waits(1.0, until=code.done)   # each check's 1 s passes; nothing else moves the clock
        code = code.result()
    line = next(x for x in capsys.readouterr().out.splitlines() if "Discord alerts" in x)
    assert code == 1 and line.startswith("✗ Discord alerts: cannot reach 127.0.0.1 (")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_firestore_where_nothing_listens_fails_within_its_timeout(vendors, capsys, monkeypatch):
    """gRPC's retries of a refused connection run in real time: the window is shrunk to keep the test short."""
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    code, lines = run(capsys, "--timeout", "0.5")
    assert code == 1 and time.monotonic() - started < 3  # the read's window is --timeout
    assert lines["Firestore"].startswith("✗ Firestore: the emulator at 127.0.0.1:") and "start it" in lines["Firestore"]


def test_a_bad_team_file_and_a_bad_variable_are_fail_lines(vendors, capsys, monkeypatch, tmp_path):
    team = tmp_path / "team.yaml"
    team.write_text("team:\n  name: X\n  timezone: UTC\n", encoding="utf-8")
    monkeypatch.setenv("INCIDENT_CONFIG", str(team))
    monkeypatch.setenv("SENTRY_MAX_AGE_SECONDS", "abc")
    code, lines = run(capsys)
    assert code == 1
    assert lines["Team file"].startswith(f"✗ Team file: {team}: ") and "did you mean time_zone?" in lines["Team file"]
    assert "SENTRY_MAX_AGE_SECONDS: expected a whole number of seconds" in lines["Settings"]
    assert "Discord alerts" not in lines  # nothing to check channels with until the environment is valid


def test_the_module_runs_with_ok_fail_prefixes(vendors):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DISCORD_WEBHOOK_URL": vendors.discord.webhook_url("999", "x")}
    done = subprocess.run([sys.executable, "-m", "shared.local.doctor", "--ascii"], env=env,
                          capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("OK Team file: ") and any(x.startswith("FAIL Discord alerts: ") for x in lines)
    assert lines[-1] == "1 to fix: see the FAIL lines above"


def test_the_github_webhook_line_says_whether_it_is_on(vendors, capsys, monkeypatch):
    code, lines = run(capsys)
    assert code == 0 and lines["GitHub webhook"].startswith("✓ GitHub webhook: off (optional)")
    assert "set GITHUB_WEBHOOK_SECRET" in lines["GitHub webhook"] and "Issues events only" in lines["GitHub webhook"]
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "doctor-hook-SECRET")
    monkeypatch.setenv("PUBLIC_URL", "https://asia-southeast1-petties.cloudfunctions.net")
    code, lines = run(capsys)
    assert code == 0 and lines["GitHub webhook"] == (
        "✓ GitHub webhook: on: https://asia-southeast1-petties.cloudfunctions.net/ingest/github takes issues events "
        "signed with GITHUB_WEBHOOK_SECRET; closing or reopening an incident's issue resolves or reopens it (issues "
        "in petties/petties)")
    assert "doctor-hook-SECRET" not in capsys.readouterr().out
