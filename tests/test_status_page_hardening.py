"""The public status page against a hostile visitor and a long outage: its links come from PUBLIC_URL, never from
the request's Host or X-Forwarded-Host; an answer a shared cache may keep is the same whatever the request's
headers, and one that depends on them is never kept; the page and the JSON list the 50 most recent incidents
however many are open.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config import ConfigError
from shared.config.settings import Settings, settings
from shared.status import page as status_page
from shared.store import status_updates as updates_store
from tests.notify_fixtures import sentry_alert
from tests.test_status_page import NOW, incidents, status  # noqa: F401  (fixtures: the test client, incidents)

EVIL = "evil.example"
BASE = "https://asia-southeast1-petties-incidents.cloudfunctions.net"
DOCUMENTS = ("summary", "status", "components", "incidents", "incidents/unresolved", "scheduled-maintenances",
             "scheduled-maintenances/upcoming", "scheduled-maintenances/active")
PATHS = ("/", *(f"/api/v2/{d}.json" for d in DOCUMENTS))
HOSTILE_HEADERS = ({"Host": EVIL}, {"X-Forwarded-Host": EVIL}, {"Forwarded": f"host={EVIL};proto=http"},
                   {"Host": EVIL, "X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "http", "X-Forwarded-Port": "8443"})
# what browsers, crawlers and caches send; none of it may change an answer a shared cache keeps under the URL alone
ORDINARY_HEADERS = ({"Accept": "application/json"}, {"Accept": "text/html"}, {"Accept-Encoding": "gzip, br"},
                    {"Accept-Language": "vi-VN"}, {"Cookie": "session=x"}, {"User-Agent": "curl/8"},
                    {"If-None-Match": '"x"'}, {"Origin": f"https://{EVIL}"})


def use_public_url(monkeypatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("PUBLIC_URL", raising=False)
    else:
        monkeypatch.setenv("PUBLIC_URL", value)
    settings.cache_clear()


def shortlinks(status) -> list[str]:  # noqa: F811
    listed = status.get("/api/v2/incidents.json").get_json()["incidents"]
    assert listed
    return [i["shortlink"] for i in listed]


# ---------------------------------------------------------------- links: PUBLIC_URL, never Host

@pytest.mark.parametrize("public_url", [None, BASE])
def test_host_and_forwarded_host_never_reach_the_page_or_the_json(status, incidents, monkeypatch,  # noqa: F811
                                                                   public_url):
    # Given the status page with incidents, with or without PUBLIC_URL; when a visitor sends a host of its own
    use_public_url(monkeypatch, public_url)
    for headers in HOSTILE_HEADERS:
        for path in PATHS:
            r = status.get(path, headers=headers)
            # Then no answer names it: not the page URL, not a shortlink, not a link
            assert r.status_code == 200, path
            assert EVIL not in r.get_data(as_text=True) and EVIL not in str(r.headers), (path, headers)


def test_public_url_gives_the_page_url_the_shortlinks_and_the_links(status, incidents, monkeypatch):  # noqa: F811
    # Given PUBLIC_URL, the base the functions are served under (a trailing slash is dropped)
    use_public_url(monkeypatch, BASE + "/")
    # When a visitor with a hostile Host reads the JSON and the page
    summary = status.get("/api/v2/summary.json", headers={"Host": EVIL}).get_json()
    html = status.get("/", headers={"Host": EVIL, "X-Forwarded-Host": EVIL}).get_data(as_text=True)
    # Then the page is the status function under PUBLIC_URL, and every link starts there
    assert summary["page"]["url"] == f"{BASE}/status/"
    assert summary["incidents"] and all(i["shortlink"] == f"{BASE}/status/#incident-{i['id']}"
                                        for i in summary["incidents"])
    assert all(link.startswith(f"{BASE}/status/#incident-") for link in shortlinks(status))
    assert f'href="{BASE}/status/api/v2/summary.json"' in html


def test_without_public_url_the_links_are_relative(status, incidents, monkeypatch):  # noqa: F811
    # Given no PUBLIC_URL; when a visitor reads the JSON and the page
    use_public_url(monkeypatch, None)
    summary = status.get("/api/v2/summary.json").get_json()
    html = status.get("/").get_data(as_text=True)
    # Then the links are paths on whatever host the reader used (the status function's mount), never a host
    assert summary["page"]["url"] == "/status/"
    assert all(link.startswith("/status/#incident-") for link in shortlinks(status))
    assert 'href="/status/api/v2/summary.json"' in html and "localhost" not in html


@pytest.mark.parametrize("value", ["status.petties.world", "ftp://petties.world", "https://", "javascript:alert(1)",
                                   "https://petties.world/?a=1", "https://user@petties.world", "https://a b.example"])
def test_a_public_url_that_is_not_a_base_url_stops_the_function_from_starting(value):
    with pytest.raises(ConfigError) as e:
        Settings.from_env({"PUBLIC_URL": value})
    assert str(e.value).startswith("environment: PUBLIC_URL: ")


# ---------------------------------------------------------------- what a shared cache may keep

def test_a_cacheable_answer_is_the_same_whatever_the_request_headers(status, incidents, monkeypatch):  # noqa: F811
    # Given PUBLIC_URL; when the same URL is asked with the headers visitors, crawlers and attackers send
    use_public_url(monkeypatch, BASE)
    for path in PATHS:
        plain = status.get(path)
        assert plain.status_code == 200 and plain.headers["Cache-Control"] == "public, max-age=30", path
        for headers in (*HOSTILE_HEADERS, *ORDINARY_HEADERS):
            other = status.get(path, headers=headers)
            # Then the answer is byte for byte the same, headers included: nothing for a Vary to name
            assert (other.status_code, other.get_data(), sorted(other.headers.items())) == (
                plain.status_code, plain.get_data(), sorted(plain.headers.items())), (path, headers)
        assert "Vary" not in plain.headers


def test_an_answer_that_depends_on_a_request_header_is_never_kept_by_a_shared_cache(status, monkeypatch):  # noqa: F811
    # Given a GET whose Content-Length is not a byte count, or is over the body limit (a cached 400 or 413 would
    # be served to every visitor of the URL for 30 s)
    for length, code in (("abc", 400), (str(2 * 1024 * 1024), 413)):
        r = status.get("/", environ_overrides={"CONTENT_LENGTH": length})
        assert r.status_code == code and r.headers["Cache-Control"] == "no-store", length
    # while a 404 or a 405, which depend only on the method and the path, may be kept
    assert status.get("/api/v2/nothing.json").headers["Cache-Control"] == "public, max-age=30"
    assert status.post("/").headers["Cache-Control"] == "public, max-age=30"
    # and a 500, whose answer names the caller's Request-ID, is not
    monkeypatch.setattr(status_page, "compute", lambda now, cfg: 1 / 0)
    status_page.forget()
    r = status.get("/api/v2/summary.json", headers={"Request-ID": "caller-chosen-id"})
    assert r.status_code == 500 and r.get_json()["request_id"] == "caller-chosen-id"
    assert r.headers["Cache-Control"] == "no-store"


# ---------------------------------------------------------------- a long outage: 50 incidents at most

OPEN = 60
LISTED = 50   # Statuspage's incidents.json: the 50 most recent


@pytest.fixture
def many_open(ingest, firestore, monkeypatch) -> list[str]:
    """Given OPEN open Criticals on petties-backend, one a minute before NOW, each with a public title ("Outage
    <n>", n = 0 the oldest) and a person's "major outage": one real one from Sentry, copied in one batch. Return
    their ids, newest first."""
    real = sentry_alert(ingest, monkeypatch, NOW - timedelta(hours=2), "9201", "Pool exhausted", level="fatal")
    doc = firestore.collection("incidents").document(real["incident"]).get().to_dict()
    batch = firestore.batch()
    ids = []
    for n in range(OPEN):
        iid = f"INC-{9000 + n}"
        batch.set(firestore.collection("incidents").document(iid), {
            **doc, "id": iid, "key_doc": f"copy-{n}", "dedup_key": f"copy-{n}",
            "created_at": NOW - timedelta(minutes=OPEN - n),
            "status_page": {"title": f"Outage {n}", "status": "investigating", "component_status": "major_outage",
                            "count": 1, "updated_at": NOW - timedelta(minutes=OPEN - n)}})
        ids.insert(0, iid)
    batch.delete(firestore.collection("incidents").document(real["incident"]))
    batch.commit()
    monkeypatch.setattr("shared.web.http.now", lambda: NOW)
    return ids


def test_the_page_and_the_json_list_the_50_most_recent_incidents(status, many_open, monkeypatch):  # noqa: F811
    asked: list[str] = []
    real = updates_store.of_incidents
    monkeypatch.setattr(updates_store, "of_incidents", lambda ids, *a, **k: asked.extend(ids) or real(ids, *a, **k))
    newest = [f"Outage {n}" for n in range(OPEN - 1, OPEN - 1 - LISTED, -1)]
    # When a visitor reads the page and every incident document
    html = status.get("/").get_data(as_text=True)
    summary = status.get("/api/v2/summary.json").get_json()
    listed = status.get("/api/v2/incidents.json").get_json()["incidents"]
    unresolved = status.get("/api/v2/incidents/unresolved.json").get_json()["incidents"]
    # Then each lists the 50 most recent, newest first, and the older ten are left out
    for incidents_shown in (summary["incidents"], listed, unresolved):
        assert [i["name"] for i in incidents_shown] == newest
    assert html.count('class="incident"') == LISTED
    assert "Outage 59" in html and "Outage 10<" in html and "Outage 9<" not in html and "Outage 0<" not in html
    # and the people's updates are read for those 50 only
    assert sorted(set(asked)) == sorted(many_open[:LISTED])
    # while the state still counts every open incident
    assert summary["status"]["indicator"] == "critical"
    assert {c["name"]: c["status"] for c in summary["components"]}["petties-backend"] == "major_outage"
