"""Shared test setup: the real Firestore emulator, signed requests, the real entry points."""
from __future__ import annotations

import functools
import json
import os
import threading
import uuid
from pathlib import Path

import pytest

from shared.sources.common import hmac_sha256

# Secrets the tests sign with; set before shared.config reads them (once per process).
os.environ["SENTRY_CLIENT_SECRET"] = "test-sentry-secret"
os.environ["INGEST_TOKEN"] = "test-ingest-token"
os.environ["API_TOKEN"] = "test-api-token"
os.environ["GRAFANA_WEBHOOK_SECRET"] = "test-grafana-secret"
os.environ["PAGERDUTY_ROUTING_KEYS"] = "R" * 32 + "=petties-backend," + "S" * 32 + "=ai-service"
# Discord signs interactions with the application's Ed25519 key: a real key pair, made for this run
from nacl.signing import SigningKey

DISCORD_KEY = SigningKey.generate()
os.environ["DISCORD_PUBLIC_KEY"] = DISCORD_KEY.verify_key.encode().hex()
# One Firestore project per pytest-xdist worker: the emulator keeps projects apart, so each worker wipes its own
os.environ["GOOGLE_CLOUD_PROJECT"] = os.environ.get("GOOGLE_CLOUD_PROJECT", "demo-incidents-test") + (
    f"-{os.environ['PYTEST_XDIST_WORKER']}" if os.environ.get("PYTEST_XDIST_WORKER") else "")
os.environ.pop("INCIDENT_CONFIG", None)

pytest_plugins = ("tests.notify_fixtures",)  # the `channels` fixture: fakes for Discord, GitHub, SMTP

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
SENTRY_SECRET = b"test-sentry-secret"
# How many examples the property and fuzz tests draw: the suite's count keeps it within its three minutes;
# TEST_THOROUGH=4 (any factor) draws that many times more, for a deeper run before a release.
THOROUGH = max(int(os.environ.get("TEST_THOROUGH", "1") or 1), 1)


def examples(n: int) -> int:
    """The number of examples a property or fuzz test draws: n, times TEST_THOROUGH."""
    return n * THOROUGH


def pytest_collection_modifyitems(items):
    """Start the slow tests first: run in parallel, a long test that starts last holds the whole run up."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@functools.cache
def http():
    """One HTTP client for the whole run, shared by threads: making one loads the system's CA certificates (about
    25 ms of CPU), which a test sending a thousand requests would otherwise pay a thousand times."""
    import httpx
    return httpx.Client(timeout=60, limits=httpx.Limits(max_connections=100, max_keepalive_connections=32))


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict:
    return json.loads(fixture_bytes(name))


def sentry_headers(body: bytes, resource: str, request_id: str | None = None, secret: bytes = SENTRY_SECRET) -> dict:
    """Headers exactly as Sentry's integration platform sends them (https://docs.sentry.io/organization/integrations/integration-platform/webhooks/)."""
    return {
        "Content-Type": "application/json",
        "Request-ID": request_id or uuid.uuid4().hex,
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Timestamp": "1795788950",
        "Sentry-Hook-Signature": hmac_sha256(secret, body),
    }


@pytest.fixture(autouse=True)
def fresh_environment():
    """Read the environment and the team file again for each test: a test that changed either (monkeypatch
    restores them afterwards) must not leave its settings cached for the next."""
    from shared.config import config
    from shared.config.settings import settings
    settings.cache_clear()
    config.cache_clear()


def install_team(monkeypatch, cfg):
    """Run the product with `cfg` as its team file until the test ends; return it."""
    from shared.config import loading
    monkeypatch.setattr(loading, "_replaced", cfg)
    return cfg


@pytest.fixture
def use_team(monkeypatch):
    """use_team(cfg): run the product with another team file (tests/teams.py makes variants) for this test."""
    return lambda cfg: install_team(monkeypatch, cfg)


@pytest.fixture(scope="session")
def emulator_host() -> str:
    host = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if not host:
        pytest.fail("FIRESTORE_EMULATOR_HOST is not set: run the suite with ./deploy.sh test")
    return host


@pytest.fixture
def firestore(emulator_host):
    """Give a test an empty Firestore emulator database, and the client the product uses."""
    from shared.store.client import client

    wipe_firestore()
    return client()


def wipe_firestore() -> None:
    """Empty this worker's emulator database, and forget what the process knew of it."""
    from shared import cache
    from shared.incidents.hot import KEYS
    from shared.notify import delivery

    delivery.wait_idle()  # a previous test's background sends must not land in this test's database
    delivery.reset_pacing()
    cache.forget_all()  # what this process read from the database it is about to wipe
    KEYS.reset()  # what this process learnt of the keys in the database it is about to wipe
    project = os.environ["GOOGLE_CLOUD_PROJECT"]
    url = f"http://{os.environ['FIRESTORE_EMULATOR_HOST']}/emulator/v1/projects/{project}/databases/(default)/documents"
    http().delete(url, timeout=30).raise_for_status()


@pytest.fixture
def robot(monkeypatch, firestore):
    """UptimeRobot's API at the HTTP boundary (tests/fakes/uptimerobot.py), with the settings pointed at it."""
    from shared.config.settings import settings
    from tests.fakes.uptimerobot import FakeUptimeRobot

    fake = FakeUptimeRobot().serve()
    monkeypatch.setenv("UPTIMEROBOT_API_KEY", fake.api_key)
    monkeypatch.setenv("UPTIMEROBOT_API_URL", f"{fake.base_url}/v2")
    settings.cache_clear()
    yield fake
    monkeypatch.delenv("UPTIMEROBOT_API_KEY", raising=False)
    monkeypatch.delenv("UPTIMEROBOT_API_URL", raising=False)
    settings.cache_clear()
    fake.stop()


@pytest.fixture
def clock():
    """Run the product by a FakeClock (tests/fakes/clock.py) that moves only when the test (or a pause) moves it."""
    from shared import clock as product_clock
    from tests.fakes.clock import FakeClock

    fake = FakeClock()
    with product_clock.use(fake):
        yield fake


SUBCOLLECTIONS = ("timeline_archive", "action_items")   # the data model's subcollections (store/timeline.py,
#                                                         store/postmortems.py)


def dump_firestore(db) -> dict:
    """Return every document: of every top-level collection, and of the subcollections the data model has."""
    found = {snap.reference.path: snap.to_dict() for collection in db.collections() for snap in collection.stream()}
    for group in SUBCOLLECTIONS:
        found.update({snap.reference.path: snap.to_dict() for snap in db.collection_group(group).stream()})
    return found


def restore_firestore(db, state: dict) -> None:
    """Make the emulator hold exactly `state` (a dump_firestore), faster than making it again through the product."""
    wipe_firestore()
    items = list(state.items())
    for start in range(0, len(items), 400):
        batch = db.batch()
        for path, data in items[start:start + 400]:
            batch.set(db.document(path), data)
        batch.commit()


def function_app(name: str):
    """Load functions/<name>/main.py exactly as Cloud Functions does (its real entry point)."""
    import functions_framework
    return functions_framework.create_app(target=name, source=str(ROOT / "functions" / name / "main.py"))


@pytest.fixture(scope="session")
def ingest_app():
    return function_app("ingest")


@pytest.fixture(scope="session")
def api_app():
    return function_app("api")


@pytest.fixture(scope="session")
def escalate_app():
    return function_app("escalate")


@pytest.fixture
def ingest(ingest_app, firestore):
    return ingest_app.test_client()


@pytest.fixture
def api(api_app, firestore):
    client = api_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer test-api-token"
    return client


@pytest.fixture(scope="session")
def summary_app():
    return function_app("daily_summary")


@pytest.fixture
def daily(summary_app, firestore):
    return summary_app.test_client()


@pytest.fixture(scope="session")
def interactions_app():
    return function_app("interactions")


@pytest.fixture
def interactions(interactions_app, firestore):
    return interactions_app.test_client()


def discord_signed(body: bytes, key: SigningKey = DISCORD_KEY, timestamp: str | None = None) -> dict:
    """Headers exactly as Discord sends an interaction: Ed25519 over timestamp (by default the request's now, as the
    product's clock tells it) + raw body."""
    if timestamp is None:
        from shared.web import http as web_http
        timestamp = str(int(web_http.now().timestamp()))
    signature = key.sign(timestamp.encode() + body).signature.hex()
    return {"Content-Type": "application/json", "X-Signature-Ed25519": signature, "X-Signature-Timestamp": timestamp}


@pytest.fixture
def escalate(escalate_app, firestore):
    return escalate_app.test_client()


@pytest.fixture(scope="session")
def live_server():
    """Serve every function on a real HTTP server on a free port, as ./deploy.sh local does."""
    from shared.local.server import make_local_server

    server = make_local_server(quiet=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


CHROMIUM = "/usr/bin/chromium"   # Debian's package: Playwright's own browser downloads are not used
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium through Playwright, for the tests that look at a page as a person would."""
    import shutil
    if not shutil.which(CHROMIUM):
        pytest.skip(f"BROWSER TEST SKIPPED: {CHROMIUM} is missing; install Debian's chromium "
                    "(apt-get install chromium) to see the pages as a person would")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
