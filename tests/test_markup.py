"""Markdown as the console shows it (shared/web/markup.py): raw HTML is text, people are named, tables say their
columns, headings sit under the page's own h1. Pure: no store, no browser."""
from __future__ import annotations

from shared.web import markup

NAMES = {"444444444444444444": "Dev D", "111111111111111111": "Dev A"}


def named(uid: str) -> str:
    return NAMES.get(uid, "someone")


def test_a_postmortem_names_people_and_keeps_raw_html_as_text():
    html = markup.github_markup("## Summary\n\n**Down**; <@444444444444444444> rolled back, <@!111111111111111111> "
                                "and <@999999999999999999> watched. <script>alert(1)</script> "
                                "[x](javascript:alert(2)) `<@444444444444444444>`", named, top=2)
    assert "<h3>Summary</h3>" in html and "<strong>Down</strong>" in html
    assert '<span class="mention">Dev D</span> rolled back' in html and '<span class="mention">Dev A</span>' in html
    assert '<span class="mention">someone</span> watched' in html
    assert "<code>&lt;@444444444444444444&gt;</code>" in html    # code stays as typed
    assert "<script>" not in html and "&lt;script&gt;" in html and "<a " not in html


def test_a_table_cell_carries_its_column_for_the_phone():
    html = markup.github_markup("| Time | **Event** |\n|---|---|\n| 07:00 | opened |\n| 07:10 | <@1> acked |\n\n"
                                "| Action | Owner |\n|---|---|\n| test it | @Dev B |", named)
    assert '<td data-label="Time">07:00</td>' in html and '<td data-label="Event">opened</td>' in html
    assert '<td data-label="Owner">@Dev B</td>' in html and '<td data-label="Action">test it</td>' in html
    assert '<td data-label="Event"><span class="mention">someone</span> acked</td>' in html


def test_a_column_name_cannot_break_out_of_its_attribute():
    html = markup.github_markup('| a" onmouseover="x | b |\n|---|---|\n| 1 | 2 |')
    assert 'data-label="a&quot; onmouseover=&quot;x"' in html and 'onmouseover="x"' not in html


def test_line_breaks_as_in_an_issue_body():
    assert "1<br />\n<strong>Author:</strong>" in markup.github_markup("**Date:** 1\n**Author:** Dev D", breaks=True)
    assert "<br" not in markup.github_markup("**Date:** 1\n**Author:** Dev D")


def test_the_handoff_names_mentions_discord_would_ping_and_those_made_inert():
    text = "### From: <@444444444444444444>\n- Ask <\u200b@111111111111111111> about it\n- <@&5> <#6> @everyone"
    html = markup.discord_markup(text, lambda uid: "@" + NAMES.get(uid, "x") if uid in NAMES else "someone",
                                 inert_too=True)
    assert '<h3>From: <span class="mention">@Dev D</span></h3>' in html
    assert 'Ask <span class="mention">@Dev A</span> about it' in html
    assert "@role" in html and "#channel" in html and "444444444444444444" not in html
    kept = markup.discord_markup("Ask <\u200b@111111111111111111>", named)   # the preview page: as Discord shows it
    assert "\u200b@111111111111111111" in kept


def test_plain_text_names_people():
    assert markup.named("asked <@444444444444444444>, <@!999999999999999999> and <\u200b@111111111111111111>",
                        named) == "asked Dev D, someone and Dev A"
    assert markup.named("no mention <@role> <@&5>", named) == "no mention <@role> <@&5>"
