"""Stage each function into its own folder: main.py, shared/, the team file (with its checked form) and the
runtime requirements.

Cloud Functions builds a folder alone, so everything a function imports must be inside it. Its
requirements.txt is requirements.lock: the exact versions the tests ran, each with its hashes, so the build
installs exactly those or fails (the tests' and the deploy's packages are in requirements-dev.txt).
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from deploy.target import ROOT, TEAM_FILE
from shared.config import checked, load_config

# Not shipped: the local development tools and what only the deploy reads.
LEFT_OUT = ("local", "firestore.indexes.json", "__pycache__", "*.pyc")
GCLOUDIGNORE = "__pycache__/\n*.pyc\n"


def stage(name: str, team_file: Path, dest: Path, root: Path = ROOT) -> Path:
    """Write functions/<name> as Cloud Functions will build it into dest/<name>; return that folder."""
    folder = dest / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copy2(root / "functions" / name / "main.py", folder / "main.py")
    shutil.copytree(root / "shared", folder / "shared", ignore=shutil.ignore_patterns(*LEFT_OUT))
    shutil.copy2(root / "requirements.lock", folder / "requirements.txt")
    shutil.copy2(team_file, folder / TEAM_FILE)
    # the Config that validated, so the function starts without pydantic and PyYAML (shared/config/checked.py)
    checked.write(folder / TEAM_FILE, load_config(team_file), checked.path_for(folder / TEAM_FILE))
    (folder / ".gcloudignore").write_text(GCLOUDIGNORE, encoding="utf-8")
    return folder


def digest(folder: Path) -> str:
    """Return a short hash of a staged folder's files (names and contents): the deployed source's label."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]
