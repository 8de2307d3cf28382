"""Sign in with Discord: each person signs in to the console as themselves, against a local OAuth2 provider.

The console runs as the real `console` function; Discord's token endpoint and /users/@me are tests/fakes/
discord_oauth.py, which checks the client's credentials, the redirect URI, that a code is used once and the PKCE
verifier against the challenge the browser carried to the authorize page. The person's click on "Authorize" is
FakeDiscordOAuth.approve(the URL the console sent the browser to, the Discord user).
"""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from shared.config.settings import Settings, settings
from shared.local import discord_setup, doctor
from shared.notify import delivery
from shared.store import incidents as store
from shared.web.console import discord_auth, session
from tests.conftest import dump_firestore, function_app
from tests.fakes.discord_oauth import FakeDiscordOAuth
from tests.notify_fixtures import local, sentry_alert
from tests.teams import team_data, variant
from tests.test_interactions import IDS, STRANGER, TEAM

NOW = local("2026-11-24 10:00:00")   # a Tuesday in business hours; Dev D is on call, Dev A leads
PUBLIC_URL = "https://asia-southeast1-petties-incidents.cloudfunctions.net"
REDIRECT = f"{PUBLIC_URL}/console/auth/discord"
CLIENT_ID, CLIENT_SECRET = "700000000000000001", "oauth-client-SECRET"
DEV_D = {"id": IDS["dev-d"], "username": "devd"}
NOBODY = {"id": STRANGER, "username": "stranger"}
EVERYONE = variant({f"people.{p['id']}.discord_id": f"{n:018d}" for n, p in enumerate(team_data()["people"], start=1)})


def discord_env(monkeypatch, fake: FakeDiscordOAuth) -> None:
    for name, value in {"DISCORD_CLIENT_ID": CLIENT_ID, "DISCORD_CLIENT_SECRET": CLIENT_SECRET,
                        "DISCORD_API_URL": fake.api_url, "DISCORD_OAUTH_URL": fake.oauth_url,
                        "PUBLIC_URL": PUBLIC_URL}.items():
        monkeypatch.setenv(name, value)
    settings.cache_clear()


@pytest.fixture(scope="module")
def console_app():
    return function_app("console")


@pytest.fixture
def console(console_app, firestore, use_team, monkeypatch):
    use_team(TEAM)
    monkeypatch.setattr("shared.web.http.now", lambda: NOW)
    return console_app.test_client()


@pytest.fixture
def oauth(monkeypatch):
    """Given Discord's OAuth2 (the fake) and a console set up to sign people in with it."""
    with FakeDiscordOAuth(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=(REDIRECT,)) as fake:
        discord_env(monkeypatch, fake)
        yield fake


@pytest.fixture
def incident(ingest, monkeypatch):
    found = sentry_alert(ingest, monkeypatch, NOW - timedelta(minutes=5), "7101", "Checkout fails with HTTP 500")
    delivery.wait_idle()
    monkeypatch.setattr("shared.web.http.now", lambda: NOW)
    return found["incident"]


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def to_discord(console, next_: str | None = None) -> str:
    """The browser follows "Sign in with Discord": return where the console sends it (Discord's authorize page)."""
    r = console.get("/login/discord" + (f"?next={quote(next_, safe='')}" if next_ else ""))
    assert r.status_code == 303, r.get_data(as_text=True)
    return r.headers["Location"]


def back_from_discord(console, oauth, user: dict, next_: str | None = None):
    """Sign in as the Discord user `user`: off to Discord, Authorize, and back with the code and the state."""
    url = to_discord(console, next_)
    code = oauth.approve(url, user)
    return console.get(f"/auth/discord?code={code}&state={query(url)['state']}")


def cookies_set(response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


def refresh_target(html: str) -> str:
    return re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', html)[1]


# ---------------------------------------------------------------- signing in as oneself

def test_a_team_member_signs_in_with_discord_and_every_action_is_theirs(console, oauth, incident, firestore):
    page = console.get("/login").get_data(as_text=True)
    assert "Sign in with Discord" in page and 'name="token"' not in page and "Who you are" not in page
    url = to_discord(console)
    asked = query(url)
    assert url.startswith(f"{oauth.oauth_url}/authorize?")
    assert (asked["response_type"], asked["client_id"], asked["scope"], asked["redirect_uri"],
            asked["code_challenge_method"]) == ("code", CLIENT_ID, "identify", REDIRECT, "S256")
    code = oauth.approve(url, DEV_D)
    r = console.get(f"/auth/discord?code={code}&state={asked['state']}")
    assert r.status_code == 200, r.get_data(as_text=True)
    html = r.get_data(as_text=True)
    assert "Signed in as Dev D" in html and refresh_target(html) == "/"
    made = cookies_set(r)
    assert all(flag in made[session.COOKIE] for flag in ("HttpOnly", "Secure", "SameSite=Strict"))
    assert "Max-Age=0" in made[discord_auth.COOKIE]   # the sign-in's state is spent
    assert CLIENT_SECRET not in html + " ".join(made.values())
    [exchange] = oauth.token_requests()
    assert exchange["status"] == 200 and exchange["headers"]["Authorization"].startswith("Basic ")
    sent = parse_qs(exchange["body"].decode())
    assert sent["grant_type"] == ["authorization_code"] and sent["redirect_uri"] == [REDIRECT]
    assert sent["code"] == [code] and len(sent["code_verifier"][0]) >= 43   # the fake checked it against S256
    # no "who you are": the form has no actor, and one forged into the form changes nothing about who acts
    incident_page = console.get(f"/incidents/{incident}").get_data(as_text=True)
    assert 'name="actor"' not in incident_page
    token = csrf_of(incident_page)
    r = console.post(f"/incidents/{incident}/ack", data={"csrf": token, "actor": "dev-a", "detail": "on it"})
    assert r.status_code == 303
    stored = store.get_incident(incident)
    assert (stored.status, stored.owner, stored.timeline[-1]["actor"]) == ("acknowledged", "dev-d", "dev-d")
    r = console.post("/oncall/overrides", data={"csrf": token, "actor": "dev-a", "covering": "dev-b",
                                               "end": "2026-11-24T18:00"})
    assert r.status_code == 303
    [override] = [d for k, d in dump_firestore(firestore).items() if k.startswith("oncall_overrides/")]
    assert override["created_by"] == "dev-d"


def test_a_deep_link_survives_the_sign_in(console, oauth, incident):
    r = console.get(f"/incidents/{incident}?done=ack")
    assert r.status_code == 303
    login = r.headers["Location"]
    assert login == f"/login?next={quote(f'/incidents/{incident}?done=ack', safe='/')}"
    page = console.get(login).get_data(as_text=True)
    link = re.search(r'href="(/login/discord\?next=[^"]+)"', page)[1].replace("&amp;", "&")
    assert query(link)["next"] == f"/incidents/{incident}?done=ack"
    r = back_from_discord(console, oauth, DEV_D, next_=query(link)["next"])
    assert refresh_target(r.get_data(as_text=True)).replace("&amp;", "&") == f"/incidents/{incident}?done=ack"
    assert console.get(f"/incidents/{incident}").status_code == 200


@pytest.mark.parametrize("given", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                   "javascript:alert(1)", "/console/../api/incidents", "/console/%2e%2e/api",
                                   "/console/login", "/console/auth/discord?code=x", "/console/x\r\nSet-Cookie: a=b",
                                   "console/x", "/consolex/", "/status/", "/console/#frag",
                                   "https://evil.example/console/", "/console/ü"])
def test_a_destination_that_is_not_the_consoles_own_path_is_ignored(given):
    assert discord_auth.destination(given, "/console/") == "/console/"


@pytest.mark.parametrize("given", ["/console/incidents/INC-7K3QXD", "/console/?status=open&severity=critical",
                                   "/console/postmortems/INC-7K3QXD", "/console/", "/console/%C3%BC?q=a%20b"])
def test_a_destination_under_the_console_is_kept(given):
    assert discord_auth.destination(given, "/console/") == given


def test_the_token_sign_in_keeps_a_deep_link_too_but_never_leaves_the_console(console, incident):
    assert console.get("/silences/ü?q=a%20b").headers["Location"] == "/login?next=/silences/%25C3%25BC%3Fq%3Da%2520b"
    for next_, landing in ((f"/incidents/{incident}", f"/incidents/{incident}"), ("https://evil.example/", "/"),
                           ("//evil.example", "/"), ("/login", "/"), ("/ü", "/"), ("/%C3%BC", "/%C3%BC")):
        client = function_app("console").test_client()
        form = client.get(f"/login?next={quote(next_, safe='')}").get_data(as_text=True)
        kept = re.search(r'name="next" value="([^"]*)"', form)
        r = client.post("/login", data={"csrf": csrf_of(form), "token": "test-api-token", "actor": "dev-a",
                                        "next": kept[1] if kept else next_})
        assert (r.status_code, r.headers["Location"]) == (303, landing), next_
        r = client.post("/login", data={"csrf": csrf_of(client.get("/login").get_data(as_text=True)),
                                        "token": "test-api-token", "actor": "dev-a", "next": next_})
        assert r.headers["Location"] == landing   # a hand-made form is held to the same rule


# ---------------------------------------------------------------- refusals

def test_a_wrong_or_missing_state_is_refused_before_discord_is_asked(console, console_app, oauth):
    url = to_discord(console)
    code = oauth.approve(url, DEV_D)
    for args in (f"code={code}&state=forged", f"code={code}", f"code={code}&state="):
        r = console.get(f"/auth/discord?{args}")
        assert r.status_code == 400 and "Not signed in" in r.get_data(as_text=True), args
        assert session.COOKIE not in cookies_set(r)
        url = to_discord(console)   # the refusal spent this browser's sign-in; start another
    other = console_app.test_client()   # the right state, in a browser that did not start the sign-in
    r = other.get(f"/auth/discord?code={code}&state={query(url)['state']}")
    assert r.status_code == 400 and "another browser" in r.get_data(as_text=True)
    assert oauth.token_requests() == [] and console.get("/").status_code == 303


def test_a_replayed_code_is_refused(console, oauth):
    url = to_discord(console)
    kept = console.get_cookie(discord_auth.COOKIE).value
    code = oauth.approve(url, DEV_D)
    callback = f"/auth/discord?code={code}&state={query(url)['state']}"
    assert console.get(callback).status_code == 200
    thief = function_app("console").test_client()   # the callback URL and the cookie, captured and sent again
    thief.set_cookie(discord_auth.COOKIE, kept)
    r = thief.get(callback)
    assert r.status_code == 401 and session.COOKIE not in cookies_set(r)
    fresh = to_discord(thief)   # the same code carried into a sign-in of its own: Discord refuses a used code
    r = thief.get(f"/auth/discord?code={code}&state={query(fresh)['state']}")
    assert r.status_code == 401 and "Discord did not confirm who you are" in r.get_data(as_text=True)
    assert [t["status"] for t in oauth.token_requests()] == [200, 400]
    assert thief.get("/").status_code == 303


def test_someone_not_in_the_team_file_is_refused_with_a_page_that_names_nothing_internal(console, oauth, incident,
                                                                                        capsys):
    r = back_from_discord(console, oauth, NOBODY)
    html = r.get_data(as_text=True)
    assert r.status_code == 403 and "may not use this console" in html
    for internal in ("Petties", "Dev A", "Dev D", "dev-a", "dev-d", IDS["dev-a"], IDS["dev-d"], incident, STRANGER,
                     "incidents</"):
        assert internal not in html, internal
    assert session.COOKIE not in cookies_set(r) and console.get("/").status_code == 303
    assert "not in the team file" in capsys.readouterr().out   # the team's log says who tried


def test_a_person_who_says_no_on_discord_is_not_signed_in(console, oauth):
    url = to_discord(console)
    r = console.get(f"/auth/discord?error=access_denied&error_description=The+resource+owner+denied&"
                    f"state={query(url)['state']}")
    assert r.status_code == 401 and oauth.token_requests() == []


@pytest.mark.parametrize("how", ["503", "429", "hang"])
def test_discord_down_is_a_503_page_saying_so_and_signs_nobody_in(console, monkeypatch, clock, how):
    with FakeDiscordOAuth(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=(REDIRECT,),
                          clock=clock) as oauth:
        discord_env(monkeypatch, oauth)
        if how == "hang":
            oauth.hang_next(1, seconds=60)   # answers after a minute of the fake clock: past any deadline
        else:
            oauth.fail_next(1, status=int(how))
        r = back_from_discord(console, oauth, DEV_D)
        assert r.status_code == 503 and "Discord is not answering" in r.get_data(as_text=True)
        assert session.COOKIE not in cookies_set(r) and console.get("/").status_code == 303
        assert back_from_discord(console, oauth, DEV_D).status_code == 200   # back up: a new sign-in works


def test_without_public_url_the_sign_in_says_what_is_missing(console, oauth, monkeypatch):
    monkeypatch.delenv("PUBLIC_URL")
    settings.cache_clear()
    r = console.get("/login/discord")
    assert r.status_code == 503 and "PUBLIC_URL" in r.get_data(as_text=True)


# ---------------------------------------------------------------- the token sign-in: on without Discord, off with it

def test_without_discord_the_token_sign_in_works_and_says_actions_are_self_declared(console, incident):
    page = console.get("/login").get_data(as_text=True)
    assert 'name="token"' in page and "self-declared" in page and "Sign in with Discord" not in page
    assert console.get("/login/discord").status_code == 404 and console.get("/auth/discord?code=x").status_code == 404
    r = console.post("/login", data={"csrf": csrf_of(page), "token": "test-api-token", "actor": "dev-a"})
    assert r.status_code == 303
    assert 'name="actor"' in console.get(f"/incidents/{incident}").get_data(as_text=True)


def test_with_discord_the_token_sign_in_and_its_sessions_are_off(console, console_app, oauth, incident, firestore,
                                                                  monkeypatch):
    nonce, token = session.login_nonce()   # a sign-in form as the token sign-in served it, valid in every way
    console.set_cookie(session.LOGIN_COOKIE, nonce)
    r = console.post("/login", data={"csrf": token, "token": "test-api-token", "actor": "dev-a"})
    assert r.status_code == 403 and "signs people in with Discord" in r.get_data(as_text=True)
    assert session.COOKIE not in cookies_set(r)
    monkeypatch.setenv("LOCAL_PREVIEW", "1")
    settings.cache_clear()
    assert console.get(f"/login?code={session.local_code('dev-a')}").status_code == 403
    before = console_app.test_client()   # a session the API token made before Discord was set up
    made = session.start("dev-a")
    before.set_cookie(session.COOKIE, made)
    assert (before.get("/").status_code, before.get("/").headers["Location"]) == (303, "/login")
    state = dump_firestore(firestore)
    r = before.post(f"/incidents/{incident}/ack", data={"csrf": session.csrf(session.read(made)), "actor": "dev-a"})
    assert r.status_code == 401 and dump_firestore(firestore) == state


# ---------------------------------------------------------------- ./deploy.sh doctor and discord-setup

def _settings(**env: str) -> Settings:
    return Settings.from_env({"API_TOKEN": "t" * 32, **env})


@pytest.mark.parametrize(("env", "status", "said"), [
    ({}, doctor.OFF, "self-declared"),
    ({"DISCORD_CLIENT_ID": CLIENT_ID}, doctor.FAIL, "DISCORD_CLIENT_SECRET is not set"),
    ({"DISCORD_CLIENT_SECRET": CLIENT_SECRET}, doctor.FAIL, "DISCORD_CLIENT_ID is not set"),
    ({"DISCORD_CLIENT_ID": CLIENT_ID, "DISCORD_CLIENT_SECRET": CLIENT_SECRET}, doctor.FAIL, "PUBLIC_URL is not set"),
    ({"DISCORD_CLIENT_ID": CLIENT_ID, "DISCORD_CLIENT_SECRET": CLIENT_SECRET, "PUBLIC_URL": PUBLIC_URL}, doctor.OK,
     REDIRECT),
])
def test_doctor_checks_the_sign_in_settings_offline(env, status, said):
    line = doctor.check_sign_in(_settings(**env), EVERYONE)
    assert (line.status, line.what) == (status, "Discord sign-in") and said in line.detail, line
    assert CLIENT_SECRET not in line.detail


def test_doctor_names_who_cannot_sign_in_for_want_of_a_discord_id():
    line = doctor.check_sign_in(_settings(DISCORD_CLIENT_ID=CLIENT_ID, DISCORD_CLIENT_SECRET=CLIENT_SECRET,
                                          PUBLIC_URL=PUBLIC_URL), TEAM)   # Dev C and DevOps have no discord_id
    assert line.status == doctor.WARN and line.detail.startswith("Dev C, DevOps") and "cannot sign in" in line.detail
    assert not any(f"Dev {x}" in line.detail for x in "ABD"), line
    assert REDIRECT in line.detail


def test_discord_setup_prints_the_redirect_uri_to_register(monkeypatch, capsys):
    for name in ("DISCORD_BOT_TOKEN", "DISCORD_APPLICATION_ID", "DISCORD_GUILD_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISCORD_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("DISCORD_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("PUBLIC_URL", PUBLIC_URL)
    assert discord_setup.main([]) == 0   # sign-in only: no bot, no commands to register
    out = capsys.readouterr().out
    assert f"\n  {REDIRECT}\n" in out and CLIENT_SECRET not in out
    monkeypatch.delenv("PUBLIC_URL")
    assert discord_setup.main(["--public-url", "https://abc.trycloudflare.com/"]) == 0
    assert "https://abc.trycloudflare.com/console/auth/discord" in capsys.readouterr().out


def test_the_local_banner_offers_a_sign_in_link_only_without_discord(monkeypatch, capsys):
    from shared.local import console_link
    console_link.main(["http://127.0.0.1:8080"])
    assert "/console/login?code=" in capsys.readouterr().out
    monkeypatch.setenv("DISCORD_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("DISCORD_CLIENT_SECRET", CLIENT_SECRET)
    settings.cache_clear()
    console_link.main(["http://127.0.0.1:8080"])
    out = capsys.readouterr().out
    assert out == "http://127.0.0.1:8080/console/   (Sign in with Discord)\n"


# ---------------------------------------------------------------- in a browser, across sites

def test_in_chromium_the_browser_comes_back_from_another_site_signed_in_on_its_deep_link(live_server, browser, oauth,
                                                                                         incident, monkeypatch,
                                                                                         use_team):
    """Discord is another site (localhost here, the console 127.0.0.1): the state cookie (Lax) comes back with the
    browser, and the session cookie (Strict) is sent on the page after, which a redirect from Discord would not."""
    from tests.fakes.server import serve

    use_team(TEAM)
    monkeypatch.setenv("PUBLIC_URL", live_server)
    monkeypatch.setattr(oauth, "redirect_uris", {f"{live_server}/console/auth/discord"})

    discord_site, stop = serve(oauth.authorize_page(DEV_D))   # Discord's page, where Dev D clicks Authorize
    monkeypatch.setenv("DISCORD_OAUTH_URL", discord_site.replace("127.0.0.1", "localhost") + "/oauth2")
    settings.cache_clear()
    try:
        page = browser.new_context(viewport={"width": 390, "height": 800}).new_page()
        console = f"{live_server}/console/"
        page.goto(f"{console}incidents/{incident}")
        assert page.url.startswith(f"{console}login?next=")
        page.click("text=Sign in with Discord")
        assert page.url.startswith("http://localhost:")
        page.click("#authorize")   # a navigation discord.com starts: a Strict cookie would not come back with it
        page.wait_for_url(f"{console}incidents/{incident}")
        assert incident in page.locator("h1").inner_text()
        assert page.locator("select[name=actor]").count() == 0   # no "who you are"
        page.fill("form[action$='/ack'] input[name=detail]", "on it")
        page.click("form[action$='/ack'] button")
        assert page.locator("[role=status]").inner_text() == "Acknowledged."
        assert store.get_incident(incident).timeline[-1]["actor"] == "dev-d"
    finally:
        stop()
