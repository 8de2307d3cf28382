"""The lock files: requirements.lock pins exactly what requirements.txt asks for (what the functions ship, staged as
their requirements.txt), requirements-dev.lock pins the same versions and the tools', and every pin has its hashes.
When requirements.txt changes and the lock does not, these fail: run ./deploy.sh lock."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
FIX = "run ./deploy.sh lock"


def wanted(path: Path) -> dict[str, Requirement]:
    """The requirements a requirements file names itself and through its -r includes, by package name."""
    out: dict[str, Requirement] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#")[0].strip()
        if line.startswith("-r "):
            out.update(wanted(path.parent / line[3:].strip()))
        elif line and not line.startswith("-"):
            req = Requirement(line)
            out[canonicalize_name(req.name)] = req
    return out


def pinned(path: Path) -> dict[str, tuple[str, set[str]]]:
    """The pins of a lock file: package name -> (version, its sha256 hashes)."""
    text = path.read_text().replace("\\\n", " ")
    out = {}
    for line in text.splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            spec = line.split()[0]
            name, _, version = spec.partition("==")
            out[canonicalize_name(name)] = (version, set(re.findall(r"--hash=sha256:([0-9a-f]{64})", line)))
    return out


def via_requirements_file(path: Path, source: str) -> set[str]:
    """The packages the lock says are there because `source` names them directly."""
    names, current = set(), None
    for line in path.read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            current = canonicalize_name(line.split("==")[0])
        elif current and re.search(rf"#\s+(via\s+)?-r {re.escape(source)}\b", line):
            names.add(current)
    return names


@pytest.mark.parametrize("source, lock", [("requirements.txt", "requirements.lock"),
                                          ("requirements-dev.txt", "requirements-dev.lock")])
def test_the_lock_pins_what_the_requirements_ask_for_each_with_its_hashes(source, lock):
    asked, pins = wanted(ROOT / source), pinned(ROOT / lock)
    missing = sorted(set(asked) - set(pins))
    assert not missing, f"{lock} does not pin {missing}: {FIX}"
    outside = sorted(f"{name}=={pins[name][0]} ({req.specifier})" for name, req in asked.items()
                     if not req.specifier.contains(pins[name][0], prereleases=True))
    assert not outside, f"{lock} pins versions {source} does not allow: {outside}: {FIX}"
    stale = sorted(via_requirements_file(ROOT / lock, source) - set(wanted(ROOT / source).keys())
                   - set(wanted(ROOT / "requirements.txt").keys()))
    assert not stale, f"{lock} still pins {stale}, which {source} no longer names: {FIX}"
    unhashed = sorted(name for name, (_, hashes) in pins.items() if not hashes)
    assert not unhashed, f"{lock} has pins without a hash: {unhashed}"


def test_the_tools_lock_holds_the_functions_versions_exactly():
    runtime, dev = pinned(ROOT / "requirements.lock"), pinned(ROOT / "requirements-dev.lock")
    differ = sorted(f"{name}: {version} shipped, {dev.get(name, ('none',))[0]} tested"
                    for name, (version, _) in runtime.items() if dev.get(name, (None,))[0] != version)
    assert not differ, f"the tests would not run what the functions ship: {differ}: {FIX}"


def test_the_staged_function_installs_the_lock(tmp_path):
    from deploy import stage
    folder = stage.stage("ingest", ROOT / "tests" / "fixtures" / "deploy" / "team.yaml", tmp_path)
    assert (folder / "requirements.txt").read_bytes() == (ROOT / "requirements.lock").read_bytes()
