"""The web console over HTTP: sign-in and its cookie, CSRF, refusals that change nothing, filters and paging
(the same listing the API uses), the clocks it shows and the notifications' delivery states.

The browser walk-through (headless Chromium) is in tests/test_console_browser.py.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from shared.config.settings import settings
from shared.model import OutboxStatus
from shared.notify import delivery
from shared.rules import clocks
from shared.store import incidents as store
from shared.store import outbox
from shared.web.console import pages, session
from tests.conftest import dump_firestore, function_app
from tests.notify_fixtures import local, sentry_alert

NOW = local("2026-11-24 10:00:00")   # a Tuesday in business hours; Dev D is on call, Dev A leads


# ---------------------------------------------------------------- the clocks (pure)

@pytest.mark.parametrize(("seconds", "text"), [(0, "<1m"), (59, "<1m"), (60, "1m"), (59 * 60, "59m"),
                                                (3600, "1h 00m"), (3600 + 5 * 60, "1h 05m"),
                                                (86400 - 60, "23h 59m"), (86400, "1d 0h"), (3 * 86400 + 7200, "3d 2h")])
def test_a_span_is_read_at_a_glance(seconds, text):
    assert clocks.span(timedelta(seconds=seconds)) == text


def test_an_sla_clock_runs_breaches_and_is_met_or_missed():
    due = NOW + timedelta(minutes=15)
    assert clocks.sla_clock(None, None, NOW) is None
    assert clocks.sla_clock(due, None, NOW) == {"state": "running", "text": "15m left"}
    assert clocks.sla_clock(due, None, due) == {"state": "running", "text": "<1m left"}
    assert clocks.sla_clock(due, None, due + timedelta(hours=2, minutes=3)) == {"state": "breached",
                                                                               "text": "breached 2h 03m ago"}
    assert clocks.sla_clock(due, due, NOW + timedelta(days=9)) == {"state": "met", "text": "met"}
    assert clocks.sla_clock(due, due + timedelta(minutes=20), NOW) == {"state": "missed", "text": "missed by 20m"}


# ---------------------------------------------------------------- signing in

@pytest.fixture(scope="module")
def console_app():
    return function_app("console")


@pytest.fixture
def console(console_app, firestore, monkeypatch):
    monkeypatch.setattr("shared.web.http.now", lambda: NOW)
    return console_app.test_client()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


def sign_in(client, actor="dev-a", token="test-api-token"):
    form = client.get("/login")
    return client.post("/login", data={"csrf": csrf_of(form.get_data(as_text=True)), "token": token, "actor": actor})


@pytest.fixture
def signed_in(console):
    assert sign_in(console).status_code == 303
    return console


@pytest.fixture
def incident(ingest, monkeypatch):
    found = sentry_alert(ingest, monkeypatch, NOW - timedelta(minutes=5), "7001", "Checkout fails with HTTP 500")
    delivery.wait_idle()  # its notifications are out: what follows sees a still database
    monkeypatch.setattr("shared.web.http.now", lambda: NOW)
    return found["incident"]


def test_sign_in_sets_a_strict_signed_cookie_without_the_token(console):
    r = sign_in(console, actor="Dev B")
    assert (r.status_code, r.headers["Location"]) == (303, "/")
    cookies = r.headers.getlist("Set-Cookie")
    made = next(c for c in cookies if c.startswith(f"{session.COOKIE}="))
    assert all(flag in made for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Max-Age=43200", "Path=/"))
    assert "test-api-token" not in " ".join(cookies)
    assert any(c.startswith(f"{session.LOGIN_COOKIE}=;") and "Max-Age=0" in c for c in cookies)  # pre-session gone
    page = console.get("/")
    assert page.status_code == 200 and "<h1>Incidents</h1>" in page.get_data(as_text=True)
    csp = page.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'") and "unsafe" not in csp and "script-src" not in csp
    assert "form-action 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("token", "actor", "status"), [("wrong", "dev-a", 401), ("", "dev-a", 401),
                                                         ("test-api-token", "nobody", 400)])
def test_a_wrong_token_or_unknown_person_signs_nobody_in(console, token, actor, status):
    r = sign_in(console, actor=actor, token=token)
    assert r.status_code == status
    assert not any(c.startswith(f"{session.COOKIE}=") for c in r.headers.getlist("Set-Cookie"))
    assert console.get("/").status_code == 303


def test_the_sign_in_form_needs_its_own_csrf_token(console):
    console.get("/login")
    r = console.post("/login", data={"csrf": "forged", "token": "test-api-token", "actor": "dev-a"})
    assert r.status_code == 403 and console.get("/").status_code == 303
    fresh = function_app("console").test_client()  # no pre-session cookie at all (a cross-site form)
    assert fresh.post("/login", data={"csrf": "x", "token": "test-api-token", "actor": "dev-a"}).status_code == 403


def test_pages_without_a_session_redirect_and_forms_are_refused(console, incident, firestore):
    before = dump_firestore(firestore)
    for path in ("/", f"/incidents/{incident}", "/oncall", "/metrics", "/anything"):
        r = console.get(path)
        assert (r.status_code, r.headers["Location"]) == (303, f"/login?next={path}" if path != "/" else "/login")
        assert incident not in r.get_data(as_text=True)
    r = console.post(f"/incidents/{incident}/ack", data={"actor": "dev-a", "csrf": "x"})
    assert r.status_code == 401 and "not signed in" in r.get_data(as_text=True)
    console.set_cookie(session.COOKIE, "forged.cookie.value")
    assert console.post(f"/incidents/{incident}/ack", data={"actor": "dev-a", "csrf": "x"}).status_code == 401
    assert dump_firestore(firestore) == before


def test_signing_out_revokes_the_session_on_the_server(console, console_app, incident):
    """Hardening 2, finding 4: the cookie of a signed-out session, replayed, is refused until it would expire."""
    assert sign_in(console).status_code == 303
    cookie = console.get_cookie(session.COOKIE).value
    home = console.get("/")
    assert home.status_code == 200
    r = console.post("/logout", data={"csrf": csrf_of(home.get_data(as_text=True))})
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    stolen = console_app.test_client()
    stolen.set_cookie(session.COOKIE, cookie)   # a copy kept from before (another tab, a stolen laptop)
    assert (stolen.get("/").status_code, stolen.get("/").headers["Location"]) == (303, "/login")
    r = stolen.post(f"/incidents/{incident}/ack", data={"actor": "dev-a", "csrf": csrf_of(home.get_data(as_text=True))})
    assert r.status_code == 401 and "signed out" in r.get_data(as_text=True)
    assert sign_in(console).status_code == 303 and console.get("/").status_code == 200   # a new session works


def test_wrong_tokens_are_logged_and_limited_to_ten_a_minute_per_address(console, console_app, monkeypatch,
                                                                          capsys):
    """Hardening 2, finding 4: 590 guesses a second became 10 a minute; the log says so without the token."""
    for n in range(10):
        assert sign_in(console, token=f"guess-{n}").status_code == 401
    logged = capsys.readouterr().out
    assert logged.count("console sign-in failed: wrong token") == 10 and "guess-" not in logged
    r = sign_in(console, token="test-api-token")       # even the right token, until the minute is over
    assert r.status_code == 429 and r.headers["Retry-After"] == "60"
    assert "try again in 60 s" in r.get_data(as_text=True)
    other = console_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert sign_in(other).status_code == 303           # another address is not held back
    monkeypatch.setattr("shared.web.http.now", lambda: NOW + timedelta(seconds=45))
    assert sign_in(console, token="guess").headers["Retry-After"] == "15"
    monkeypatch.setattr("shared.web.http.now", lambda: NOW + timedelta(seconds=60))
    assert sign_in(console).status_code == 303


def test_an_expired_session_is_refused(signed_in, monkeypatch):
    monkeypatch.setattr(session, "SESSION_SECONDS", -1)
    assert signed_in.get("/").status_code == 303


def test_a_form_without_this_sessions_csrf_token_changes_nothing(signed_in, console_app, incident, firestore):
    other = console_app.test_client()
    sign_in(other)
    foreign = csrf_of(other.get("/").get_data(as_text=True))  # another session's token
    before = dump_firestore(firestore)
    for token in (None, "", foreign):
        data = {"actor": "dev-a", **({"csrf": token} if token is not None else {})}
        r = signed_in.post(f"/incidents/{incident}/ack", data=data)
        assert r.status_code == 403 and "CSRF" in r.get_data(as_text=True)
    assert dump_firestore(firestore) == before


def test_an_action_through_the_console_is_the_apis(signed_in, incident):
    token = csrf_of(signed_in.get(f"/incidents/{incident}").get_data(as_text=True))
    r = signed_in.post(f"/incidents/{incident}/ack", data={"csrf": token, "actor": "dev-d", "detail": "on it"})
    assert (r.status_code, r.headers["Location"]) == (303, f"/incidents/{incident}?done=ack")
    stored = store.get_incident(incident)
    assert (stored.status, stored.owner) == ("acknowledged", "dev-d")
    assert stored.timeline[-1]["action"] == "acknowledged" and stored.timeline[-1]["detail"] == "on it"
    # a refusal of the use case is the API's status, as a page: Dev B may not change the severity
    r = signed_in.post(f"/incidents/{incident}/severity", data={"csrf": token, "actor": "dev-b", "severity": "low"})
    assert r.status_code == 403 and "only the on-call or the team lead" in r.get_data(as_text=True)
    assert store.get_incident(incident).severity.label == "medium"


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), [
    ("post", "/incidents/{id}/ack", {"data": "csrf=x", "content_type": "application/json"}, 400),
    ("post", "/incidents/{id}/explode", {"data": {"csrf": "{csrf}"}}, 404),
    ("post", "/incidents/INC-ZZZZZZ/ack", {"data": {"csrf": "{csrf}", "actor": "dev-a"}}, 404),
    ("post", "/incidents/{id}/note", {"data": {"csrf": "{csrf}", "actor": "dev-a", "text": "  "}}, 400),
    ("post", "/oncall/overrides", {"data": {"csrf": "{csrf}", "covering": "dev-c", "end": "soon"}}, 400),
    ("post", "/incidents/{id}/note", {"data": "text=" + "x" * (1024 * 1024),
                                      "content_type": "application/x-www-form-urlencoded"}, 413),
    ("put", "/", {}, 405),
    ("get", "/incidents/INC-ZZZZZZ", {}, 404),
    ("get", "/?severity=urgent", {}, 400),
    ("get", "/?cursor=bm9wZQ", {}, 400),
    ("get", "/metrics?from=yesterday", {}, 400),
])
def test_bad_input_is_refused_with_a_page_and_changes_nothing(signed_in, incident, firestore, method, path, kwargs,
                                                              status):
    token = csrf_of(signed_in.get("/").get_data(as_text=True))
    if isinstance(kwargs.get("data"), dict):
        kwargs = {**kwargs, "data": {k: v.replace("{csrf}", token) for k, v in kwargs["data"].items()}}
    before = dump_firestore(firestore)
    r = getattr(signed_in, method)(path.replace("{id}", incident), **kwargs)
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == "text/html" and "Refused" in r.get_data(as_text=True)
    assert dump_firestore(firestore) == before


def test_a_local_sign_in_link_works_once_and_only_locally(console, monkeypatch):
    code = session.local_code("dev-c")
    r = console.get(f"/login?code={code}")
    assert r.status_code == 403 and console.get("/").status_code == 303  # LOCAL_PREVIEW is off
    monkeypatch.setenv("LOCAL_PREVIEW", "1")
    settings.cache_clear()
    try:
        r = console.get(f"/login?code={code}")
        assert r.status_code == 303 and console.get("/").status_code == 200
        assert 'value="dev-c" selected' in console.get("/oncall").get_data(as_text=True)
        assert function_app("console").test_client().get(f"/login?code={code}").status_code == 401  # used
        assert console.get("/login?code=forged").status_code == 401
    finally:
        monkeypatch.delenv("LOCAL_PREVIEW")
        settings.cache_clear()


# ---------------------------------------------------------------- listing: filters and pages

@pytest.fixture
def several(ingest, monkeypatch) -> dict:
    """Given seven incidents a day apart: critical and medium ones on two services, one in staging."""
    made = {}
    for n in range(7):
        level = "fatal" if n % 2 else "error"
        project = "ai-service" if n % 3 == 0 else "petties-backend"
        when = NOW - timedelta(days=6 - n)
        made[n] = sentry_alert(ingest, monkeypatch, when, f"80{n}", f"Problem {n}", level=level,
                               project=project)["incident"]
    delivery.wait_idle()
    monkeypatch.setattr("shared.web.http.now", lambda: NOW)
    return made


def ids_of(api, query: str) -> list[str]:
    r = api.get(f"/incidents?{query}")
    assert r.status_code == 200, r.get_data(as_text=True)
    return [i["id"] for i in r.get_json()["incidents"]]


def cursor_after(api, n: int) -> str:
    """The cursor after the first n of the service's incidents in those days."""
    r = api.get(f"/incidents?service=petties-backend&from=2026-11-19&to=2026-11-22&limit={n}")
    return r.get_json()["next"]


def test_filters_narrow_the_list(api, several):
    newest_first = [several[n] for n in range(6, -1, -1)]
    assert ids_of(api, "") == newest_first
    assert ids_of(api, "severity=critical") == [several[n] for n in (5, 3, 1)]
    assert ids_of(api, "service=ai-service") == [several[n] for n in (6, 3, 0)]
    assert ids_of(api, "service=ai-service&severity=medium") == [several[n] for n in (6, 0)]
    assert ids_of(api, "environment=staging") == []
    assert ids_of(api, "from=2026-11-20&to=2026-11-22") == [several[n] for n in (4, 3, 2)]  # local days, inclusive
    assert ids_of(api, "service=petties-backend&from=2026-11-19&to=2026-11-22") == [several[n] for n in (4, 2, 1)]
    assert ids_of(api, "service=petties-backend&from=2026-11-19&to=2026-11-22&cursor=" + cursor_after(api, 1)) == [
        several[n] for n in (2, 1)]


def test_a_pinned_severity_is_the_one_filtered_on(api, several):
    pinned = several[5]  # critical, pinned down to low by the team lead
    r = api.post(f"/incidents/{pinned}/severity", json={"actor": "dev-a", "severity": "low"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert ids_of(api, "severity=critical") == [several[n] for n in (3, 1)]
    assert ids_of(api, "severity=low") == [pinned]


def test_pages_follow_the_cursor_to_the_end(api, several):
    seen, query = [], "limit=3"
    while True:
        page = api.get(f"/incidents?{query}").get_json()
        assert page["count"] <= 3
        seen += [i["id"] for i in page["incidents"]]
        if "next" not in page:
            break
        query = f"limit=3&cursor={page['next']}"
    assert seen == [several[n] for n in range(6, -1, -1)]
    assert ids_of(api, "severity=critical&limit=2") == [several[5], several[3]]


def test_the_console_list_pages_with_the_same_filters(signed_in, several, monkeypatch):
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    html = signed_in.get("/?severity=critical").get_data(as_text=True)
    assert re.findall(r'href="/incidents/(INC-\w+)"', html) == [several[5], several[3]]
    following = re.search(r'rel="next" href="([^"]+)"', html)[1].replace("&amp;", "&")
    assert following.startswith("/?severity=critical&cursor=")
    html = signed_in.get(following).get_data(as_text=True)
    assert re.findall(r'href="/incidents/(INC-\w+)"', html) == [several[1]]
    assert 'rel="next"' not in html


# ---------------------------------------------------------------- what the incident page shows

def test_notifications_show_their_delivery_state_and_error(incident, signed_in):
    records = outbox.for_incident(incident)
    assert records, "an opened incident has its notifications in the outbox"
    first = records[0]["id"]
    outbox.retry_at(first, NOW + timedelta(minutes=1), "HTTP 503 from Discord")
    outbox.enqueue([{**records[0], "id": f"{incident}:failed-test:github", "reason": "failed-test",
                     "channel": "github", "attempts": 5}])
    outbox.finish(f"{incident}:failed-test:github", OutboxStatus.FAILED, NOW, last_error="HTTP 404: repo not found")
    html = signed_in.get(f"/incidents/{incident}").get_data(as_text=True)
    table = html[html.index('id="notifications"'):]
    assert re.search(r'class="state failed">failed after 5 tries<.*?HTTP 404: repo not found', table, re.S)
    state = ("retrying", "retrying after Discord had a failure") if outbox.get(first)["attempts"] else \
        ("pending", "waiting to be sent")
    assert re.search(rf'class="state {state[0]}">{state[1]}.*?HTTP 503 from Discord', table, re.S)


def test_a_github_issue_made_for_the_incident_is_linked(incident, signed_in, monkeypatch):
    rid = f"{incident}:opened-test:github"
    outbox.enqueue([{"id": rid, "incident_id": incident, "reason": "opened-test", "channel": "github",
                     "status": "pending", "created_at": NOW, "attempts": 1}])
    outbox.finish(rid, OutboxStatus.SENT, NOW, ref="42")
    monkeypatch.setenv("GITHUB_REPO", "petties/petties")
    settings.cache_clear()
    try:
        html = signed_in.get(f"/incidents/{incident}").get_data(as_text=True)
    finally:
        monkeypatch.delenv("GITHUB_REPO")
        settings.cache_clear()
    assert '<a href="https://github.com/petties/petties/issues/42" rel="noreferrer noopener">GitHub</a>' in html


def test_a_form_with_control_characters_and_broken_utf8_is_stored_clean(signed_in, incident):
    """Console form fields are cleaned like API bodies: no control character or lone surrogate is stored."""
    token = csrf_of(signed_in.get("/").get_data(as_text=True))
    body = f"csrf={token}&actor=dev-a&text=pool%00%1b+full+%ED%A0%80+again&x%00=%ff"
    r = signed_in.post(f"/incidents/{incident}/note", data=body, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    note = store.get_incident(incident).timeline[-1]
    assert note["detail"] == "pool full \ufffd\ufffd\ufffd again", note
