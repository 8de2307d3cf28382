"""The gcloud CLI: argument lists (never a shell), JSON answers, NOT_FOUND as None, failures as DeployError."""
from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from collections.abc import Callable

TIMEOUT = 900.0   # seconds one call may take (a function's build takes minutes)


class DeployError(Exception):
    """A deploy cannot go on; the message says what to do."""


def shown(argv: list[str]) -> str:
    """Return a command as a person would type it."""
    return " ".join(shlex.quote(a) for a in argv)


def _subprocess(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


class Gcloud:
    """The gcloud CLI for one project; `runner` runs an argument list (a subprocess; tests answer in process)."""

    def __init__(self, project: str, executable: str = "gcloud",
                 runner: Callable[[list[str]], subprocess.CompletedProcess] = _subprocess):
        self.project = project
        self.executable = shutil.which(executable)
        self.runner = runner

    @property
    def installed(self) -> bool:
        return self.executable is not None

    def _call(self, argv: list[str]) -> subprocess.CompletedProcess:
        if not self.installed:
            raise DeployError("gcloud is not installed: https://cloud.google.com/sdk/docs/install")
        args = [self.executable, *argv[1:], "--quiet"]
        if self.project and not any(a.startswith("--project") for a in argv):
            args.append(f"--project={self.project}")
        return self.runner(args)

    def read(self, argv: list[str]):
        """Run a read-only command with JSON output; None when the thing does not exist."""
        done = self._call([*argv, "--format=json"])
        if done.returncode != 0:
            if "NOT_FOUND" in done.stderr or "not found" in done.stderr.lower():
                return None
            raise DeployError(f"`{shown(argv)}` failed: {done.stderr.strip()[-600:]}")
        return json.loads(done.stdout or "null")

    def value(self, argv: list[str]) -> list[str]:
        """Run a read-only command whose --format=value(...) is in argv; return its lines ([] on failure)."""
        done = self._call(argv)
        return [line.strip() for line in done.stdout.splitlines() if line.strip()] if done.returncode == 0 else []

    def run(self, argv: list[str]) -> None:
        """Run a command that changes something; DeployError with gcloud's message when it fails."""
        done = self._call(argv)
        if done.returncode != 0:
            raise DeployError(f"`{shown(argv)}` failed: {done.stderr.strip()[-600:]}")
