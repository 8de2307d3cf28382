"""Every action a person takes, as console forms over HTTP: each goes through the use case the API and Discord call,
is taken as the person signed in with Discord, carries the session's CSRF token, and a refusal is shown on the page
the form was on, with the navigation, filled in as it was sent, having changed nothing.

The console runs as the real `console` function, Discord's OAuth2 as tests/fakes/discord_oauth.py; the walk-through
in Chromium is tests/test_console_workflow_browser.py.
"""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from shared.notify import delivery
from shared.rules import status_updates as update_rules
from shared.store import incidents as store
from shared.store import oncall as oncall_store
from shared.store import postmortems as postmortem_store
from shared.store import silences as silence_store
from shared.store import status_updates as update_store
from shared.web.console import session
from tests.conftest import dump_firestore, function_app
from tests.fakes.discord_oauth import FakeDiscordOAuth
from tests.notify_fixtures import local, sentry_alert, sweep
from tests.test_console_discord_signin import (
    CLIENT_ID,
    CLIENT_SECRET,
    DEV_D,
    REDIRECT,
    back_from_discord,
    csrf_of,
    discord_env,
)
from tests.test_interactions import TEAM

NOW = local("2026-11-24 10:00:00")   # a Tuesday in business hours; Dev D is on call, Dev A leads
NAV = '<nav aria-label="Console">'


@pytest.fixture(scope="module")
def console_app():
    return function_app("console")


@pytest.fixture
def at(monkeypatch):
    """at(time): the console's clock (each request's now) from here on."""
    def move(when):
        monkeypatch.setattr("shared.web.http.now", lambda: when)
    return move


@pytest.fixture
def critical(ingest, monkeypatch, use_team, at) -> str:
    """Given an open Critical on petties-backend (production), opened five minutes ago."""
    use_team(TEAM)
    found = sentry_alert(ingest, monkeypatch, NOW - timedelta(minutes=5), "7301", "Checkout fails with HTTP 500",
                         level="fatal", users=40)
    delivery.wait_idle()
    at(NOW)
    return found["incident"]


@pytest.fixture
def console(console_app, firestore, critical, monkeypatch):
    """A browser signed in with Discord as Dev D (the team file maps Dev D's Discord id)."""
    with FakeDiscordOAuth(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=(REDIRECT,)) as oauth:
        discord_env(monkeypatch, oauth)
        client = console_app.test_client()
        assert back_from_discord(client, oauth, DEV_D).status_code == 200
        yield client


def token(console, path: str = "/") -> str:
    return csrf_of(console.get(path).get_data(as_text=True))


def post(console, path: str, **fields: str):
    return console.post(path, data={"csrf": token(console), **fields})


def still(firestore) -> dict:
    delivery.wait_idle()
    return dump_firestore(firestore)


def refused_on(r, status: int, page: str, said: str) -> str:
    """The refusal is the use case's status and message, on the page the form was on (its h1), with the navigation."""
    html = r.get_data(as_text=True)
    assert r.status_code == status, html[:2000]
    assert NAV in html and "Sign out" in html, "the refusal page keeps the navigation"
    refusal = re.search(r'<p class="card refused" role="alert" id="refusal">(.*?)</p>', html, re.S)
    assert refusal and f"Refused ({status})" in refusal[1] and said in unescape(refusal[1]), html[:3000]
    assert re.search(r"<h1>(.*?)</h1>", html, re.S)[1].startswith(page), html[:3000]
    return html


def last(iid: str) -> dict:
    return store.get_incident(iid).timeline[-1]


# ---------------------------------------------------------------- the incident's steps

@pytest.mark.parametrize("phase", ["investigating", "fixing", "deploying"])
def test_a_step_with_its_detail_is_taken_as_the_person_signed_in(console, critical, phase):
    r = post(console, f"/incidents/{critical}/{phase}", detail="pool exhausted", actor="dev-a")
    assert (r.status_code, r.headers["Location"]) == (303, f"/incidents/{critical}?done={phase}")
    stored = store.get_incident(critical)
    assert (stored.phase, stored.owner) == (phase, "dev-d")   # a step on an open incident acknowledges it
    assert (last(critical)["actor"], last(critical)["action"], last(critical)["detail"]) == ("dev-d", phase,
                                                                                              "pool exhausted")
    page = console.get(r.headers["Location"]).get_data(as_text=True)
    assert '<p class="card done" role="status">' in page and phase.capitalize() in page


@pytest.mark.parametrize(("action", "label", "status"), [("resolve", "Resolve", "resolved"),
                                                         ("invalid", "Close as invalid", "resolved")])
def test_closing_asks_first_and_looks_unlike_acknowledge(console, critical, firestore, action, label, status):
    page = console.get(f"/incidents/{critical}").get_data(as_text=True)
    ack = re.search(r'<button type="submit" class="([\w ]+)">Acknowledge</button>', page)[1].split()
    closing = re.search(rf'<button type="submit" class="([\w ]+)" formaction="/incidents/{critical}/{action}">',
                        page)[1].split()
    assert ack == ["primary"] and "danger" in closing and "secondary" in closing   # drawn apart (console.css)
    before = still(firestore)
    r = post(console, f"/incidents/{critical}/{action}", detail="pool resized")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and f"<h1>{label}" in html and NAV in html
    assert still(firestore) == before   # asking changes nothing
    confirm = html[html.index('id="confirm"'):]
    assert '<input type="hidden" name="confirm" value="1">' in confirm
    assert '<input type="hidden" name="detail" value="pool resized">' in confirm
    assert 'Recorded with it: <span class="title">pool resized</span>' in html
    assert 'name="actor"' not in confirm   # signed in with Discord: nobody else to be
    r = console.post(f"/incidents/{critical}/{action}", data={"csrf": csrf_of(confirm), "detail": "pool resized",
                                                              "confirm": "1"})
    assert (r.status_code, r.headers["Location"]) == (303, f"/incidents/{critical}?done={action}")
    stored = store.get_incident(critical)
    assert stored.status == status and stored.invalid == (action == "invalid")
    assert (last(critical)["actor"], last(critical)["detail"]) == ("dev-d", "pool resized")


def test_without_discord_the_confirmation_keeps_who_the_form_said(console_app, firestore, critical):
    client = console_app.test_client()
    form = client.get("/login").get_data(as_text=True)
    assert client.post("/login", data={"csrf": csrf_of(form), "token": "test-api-token",
                                       "actor": "dev-a"}).status_code == 303
    csrf = csrf_of(client.get(f"/incidents/{critical}").get_data(as_text=True))
    html = client.post(f"/incidents/{critical}/invalid", data={"csrf": csrf, "actor": "dev-b"}).get_data(as_text=True)
    assert '<input type="hidden" name="actor" value="dev-b">' in html and not store.get_incident(critical).is_resolved
    r = client.post(f"/incidents/{critical}/invalid", data={"csrf": csrf, "actor": "dev-b", "confirm": "1"})
    assert r.status_code == 303 and (last(critical)["actor"], last(critical)["action"]) == ("dev-b", "invalid")


def test_resolving_twice_is_refused_on_the_incident_page(console, critical, firestore):
    assert post(console, f"/incidents/{critical}/resolve", confirm="1").status_code == 303
    before = still(firestore)
    r = post(console, f"/incidents/{critical}/resolve", confirm="1")
    refused_on(r, 409, '<span class="sev', f"{critical} is resolved")
    assert still(firestore) == before


def test_flags_and_notes_are_the_persons(console, critical, firestore):
    r = post(console, f"/incidents/{critical}/flag", flag="security")
    assert (r.status_code, r.headers["Location"]) == (303, f"/incidents/{critical}?done=flag")
    stored = store.get_incident(critical)
    assert stored.doc["flags"] == {"security": True} and (last(critical)["actor"], last(critical)["action"]) == (
        "dev-d", "flagged")
    page = console.get(f"/incidents/{critical}").get_data(as_text=True)
    assert re.search(r'name="flag" value="security" disabled', page) and "Flagged: Security." in page
    before = still(firestore)
    refused_on(post(console, f"/incidents/{critical}/flag", flag="outage"), 400, '<span class="sev',
               "flag: expected one of data_loss, security")
    html = refused_on(post(console, f"/incidents/{critical}/note", text="   "), 400, '<span class="sev',
                      "text is missing")
    assert still(firestore) == before
    assert re.search(r'<textarea name="text"[^>]*>   </textarea>', html)   # what was typed is still there


def test_a_severity_change_refused_by_the_use_case_is_shown_with_the_navigation(console, critical, firestore, at,
                                                                               monkeypatch):
    at(local("2026-11-30 10:00:00"))   # next Monday: Dev D hands over, neither on call nor the lead
    before = still(firestore)
    refused_on(post(console, f"/incidents/{critical}/severity", severity="low"), 403, '<span class="sev',
               "only the on-call or the team lead may change the severity, not dev-d")
    assert still(firestore) == before


# ---------------------------------------------------------------- public status updates

STATUS_FORM = {"status": "investigating", "title": "Checkout is failing", "message": "Some payments fail.",
               "impact": "About 1 in 10 payments fails", "eta": "within the hour", "next_update_minutes": "30",
               "component_status": "partial_outage"}


def test_a_status_update_is_previewed_as_it_will_read_then_posted_as_the_person(console, critical, firestore):
    page = console.get(f"/incidents/{critical}/status-updates").get_data(as_text=True)
    key = re.search(r'name="id" value="([0-9a-f]{24})"', page)[1]
    before = still(firestore)
    r = post(console, f"/incidents/{critical}/status-updates", id=key, preview="1", **STATUS_FORM)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and NAV in html
    assert still(firestore) == before   # a preview stores nothing
    shown = unescape(re.search(r'<pre id="preview-text">(.*?)</pre>', html, re.S)[1])
    assert shown.startswith("## Status Update - petties-backend\n\n**Status:** 🔴 Investigating")
    assert "will update every 30 minutes" in shown
    assert unescape(re.search(r'<pre id="preview-body">(.*?)</pre>', html, re.S)[1]).startswith(
        "Status: 🔴 Investigating\nIssue: Some payments fail.")
    assert re.search(r'<strong id="preview-title">Checkout is failing</strong>', html)
    assert f'name="id" value="{key}"' in html and ">Some payments fail.</textarea>" in html   # the form, kept
    assert '<option value="partial_outage" selected>' in html

    r = post(console, f"/incidents/{critical}/status-updates", id=key, **STATUS_FORM)
    assert (r.status_code, r.headers["Location"]) == (303, f"/incidents/{critical}/status-updates?done=status-update")
    [update] = update_store.of_incident(critical)
    assert (update["by"], update["next_update_minutes"], update["component_status"], update["title"]) == (
        "dev-d", 30, "partial_outage", "Checkout is failing")
    assert update_rules.markdown(update, "petties-backend") == shown   # what the preview said is what was posted
    assert (last(critical)["actor"], last(critical)["action"]) == ("dev-d", "status update")
    again = post(console, f"/incidents/{critical}/status-updates", id=key, **STATUS_FORM)   # sent twice: one update
    assert again.status_code == 303 and len(update_store.of_incident(critical)) == 1
    listed = console.get(r.headers["Location"]).get_data(as_text=True)
    assert "Status update posted." in listed and "#1 · 2026-11-24 10:00:00 +07:00 · Dev D" in listed


@pytest.mark.parametrize(("fields", "said"), [
    ({**STATUS_FORM, "title": ""}, "title is missing: the first status update gives the incident its public title"),
    ({**STATUS_FORM, "next_update_minutes": "2"}, "next_update_minutes: expected 5 to 1440, got 2"),
    ({**STATUS_FORM, "status": "fixed"}, "status: expected one of investigating, identified, monitoring, resolved"),
])
@pytest.mark.parametrize("preview", ["1", ""])
def test_a_status_update_refused_is_shown_on_its_page_filled_in(console, critical, firestore, fields, said, preview):
    before = still(firestore)
    r = post(console, f"/incidents/{critical}/status-updates", preview=preview, **fields)
    html = refused_on(r, 400, "Public status update for", said)
    assert ">Some payments fail.</textarea>" in html and 'value="About 1 in 10 payments fails"' in html
    assert still(firestore) == before


def test_without_discord_the_status_update_is_by_whoever_the_form_says(console_app, firestore, critical):
    client = console_app.test_client()
    form = client.get("/login").get_data(as_text=True)
    assert client.post("/login", data={"csrf": csrf_of(form), "token": "test-api-token",
                                       "actor": "dev-a"}).status_code == 303
    page = client.get(f"/incidents/{critical}/status-updates").get_data(as_text=True)
    assert '<select name="actor" required>' in page   # self-declared
    r = client.post(f"/incidents/{critical}/status-updates", data={"csrf": csrf_of(page), "actor": "dev-b",
                                                                   **STATUS_FORM})
    assert r.status_code == 303
    assert [u["by"] for u in update_store.of_incident(critical)] == ["dev-b"]


# ---------------------------------------------------------------- silences

def test_a_silence_made_from_an_incident_matches_its_service_and_title_and_is_on_its_timeline(console, critical):
    page = console.get(f"/silences?incident={critical}").get_data(as_text=True)
    form = page[page.index('id="silence"'):]
    assert f'<input type="hidden" name="incident" value="{critical}">' in form
    assert 'name="service" maxlength="200" value="petties-backend"' in form
    assert 'name="title" maxlength="200" value="Checkout fails with HTTP 500"' in form
    assert 'name="include_critical" value="1">' in form   # never ticked for the person
    r = post(console, "/silences", incident=critical, service="petties-backend",
             title="Checkout fails with HTTP 500", duration="2h", comment="fix deploying", include_critical="1",
             actor="dev-a", environment="", start="", end="")
    assert (r.status_code, r.headers["Location"]) == (303, "/silences?done=silenced-critical")
    [silence] = silence_store.ending_after(NOW)
    assert silence["matchers"] == {"service": "petties-backend", "title": "Checkout fails with HTTP 500"}
    assert (silence["created_by"], silence["include_critical"], silence["incident"]) == ("dev-d", True, critical)
    assert silence["end"] == NOW + timedelta(hours=2)
    entry = last(critical)
    assert (entry["actor"], entry["action"]) == ("dev-d", "silence")
    assert entry["detail"].startswith("service=petties-backend, title=Checkout fails with HTTP 500 until "
                                      "2026-11-24 12:00:00 +07:00: fix deploying (silence ")
    listed = console.get(r.headers["Location"]).get_data(as_text=True)
    assert "Open Critical incidents match it" in listed and "End now" in listed
    assert f'<a href="/incidents/{critical}">made from {critical}</a>' in listed


def test_a_silence_from_scratch_ends_when_it_says_and_is_ended_by_the_person(console, critical):
    r = post(console, "/silences", severity="low", environment="staging", end="2026-11-24T18:00",
             comment="load test")
    assert (r.status_code, r.headers["Location"]) == (303, "/silences?done=silenced")
    [silence] = silence_store.ending_after(NOW)
    assert silence["matchers"] == {"environment": "staging", "severity": "low"} and "incident" not in silence
    assert (silence["end"], silence["include_critical"]) == (local("2026-11-24 18:00:00"), False)
    assert store.get_incident(critical).timeline[-1]["action"] != "silence"   # made from no incident
    r = post(console, f"/silences/{silence['id']}/end")
    assert (r.status_code, r.headers["Location"]) == (303, "/silences?done=silence-ended")
    ended = silence_store.get(silence["id"])
    assert (ended["end"], ended["expired_by"]) == (NOW, "dev-d")


@pytest.mark.parametrize(("fields", "status", "said"), [
    ({"service": "petties-backend", "duration": "30d", "comment": "quiet month"}, 400, "a silence may last at most"),
    ({"duration": "1h", "comment": "quiet month"}, 400, "matchers: give at least one of"),
    ({"service": "petties-backend", "duration": "1h", "end": "2026-11-24T18:00", "comment": "quiet month"}, 400,
     "give end or duration, not both"),
    ({"service": "petties-backend", "duration": "1h", "comment": "quiet month", "incident": "INC-ZZZZZZ"}, 400,
     "incident: no incident 'INC-ZZZZZZ'"),
])
def test_a_refused_silence_is_shown_on_the_silences_page_filled_in(console, firestore, fields, status, said):
    before = still(firestore)
    html = refused_on(post(console, "/silences", **fields), status, "Silences", said)
    assert 'name="comment" maxlength="500" required value="quiet month"' in html
    assert still(firestore) == before


def test_ending_a_silence_that_is_not_there_is_refused_on_the_silences_page(console, firestore):
    before = still(firestore)
    refused_on(post(console, "/silences/0123456789ab/end"), 404, "Silences", "no silence '0123456789ab'")
    assert still(firestore) == before


# ---------------------------------------------------------------- postmortems

@pytest.fixture
def postmortem(console, critical, escalate, at) -> str:
    """Given the Critical resolved by Dev D and its postmortem drafted by the sweep."""
    assert post(console, f"/incidents/{critical}/resolve", confirm="1").status_code == 303
    sweep(escalate, NOW + timedelta(minutes=5))   # postmortem work runs at :00, :05, ...
    delivery.wait_idle()
    at(NOW + timedelta(minutes=6))
    assert postmortem_store.get(critical) is not None
    return critical


def test_each_section_is_edited_as_the_person(console, postmortem):
    page = console.get(f"/postmortems/{postmortem}").get_data(as_text=True)
    assert re.search(r'<textarea name="summary" rows="5" required></textarea>', page)   # the draft's prompt: blank
    r = post(console, f"/postmortems/{postmortem}", summary="Checkout failed for 40 minutes.")
    assert (r.status_code, r.headers["Location"]) == (303, f"/postmortems/{postmortem}?done=postmortem")
    r = post(console, f"/postmortems/{postmortem}", went_well="Paged within a minute\n\n  Rolled back fast  \n")
    assert r.status_code == 303
    stored = postmortem_store.get(postmortem)
    assert stored["summary"] == "Checkout failed for 40 minutes."
    assert stored["went_well"] == ["Paged within a minute", "Rolled back fast"]
    assert (stored["updated_by"], stored["version"]) == ("dev-d", 3)
    page = console.get(f"/postmortems/{postmortem}").get_data(as_text=True)
    assert ">Checkout failed for 40 minutes.</textarea>" in page and "Postmortem saved." not in page
    assert ">Paged within a minute\nRolled back fast</textarea>" in page


def test_action_items_are_added_changed_and_ticked_as_the_person(console, postmortem):
    r = post(console, f"/postmortems/{postmortem}/action-items", action="Alert on pool usage > 80%", owner="dev-b",
             deadline="2026-12-01")
    assert (r.status_code, r.headers["Location"]) == (303, f"/postmortems/{postmortem}?done=item-added")
    assert post(console, f"/postmortems/{postmortem}/action-items/1", owner="dev-c",
                deadline="2026-12-08").headers["Location"] == f"/postmortems/{postmortem}?done=item-changed"
    r = post(console, f"/postmortems/{postmortem}/action-items/1", done="1")
    assert r.headers["Location"] == f"/postmortems/{postmortem}?done=item-done"
    [item] = postmortem_store.get(postmortem)["action_items"]
    assert {k: item[k] for k in ("action", "owner", "deadline", "done", "done_at", "done_by", "created_by")} == {
        "action": "Alert on pool usage > 80%", "owner": "dev-c", "deadline": "2026-12-08", "done": True,
        "done_at": NOW + timedelta(minutes=6), "done_by": "dev-d", "created_by": "dev-d"}
    page = console.get(f"/postmortems/{postmortem}?done=item-done").get_data(as_text=True)
    assert "Action item done." in page and "✅ done (Dev D)" in page and ">Reopen</button>" in page
    assert post(console, f"/postmortems/{postmortem}/action-items/1", done="0").status_code == 303
    [item] = postmortem_store.get(postmortem)["action_items"]
    assert (item["done"], item["done_by"], item["changed_by"]) == (False, None, "dev-d")


def test_the_review_is_marked_by_the_person(console, postmortem):
    r = post(console, f"/postmortems/{postmortem}/reviewed")
    assert (r.status_code, r.headers["Location"]) == (303, f"/postmortems/{postmortem}?done=reviewed")
    stored = postmortem_store.get(postmortem)
    assert (stored["reviewed_by"], stored["reviewed_at"]) == ("dev-d", NOW + timedelta(minutes=6))
    assert "Reviewed 2026-11-24 10:06:00 +07:00 by Dev D." in console.get(f"/postmortems/{postmortem}").get_data(
        as_text=True)


@pytest.mark.parametrize(("path", "fields", "status", "said"), [
    ("", {"summary": "  "}, 400, "summary: expected text"),
    ("/action-items", {"action": "Load test", "owner": "dev-b", "deadline": "next week"}, 400,
     "deadline: expected YYYY-MM-DD, got 'next week'"),
    ("/action-items", {"action": "Load test", "owner": "nobody", "deadline": "2026-12-01"}, 400, "nobody"),
    ("/action-items/7", {"done": "1"}, 404, "no action item 7"),
    ("/action-items/x", {"done": "1"}, 404, "no action item 'x'"),
])
def test_a_refused_postmortem_form_is_shown_on_the_postmortem_page(console, postmortem, firestore, path, fields,
                                                                  status, said):
    before = still(firestore)
    html = refused_on(post(console, f"/postmortems/{postmortem}{path}", **fields), status, "Postmortem of", said)
    assert still(firestore) == before
    if path == "/action-items":
        assert 'name="action" maxlength="500" required value="Load test"' in html


def test_a_postmortem_form_for_an_incident_without_one_is_refused_with_the_navigation(console, critical, firestore):
    before = still(firestore)
    r = post(console, f"/postmortems/{critical}/reviewed")
    html = r.get_data(as_text=True)
    assert r.status_code == 404 and NAV in html and f"{critical} has no postmortem" in html
    assert still(firestore) == before


# ---------------------------------------------------------------- on call and the handoff

def test_a_handoff_note_is_the_persons(console, firestore):
    r = post(console, "/handoff/notes", text="Watch the payment retries tonight", actor="dev-a")
    assert (r.status_code, r.headers["Location"]) == (303, "/handoff?done=handoff-note")
    [note] = [d for k, d in dump_firestore(firestore).items() if k.startswith("handoff_notes/")]
    assert (note["actor"], note["text"]) == ("dev-d", "Watch the payment retries tonight")
    page = console.get("/handoff?done=handoff-note").get_data(as_text=True)
    assert "Handoff note added." in page and "Watch the payment retries tonight" in page
    before = still(firestore)
    refused_on(post(console, "/handoff/notes", text=" "), 400, "Handoff", "text is missing")
    assert still(firestore) == before


def test_overrides_are_added_and_removed_and_their_refusals_keep_the_navigation(console, firestore):
    assert post(console, "/oncall/overrides", covering="dev-c", end="2026-11-24T18:00").status_code == 303
    [override] = oncall_store.overrides_ending_after(NOW)
    assert override["created_by"] == "dev-d"
    before = still(firestore)
    refused_on(post(console, "/oncall/overrides", covering="dev-c", start="2026-11-24T18:00",
                    end="2026-11-24T12:00"), 400, "On call", "end must be after start")
    refused_on(post(console, "/oncall/overrides/nope/delete"), 404, "On call", "no override 'nope'")
    assert still(firestore) == before
    r = post(console, f"/oncall/overrides/{override['id']}/delete")
    assert (r.status_code, r.headers["Location"]) == (303, "/oncall?done=removed")
    assert oncall_store.overrides_ending_after(NOW) == []


# ---------------------------------------------------------------- CSRF, and refusals without a form

FORMS = {"/incidents/{id}/ack": {"detail": "x"}, "/incidents/{id}/investigating": {"detail": "x"},
         "/incidents/{id}/fixing": {"detail": "x"}, "/incidents/{id}/deploying": {"detail": "x"},
         "/incidents/{id}/resolve": {"confirm": "1"}, "/incidents/{id}/invalid": {"confirm": "1"},
         "/incidents/{id}/flag": {"flag": "security"}, "/incidents/{id}/status-updates": STATUS_FORM,
         "/silences": {"service": "petties-backend", "duration": "1h", "comment": "x"},
         "/silences/0123456789ab/end": {"actor": "dev-a"}, "/postmortems/{id}": {"summary": "x"},
         "/postmortems/{id}/action-items": {"action": "x", "owner": "dev-b", "deadline": "2026-12-01"},
         "/postmortems/{id}/action-items/1": {"done": "1"}, "/postmortems/{id}/reviewed": {"actor": "dev-a"},
         "/handoff/notes": {"text": "x"}, "/oncall/overrides": {"covering": "dev-c", "end": "2026-11-24T18:00"}}


@pytest.mark.parametrize("path", FORMS)
@pytest.mark.parametrize("csrf", [None, "", "forged", "other session"])
def test_a_form_without_the_sessions_csrf_token_changes_nothing(console, critical, firestore, path, csrf):
    if csrf == "other session":   # a valid token, of another person's session
        csrf = session.csrf(session.read(session.start("dev-a", via="discord")))
    before = still(firestore)
    r = console.post(path.replace("{id}", critical), data={**FORMS[path], **({} if csrf is None else {"csrf": csrf})})
    html = r.get_data(as_text=True)
    assert r.status_code == 403 and "CSRF" in html and NAV in html, html[:1000]
    assert still(firestore) == before


def test_a_page_that_is_not_there_is_refused_inside_the_layout(console):
    r = console.get("/incidents/INC-ZZZZZZ")
    html = r.get_data(as_text=True)
    assert r.status_code == 404 and NAV in html and "Sign out" in html and "Refused (404)" in html
