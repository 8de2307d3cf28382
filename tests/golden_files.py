"""Golden files: compared on every run, written only when asked (UPDATE_GOLDEN=1), never both in one run.

A run with UPDATE_GOLDEN=1 rewrites the files and skips the comparison: review the diff, then run again
without the flag. A missing golden file fails the test.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

FLAG = "UPDATE_GOLDEN"


def updating() -> bool:
    """Tell whether this run rewrites golden files instead of comparing with them."""
    return os.environ.get(FLAG, "") not in ("", "0")


def golden(path: Path, text: str) -> str:
    """Return the stored text of a golden file; with UPDATE_GOLDEN=1 write `text` there and skip the test."""
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        pytest.skip(f"golden file {path.name} rewritten; review the diff, then run again without {FLAG}")
    if not path.is_file():
        pytest.fail(f"golden file {path} is missing: run once with {FLAG}=1, review it, then without")
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()
