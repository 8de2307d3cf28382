"""What marks an incident as a smoke test (`./deploy.sh gcp smoke`): the title its test alert gave it.

A smoke test's incident is the only one the API lets anyone delete (DELETE /api/incidents/<id>), so the test
leaves nothing behind in listings, reports or the status page; every other incident is history and stays.
"""
from __future__ import annotations

SMOKE_MARK = "[smoke test]"   # the start of every smoke-test alert's title, as each source's parser reads it


def is_smoke_test(title: str) -> bool:
    """Return whether an incident's title marks it as a smoke test."""
    return (title or "").lstrip().lower().startswith(SMOKE_MARK)
