"""The README and docs/: every relative link points at a file that exists (and a heading there, for #anchors),
the README stays short enough to read in ten minutes, and every doc is reachable from it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _text(page: Path) -> str:
    return FENCE.sub("", page.read_text(encoding="utf-8"))   # links in code blocks are examples, not links


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    out = set()
    for line in _text(page).splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(_text(page)):
        if re.match(r"[a-z]+:", target):   # http(s), mailto: checked by people, not offline tests
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {file.relative_to(ROOT) if file.is_relative_to(ROOT) else file}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.name}")
    assert broken == [], f"{page.name}: {broken}"


def test_the_readme_is_short_opens_with_the_two_commands_and_links_every_doc():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 250
    first_block = readme.split("```")[1]
    assert "./deploy.sh local" in first_block and "./deploy.sh test" in first_block
    linked = {Path(target.partition("#")[0]).name for target in LINK.findall(readme) if target.startswith("docs/")}
    assert {doc.name for doc in DOCS} <= linked, "a doc the README does not link"


def test_the_anchor_rule_matches_githubs():
    page = ROOT / "README.md"
    assert {"quick-start", "your-own-team", "connect-discord-bot-mode", "not-done-yet"} <= anchors(page)
