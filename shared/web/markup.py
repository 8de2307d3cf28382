"""Markdown as safe HTML for the pages people read (the console, the local preview page).

markdown-it-py with raw HTML off: text from alerts and people may format, never inject (a `<script>` stays text,
a `[link](javascript:...)` is no link). A Discord mention `<@id>` reads as whoever `mention(id)` says it is.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

Mention = Callable[[str], str]   # a Discord user id -> how the page names that person

# Discord's markdown: CommonMark less what Discord does not draw; every newline is a line break.
_discord_md = MarkdownIt("commonmark", {"html": False, "breaks": True}).disable(
    ["lheading", "hr", "code", "reference", "image"])
# GitHub's: CommonMark with tables and strikethrough; raw HTML is shown as text. In an issue's body GitHub also
# makes every newline a line break (the postmortem's "**Date:** ...\n**Author:** ..." lines).
_github_md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
_github_issue_md = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])
_TAGS_OR_CODE = re.compile(r"(<(code|pre|a)\b.*?</\2>|<[^>]*>)", re.S)
_USER = re.compile(r"&lt;@!?(\d{1,25})&gt;")
_USER_OR_INERT = re.compile(r"&lt;\u200b?@!?(\d{1,25})&gt;")   # and as discord_text made it inert for Discord
_ROLE = re.compile(r"&lt;@&amp;(\d{1,25})&gt;")
_ROOM = re.compile(r"&lt;#(\d{1,25})&gt;")
_EVERYONE = re.compile(r"@(everyone|here)\b")
_URL = re.compile(r"https?://(?:(?!&lt;|&gt;|&quot;)[^\s<>\"'])+")
_SUB = re.compile(r"&lt;(/?)(sub|sup)&gt;")  # the only tags GitHub shows that our issue template uses
_PLAIN_USER = re.compile(r"<\u200b?@!?(\d{1,25})>")


def discord_markup(text: str, mention: Mention, inert_too: bool = False) -> Markup:
    """Render Discord markdown to safe HTML, mentions shown as Discord shows them (the person, @role, #channel);
    `inert_too`: also name the mentions handoff and thread texts made inert for Discord (`<\u200b@id>`)."""
    if not text:
        return Markup("")
    users = _USER_OR_INERT if inert_too else _USER

    def text_part(part: str) -> str:
        part = users.sub(lambda m: _pill(mention(m[1])), part)
        part = _ROLE.sub(lambda m: _pill("@role"), part)
        part = _ROOM.sub(lambda m: _pill("#channel"), part)
        part = _EVERYONE.sub(lambda m: _pill("@" + m[1]), part)
        return _URL.sub(lambda m: f'<a href="{m[0]}" rel="noreferrer">{m[0]}</a>', part)

    return Markup(_outside_tags(_discord_md.render(text), text_part))


def github_markup(text: str, mention: Mention | None = None, top: int = 1, breaks: bool = False) -> Markup:
    """Render GitHub-flavoured Markdown to safe HTML (raw HTML escaped, <sub> and <sup> kept). `mention`: name
    Discord mentions (else they stay as typed); `top`: the level of a `#` heading (2 under a page's own h1);
    `breaks`: every newline a line break, as in an issue's body. Each table cell carries its column's name
    (data-label), which a phone shows when it stacks the table."""
    md = _github_issue_md if breaks else _github_md
    tokens = md.parse(text)
    labels: list[str] = []
    column = 0
    for n, token in enumerate(tokens):
        if token.type == "th_open":
            labels.append("".join(c.content for c in tokens[n + 1].children or [] if c.type in ("text",
                                                                                                "code_inline")))
        elif token.type == "tr_open":
            column = 0
        elif token.type == "td_open":
            if column < len(labels) and labels[column]:
                token.attrSet("data-label", labels[column])
            column += 1
        elif token.type == "table_close":
            labels = []
        elif token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + top - 1)}"
    html = md.renderer.render(tokens, md.options, {})

    def text_part(part: str) -> str:
        part = _SUB.sub(r"<\1\2>", part)
        return _USER_OR_INERT.sub(lambda m: _pill(mention(m[1])), part) if mention else part

    return Markup(_outside_tags(html, text_part))


def named(text: str, mention: Mention) -> str:
    """Return plain text with each Discord mention `<@id>` written as the person's name (still to be escaped)."""
    return _PLAIN_USER.sub(lambda m: mention(m[1]), text)


def _pill(label: str) -> str:
    return f'<span class="mention">{escape(label)}</span>'


def _outside_tags(html: str, change) -> str:
    """Apply `change` to the text of rendered HTML, leaving tags, code and links as they are."""
    return "".join(part if i % 3 == 1 else change(part) if i % 3 == 0 else ""
                   for i, part in enumerate(_TAGS_OR_CODE.split(html)))
