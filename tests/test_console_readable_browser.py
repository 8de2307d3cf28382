"""Every console page read in headless Chromium on a phone (390 px) and on a desktop (1280 px).

On the phone no page scrolls sideways (nor anything inside it) and every column of running text is at least
MIN_COLUMN px wide; narrower is only a label or a badge (a form's label, a button, a term, a severity) or a line that
never wraps. The timeline is a stack of entries there and stays a table on the desktop. The postmortem and the handoff
are rendered Markdown, raw HTML shown as text, and people are named: never a person id, never a Discord id.

Pages: the list, an incident with a long timeline and long unbroken words, on call, handoff, metrics, silences,
the postmortem, sign-in, a refusal, and every other console page a link leads to (the action pages as they come).
Screenshots: tests/artifacts/console_phone_<page>.png and console_desktop_<page>.png.
"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest

from shared.notify import delivery
from tests.notify_fixtures import local, sentry_alert, sweep
from tests.test_interactions import IDS, STRANGER, TEAM

NOW = local("2026-11-24 10:00:00")   # a Tuesday in business hours; Dev D is on call, Dev A leads
ARTIFACTS = Path(__file__).parent / "artifacts"
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}
MIN_COLUMN = 200   # px: narrower, running text breaks every few words (the timeline's detail was 62 px wide)
WORD = "com.petties.booking.AppointmentSchedulingServiceImplementation.reserveSlotForVeterinarianAndPet"
TOKEN = "eyJhbGciOiJIUzI1NiJ9" + "QmFzZTY0RW5jb2RlZFRyYWNlSWQ" * 6   # a trace id pasted into a note
PERSON_IDS = re.compile(r"\b(dev-[abcd]|devops)\b")
DISCORD_IDS = re.compile(r"\d{17,20}|<@")

# What the browser measures. A text's column is the nearest box around it that is not inline. A column narrower than
# MIN_COLUMN must be a label or a badge, or hold its text on one line (all its text rects share a band).
GEOMETRY = """(min) => {
  const problems = [], vw = window.innerWidth, doc = document.documentElement;
  if (doc.scrollWidth > vw) problems.push(`the page is ${doc.scrollWidth}px wide`);
  const LABELS = 'label, button, select, dt, th, summary, legend, nav, .sev, .clock, .state, .mention, .team';
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const columns = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim() || node.parentElement.closest('script, style, select, textarea')) continue;
    let box = node.parentElement;
    while (box.parentElement && getComputedStyle(box).display === 'inline') box = box.parentElement;
    if (!columns.has(box)) columns.set(box, []);
    columns.get(box).push(node);
  }
  for (const [box, nodes] of columns) {
    const r = box.getBoundingClientRect();
    if (!r.width && !r.height) continue;   // not shown
    const text = nodes.map(n => n.textContent).join('').trim().slice(0, 60);
    if (r.left < -0.5 || r.right > vw + 0.5)
      problems.push(`${name(box)} is cut off (${Math.round(r.left)}..${Math.round(r.right)}px): ${text}`);
    if (r.width >= min || box.closest(LABELS)) continue;
    const rects = nodes.flatMap(n => { const g = document.createRange(); g.selectNodeContents(n);
                                       return [...g.getClientRects()].filter(q => q.width > 0); });
    const top = Math.max(...rects.map(q => q.top)), bottom = Math.min(...rects.map(q => q.bottom));
    if (rects.length && top >= bottom)
      problems.push(`${name(box)} is ${Math.round(r.width)}px wide and wraps: ${text}`);
  }
  for (const el of document.querySelectorAll('body *')) {
    if (el.matches('input, textarea, select')) continue;
    const overflow = getComputedStyle(el).overflowX;
    if (overflow !== 'visible' && el.scrollWidth > el.clientWidth + 1)
      problems.push(`${name(el)} scrolls sideways inside the page (${el.scrollWidth}px in ${el.clientWidth}px)`);
  }
  return problems;
}"""


@pytest.fixture
def busy(ingest, api, escalate, monkeypatch, use_team) -> dict:
    """Given a Critical handled over three hours (a long timeline, long unbroken words, mentions in Discord's form),
    resolved, its postmortem drafted and written; an open High; a silence; an override; handoff notes."""
    use_team(TEAM)   # Dev A, B and D have Discord ids

    def at(when):
        monkeypatch.setattr("shared.web.http.now", lambda: when)

    critical = sentry_alert(ingest, monkeypatch, NOW - timedelta(hours=3), "9301",
                            f"NullPointerException in {WORD} while booking https://petties.world/booking/{TOKEN}",
                            level="fatal", users=120)["incident"]
    steps = [("ack", {"actor": "dev-d", "detail": "looking at the booking service"}),
             ("investigating", {"actor": "dev-d", "detail": f"the stack points at {WORD}"}),
             ("note", {"actor": "dev-b", "text": f"trace id {TOKEN}"}),
             ("note", {"actor": "dev-d", "text": f"asked <@{IDS['dev-a']}> and <@{STRANGER}> about the deploy"}),
             ("severity", {"actor": "dev-a", "severity": "critical", "reason": "bookings fail for every clinic"}),
             ("fixing", {"actor": "dev-d", "detail": "rolling back to yesterday's release"}),
             ("note", {"actor": "dev-c", "text": "Clinics called support: " + "very " * 40 + "many calls"}),
             ("deploying", {"actor": "dev-d", "detail": "release 2026.11.23-2"}),
             ("resolve", {"actor": "dev-d", "detail": "rolled back; bookings go through"})]
    for n, (action, body) in enumerate(steps):
        at(NOW - timedelta(hours=3) + timedelta(minutes=10 * (n + 1)))
        answer = api.post(f"/incidents/{critical}/{action}", json=body)
        assert answer.status_code == 200, answer.get_data(as_text=True)
    delivery.wait_idle()
    for minute in (5, 6, 7):   # the sweep drafts the postmortem (at :35, its five-minute mark), then sends it out
        sweep(escalate, NOW - timedelta(hours=1, minutes=30) + timedelta(minutes=minute))
    delivery.wait_idle()
    at(NOW - timedelta(minutes=30))
    written = api.put(f"/postmortems/{critical}", json={
        "summary": f"Bookings failed for **every clinic** for 90 minutes; <@{IDS['dev-d']}> rolled back. "
                   f"<script>alert(1)</script> [docs](javascript:alert(2)) `{WORD}`",
        "root_cause": f"A null pet in {WORD}.", "went_well": ["The rollback took 10 minutes"]})
    assert written.status_code == 200, written.get_data(as_text=True)
    item = api.post(f"/postmortems/{critical}/action-items",
                    json={"actor": "dev-a", "action": f"Test a booking without a pet in {WORD}", "owner": "dev-b",
                          "deadline": "2026-12-01"})
    assert item.status_code == 201, item.get_data(as_text=True)
    high = sentry_alert(ingest, monkeypatch, NOW - timedelta(minutes=40), "9302",
                        "Payment webhook retries pile up", level="error", users=12)["incident"]
    at(NOW - timedelta(minutes=5))
    for body in ({"actor": "dev-a", "matchers": {"service": "ai-service", "title": "~(?i)recommendation.*timeout"},
                  "duration": "2h", "comment": f"Model upgrade <@{IDS['dev-b']}> is running: {TOKEN}"},
                 {"actor": "dev-b", "matchers": {"environment": "staging"}, "duration": "1d", "comment": "load test"}):
        assert api.post("/silences", json=body).status_code == 201
    assert api.post("/oncall/overrides", json={"actor": "dev-a", "covering": "dev-c", "for": "dev-d",
                                               "start": "2026-11-25T09:00", "end": "2026-11-25T18:00",
                                               "note": f"<@{IDS['dev-d']}> at the dentist"}).status_code == 201
    for text in (f"Ask <@{IDS['dev-b']}> about the payment webhook", f"<@{STRANGER}> promised a fix for {WORD}"):
        assert api.post("/handoff/notes", json={"actor": "dev-d", "text": text}).status_code == 201
    delivery.wait_idle()
    at(NOW)
    return {"critical": critical, "high": high}


def shot(page, size: str, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console_{size}_{name}.png"), full_page=True)


def signed_in(browser, live_server, viewport: dict):
    context = browser.new_context(viewport=viewport, is_mobile=viewport == PHONE)
    page = context.new_page()
    page.goto(f"{live_server}/console/login")
    page.fill("input[name=token]", "test-api-token")
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    return context, page


def pages_of(busy: dict) -> dict[str, str]:
    return {"list": "", "long_incident": f"incidents/{busy['critical']}", "open_incident": f"incidents/{busy['high']}",
            "oncall": "oncall", "handoff": "handoff", "metrics": "metrics", "silences": "silences",
            "postmortem": f"postmortems/{busy['critical']}", "refused": "incidents/INC-ZZZZZZ"}


def after_a_form(busy: dict) -> list[tuple[str, str, dict, str]]:
    """(name, page, fields to fill, button) for the pages only a form leads to."""
    return [("confirm", f"incidents/{busy['high']}", {"#close input[name=detail]": f"fixed in {WORD}"},
             "#close button.danger >> nth=0"),
            ("status_preview", f"incidents/{busy['critical']}/status-updates",
             {"#status-update input[name=title]": "Bookings fail", "#status-update textarea[name=message]":
              f"We rolled back {WORD}; bookings go through again. " * 3}, "#status-update button[name=preview]"),
            ("silence_refused", "silences", {"#silence input[name=service]": WORD,
                                             "#silence input[name=duration]": "forever",
                                             "#silence input[name=comment]": TOKEN}, "#silence button[type=submit]")]


def shape(path: str) -> str:
    """A page's kind: its path with the incident id taken out (one incident page of each kind is enough)."""
    return re.sub(r"INC-[0-9A-Z]+", "ID", path.strip("/")) or "list"


def visit(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")   # the stylesheet too: the layout is measured


def console_links(page, live_server: str) -> set[str]:
    """The console pages this page links to (not sign-in and sign-out), as paths under /console/."""
    found = set()
    for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
        url = urlparse(href)
        if f"{url.scheme}://{url.netloc}" == live_server and url.path.startswith("/console/") and \
                not re.search(r"/(login|logout|auth)\b|\.css$", url.path):
            found.add(url.path.removeprefix("/console/"))
    return found


def every_page(page, live_server: str, busy: dict):
    """Yield (name, path) for the named pages, then for every other kind of console page a link leads to."""
    named = pages_of(busy)
    seen = {shape(p) for p in named.values()}
    queue = list(named.items())
    while queue:
        name, path = queue.pop(0)
        visit(page, f"{live_server}/console/{path}")
        yield name, path
        for linked in sorted(console_links(page, live_server)):
            if shape(linked) not in seen and len(seen) < 40:
                seen.add(shape(linked))
                queue.append((shape(linked).replace("/", "_"), linked))


def named_not_ids(page, name: str) -> None:
    text = page.locator("body").inner_text()
    assert not PERSON_IDS.search(text), f"{name}: a person id on the page: {PERSON_IDS.search(text)[0]}"
    assert not DISCORD_IDS.search(text), f"{name}: a Discord id on the page: {DISCORD_IDS.search(text)[0]}"


def test_on_a_phone_every_page_fits_the_screen_and_reads_in_columns(live_server, busy, browser):
    context, page = signed_in(browser, live_server, PHONE)
    visited = []
    for name, path in every_page(page, live_server, busy):
        shot(page, "phone", name)
        visited.append(name)
        assert page.evaluate(GEOMETRY, MIN_COLUMN) == [], f"{name} (/console/{path}) on a phone"
        named_not_ids(page, name)

    # The timeline: one card per entry, when / who / what / detail stacked, the detail as wide as the card
    visit(page, f"{live_server}/console/incidents/{busy['critical']}")
    entries = page.locator("#timeline tbody tr")
    assert entries.count() >= 10
    for n in range(entries.count()):
        cells = [c for c in entries.nth(n).locator("td").all() if c.is_visible()]
        boxes = [c.bounding_box() for c in cells]
        assert all(b["width"] >= 330 for b in boxes), (n, boxes)
        assert [b["y"] for b in boxes] == sorted(b["y"] for b in boxes) and len({b["y"] for b in boxes}) == len(boxes)
    assert page.locator("#timeline thead").is_hidden()

    # The pages a form leads to: asking before closing, a status update's preview, a refusal on its own page
    for name, url, fill, submit in after_a_form(busy):
        visit(page, f"{live_server}/console/{url}")
        for field, value in fill.items():
            page.fill(field, value)
        page.click(submit)
        page.wait_for_load_state("load")
        shot(page, "phone", name)
        visited.append(name)
        assert page.evaluate(GEOMETRY, MIN_COLUMN) == [], f"{name} on a phone"
        named_not_ids(page, name)
    context.close()

    # Signed out: the sign-in page
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    page = context.new_page()
    visit(page, f"{live_server}/console/incidents/{busy['critical']}")
    assert "/console/login" in page.url
    shot(page, "phone", "login")
    assert page.evaluate(GEOMETRY, MIN_COLUMN) == [], "login on a phone"
    context.close()
    assert {"list", "long_incident", "oncall", "handoff", "metrics", "silences", "postmortem", "refused", "confirm",
            "status_preview", "silence_refused"} <= set(visited)


def test_on_a_desktop_the_layout_stays_a_table_and_nothing_scrolls_sideways(live_server, busy, browser):
    context, page = signed_in(browser, live_server, DESKTOP)
    for name, _ in every_page(page, live_server, busy):
        shot(page, "desktop", name)
        assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"], name
        named_not_ids(page, name)
    visit(page, f"{live_server}/console/incidents/{busy['critical']}")
    assert page.locator("#timeline thead").is_visible()
    for row in page.locator("#timeline tbody tr").all():   # a row's cells side by side, as before
        tops = {round(c.bounding_box()["y"]) for c in row.locator("td").all()}
        assert len(tops) == 1
    visit(page, f"{live_server}/console/")
    assert page.locator("table.list thead").is_visible()
    context.close()
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    visit(page, f"{live_server}/console/login")
    shot(page, "desktop", "login")
    context.close()


def test_the_postmortem_and_the_handoff_are_rendered_markdown_that_names_people(live_server, busy, browser):
    context, page = signed_in(browser, live_server, DESKTOP)
    visit(page, f"{live_server}/console/postmortems/{busy['critical']}")
    postmortem = page.locator("#postmortem")
    assert postmortem.locator("h2").first.inner_text().startswith("Postmortem: NullPointerException")
    assert [h.inner_text() for h in postmortem.locator("h3").all()][:2] == ["Summary", "Impact"]
    text = postmortem.inner_text()
    assert "## " not in text and "| Time |" not in text and "**" not in text
    assert postmortem.locator("strong", has_text="every clinic").count() == 1
    assert "@Dev D rolled back" in text                                    # <@id> as the person's name
    assert "<script>alert(1)</script>" in text and page.locator("script").count() == 0   # raw HTML is text
    assert page.locator("a[href^='javascript']").count() == 0
    timeline, items = postmortem.locator("table").nth(0), postmortem.locator("table").nth(1)
    assert [c.inner_text() for c in timeline.locator("th").all()] == ["Time", "Event"]
    assert timeline.locator("tbody tr").count() >= 10
    assert items.locator("td").nth(1).inner_text() == "@Dev B" and items.locator("td").nth(3).inner_text() == "⬜ TODO"
    assert items.locator("td").nth(2).get_attribute("data-label") == "Deadline"   # what a phone shows beside it

    visit(page, f"{live_server}/console/handoff")
    handoff = page.locator("#handoff")
    assert handoff.locator("h2").inner_text().startswith("On-Call Handoff")
    headings = [h.inner_text() for h in handoff.locator("h3").all()]
    assert [h.split(":")[0] for h in headings] == ["From", "To"]
    assert all(re.fullmatch(r"(From|To): @Dev [A-D]", h) for h in headings), headings
    text = handoff.inner_text()
    assert "Ask @Dev B about the payment webhook" in text and "someone promised a fix" in text
    assert "**" not in text and "###" not in text

    visit(page, f"{live_server}/console/incidents/{busy['critical']}")
    details = page.locator("#timeline td.detail").all_inner_texts()
    assert "asked Dev A and someone about the deploy" in details
    visit(page, f"{live_server}/console/silences")
    assert "Model upgrade Dev B is running" in page.locator("#silences").inner_text()
    visit(page, f"{live_server}/console/oncall")
    assert "Dev D at the dentist" in page.locator("#weeks").inner_text()
    context.close()
