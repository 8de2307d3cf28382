"""./deploy.sh doctor's line on Sentry in step: off (optional) without SENTRY_API_TOKEN or sentry.organization, on
when the token reaches the organization's issues (one GET, nothing changed), a failure naming the fix otherwise."""
from __future__ import annotations

import pytest
import yaml

from shared.config import DEFAULT_CONFIG
from tests.fakes.sentry_api import FakeSentryApi
from tests.test_doctor import run, vendors  # noqa: F401  (the doctor's fakes and its runner)


@pytest.fixture
def sentry(vendors, monkeypatch, tmp_path):  # noqa: F811
    """Sentry's API with the token set, and a team file naming the organization."""
    fake = FakeSentryApi().serve()
    team = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    team["sentry"] = {"organization": "petties"}
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump(team, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("INCIDENT_CONFIG", str(path))
    monkeypatch.setenv("SENTRY_API_TOKEN", fake.token)
    monkeypatch.setenv("SENTRY_API_URL", fake.base_url)
    yield fake
    fake.stop()


def test_sentry_resolution_is_on_when_the_token_reaches_the_organization(sentry, capsys):
    code, lines = run(capsys)
    assert lines["Sentry resolution"].startswith("✓ Sentry resolution: on:") and "petties" in lines["Sentry resolution"]
    assert [(r["method"], r["path"]) for r in sentry.requests] == [("GET", "/api/0/organizations/petties/issues/")]
    assert sentry.updates == [] and sentry.token not in "\n".join(lines.values())


@pytest.mark.parametrize(("breaks", "status", "says"), [
    (lambda fake: setattr(fake, "token", "another"), 401, "SENTRY_API_TOKEN"),
    (lambda fake: setattr(fake, "scopes", ()), 403, "event:write"),
    (lambda fake: setattr(fake, "organization", "someone-else"), 404, "sentry.organization")])
def test_a_token_sentry_refuses_is_a_fail_line_naming_the_fix(sentry, capsys, breaks, status, says):
    breaks(sentry)
    code, lines = run(capsys)
    assert code == 1 and lines["Sentry resolution"].startswith(f"✗ Sentry resolution: Sentry answered {status}")
    assert says in lines["Sentry resolution"]


@pytest.mark.parametrize("unset", ["token", "organization"])
def test_without_the_token_or_the_organization_it_is_off_and_optional(sentry, capsys, monkeypatch, unset):
    if unset == "token":
        monkeypatch.delenv("SENTRY_API_TOKEN")
    else:
        monkeypatch.delenv("INCIDENT_CONFIG")
    monkeypatch.setenv("API_TOKEN", "t" * 32)
    code, lines = run(capsys)
    assert lines["Sentry resolution"].startswith("✓ Sentry resolution: off (optional)")
    assert ("SENTRY_API_TOKEN" if unset == "token" else "sentry.organization") in lines["Sentry resolution"]
    assert sentry.requests == []
