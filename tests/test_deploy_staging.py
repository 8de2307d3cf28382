"""Each staged function folder runs on its own: a fresh virtual environment built only from the folder's
requirements.txt imports its entry point with only that folder on sys.path (as Cloud Functions builds it)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from deploy import stage, target

ROOT = Path(__file__).resolve().parents[1]
DEV_ONLY = ("pytest", "hypothesis", "ruff", "playwright", "aiosmtpd", "google-cloud-scheduler")
# What the entry point's folder must hold, and what a function never needs (the local tools, the deploy).
CHECK = """
import os, sys, functions_framework
app = functions_framework.create_app(target=sys.argv[1], source="main.py")
import shared
assert os.path.dirname(shared.__file__) == os.path.join(os.getcwd(), "shared"), shared.__file__
for absent in ("pytest", "google.cloud.scheduler_v1", "deploy", "shared.local"):
    try:
        __import__(absent)
    except ImportError:
        continue
    raise SystemExit(f"{absent} is importable in the staged function")
from shared.config import config
print("ok", sys.argv[1], config().team.name)
"""
# A function starts from its team file's checked form: neither pydantic nor PyYAML is loaded by its start, its
# settings, its team file or the first use of its config (shared/config/checked.py).
LEAN_START = """
import sys, functions_framework
app = functions_framework.create_app(target=sys.argv[1], source="main.py")
from shared.config import config
from shared.config.settings import settings
config().person(config().team_lead), settings()
print(" ".join(sorted(m for m in ("pydantic", "pydantic_core", "yaml", "re2") if m in sys.modules)) or "lean")
"""


def names(requirements: Path) -> set[str]:
    """Return the package names a requirements file installs."""
    lines = [line.split("#")[0].strip() for line in requirements.read_text().splitlines()]
    return {re.split(r"[<>=!~\[ ;]", line)[0].lower() for line in lines if line and not line.startswith("-")}


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> dict[str, Path]:
    dest = tmp_path_factory.mktemp("stage")
    return {name: stage.stage(name, ROOT / "tests" / "fixtures" / "deploy" / "team.yaml", dest)
            for name in target.discover()}


def test_each_folder_holds_its_entry_point_shared_the_team_file_and_only_runtime_requirements(staged):
    assert set(staged) == set(target.discover())
    for name, folder in staged.items():
        assert (folder / "main.py").read_bytes() == (ROOT / "functions" / name / "main.py").read_bytes()
        assert (folder / "shared" / "config" / "__init__.py").is_file() and (folder / "shared" / "templates").is_dir()
        assert not (folder / "shared" / "local").exists()
        assert (folder / target.TEAM_FILE).is_file()
        assert not names(folder / "requirements.txt") & set(DEV_ONLY)
        assert not list(folder.rglob("__pycache__"))
        assert (folder / "team.checked.json").is_file()


def test_a_staged_function_starts_from_the_checked_form_without_pydantic_or_yaml(staged, tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "INCIDENT_CONFIG": target.TEAM_FILE,
           "GOOGLE_CLOUD_PROJECT": "petties-incidents"}
    for name in ("ingest", "interactions", "escalate"):
        done = subprocess.run([sys.executable, "-c", LEAN_START, name], cwd=staged[name], env=env,
                              capture_output=True, text=True, timeout=60)
        assert (done.returncode, done.stdout.strip()) == (0, "lean"), f"{name}: {done.stderr[-2000:]}"
    # and a team file edited after staging is validated again, not read from the stale form
    folder = shutil.copytree(staged["ingest"], tmp_path / "edited")
    (folder / "team.yaml").write_text((folder / "team.yaml").read_text().replace("name: Petties", "name: Edited", 1))
    done = subprocess.run([sys.executable, "-c", LEAN_START.replace("config().team_lead)", "config().team_lead), "
                           "print(config().team.name)"), "ingest"], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.split() == ["Edited", "pydantic", "pydantic_core", "yaml"], done.stderr[-2000:]


def test_the_source_hash_follows_the_folders_content(staged, tmp_path):
    folder = next(iter(staged.values()))
    first = stage.digest(folder)
    assert stage.digest(folder) == first
    (folder / "team.yaml").write_text((folder / "team.yaml").read_text() + "\n# edited\n")
    assert stage.digest(folder) != first


@pytest.mark.slow  # builds a virtual environment and installs the runtime requirements into it
def test_each_staged_folder_imports_its_entry_point_in_a_fresh_venv_built_from_its_requirements(staged, tmp_path):
    # Given one fresh venv built from the folders' requirements (the same file in each: checked, then built once)
    files = {folder: (folder / "requirements.txt").read_text() for folder in staged.values()}
    assert len(set(files.values())) == 1
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)   # installed into by this pip (--python): no ensurepip
    python = env_dir / "bin" / "python"
    first = next(iter(staged.values()))
    # --no-compile: the entry points below compile what they import; compiling every installed module took longer
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-compile",
                    "--disable-pip-version-check", "-r", str(first / "requirements.txt")], check=True, timeout=600)
    # When each entry point is loaded with only its own folder on sys.path (no PYTHONPATH, no repository)
    for name, folder in staged.items():
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "INCIDENT_CONFIG": target.TEAM_FILE,
               "GOOGLE_CLOUD_PROJECT": "petties-incidents"}
        done = subprocess.run([str(python), "-c", CHECK, name], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=120)
        # Then it imports, and finds shared/ and the team file in its folder
        assert done.returncode == 0, f"{name}: {done.stderr[-2000:]}"
        assert done.stdout.split() == ["ok", name, "Petties"]
