"""Validate a Discord execute/edit-webhook body the way Discord does; return its nested `errors` object."""
from __future__ import annotations

from typing import Any

# https://discord.com/developers/docs/resources/message#embed-object-embed-limits
# (inclusive; counted on whitespace-trimmed text)
CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_TEXT_MAX = 2048
AUTHOR_NAME_MAX = 256
EMBEDS_TOTAL_MAX = 6000  # title+description+field names/values+footer text+author name, all embeds
# https://discord.com/developers/docs/resources/webhook#execute-webhook
USERNAME_MAX = 80
# https://discord.com/developers/docs/resources/message#allowed-mentions-object
MENTION_TYPES = ("users", "roles", "everyone")
MENTION_IDS_MAX = 100
# https://discord.com/developers/docs/components/reference#action-row / #button
ACTION_ROWS_MAX = 5
ROW_COMPONENTS_MAX = 5
BUTTON_LABEL_MAX = 80
CUSTOM_ID_MAX = 100
ACTION_ROW, BUTTON = 1, 2
LINK_STYLE = 5

Errors = dict[str, Any]


def add_error(errors: Errors, path: tuple, code: str, message: str) -> None:
    """Add one error under path (Discord nests by key, list items by their index)."""
    node = errors
    for key in path:
        node = node.setdefault(str(key), {})
    node.setdefault("_errors", []).append({"code": code, "message": message})


def _max_len(errors: Errors, path: tuple, value: Any, limit: int) -> int:
    """Check an optional string against limit; return its trimmed length (0 when absent)."""
    if value is None:
        return 0
    if not isinstance(value, str):
        add_error(errors, path, "BASE_TYPE_STRING", f'Could not interpret "{value!r}" as string.')
        return 0
    if len(value.strip()) > limit:
        add_error(errors, path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
    return len(value.strip())


def _required_text(errors: Errors, path: tuple, value: Any, limit: int) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        add_error(errors, path, "BASE_TYPE_REQUIRED", "This field is required")
        return 0
    return _max_len(errors, path, value, limit)


def _list(errors: Errors, path: tuple, value: Any, limit: int) -> list:
    """Check an optional list and its length; return it (or [] when unusable)."""
    if value is None:
        return []
    if not isinstance(value, list):
        add_error(errors, path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return []
    if len(value) > limit:
        add_error(errors, path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
    return value


def _object(errors: Errors, path: tuple, value: Any) -> bool:
    if isinstance(value, dict):
        return True
    add_error(errors, path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
    return False


def _embed(errors: Errors, i: int, embed: Any) -> int:
    """Validate one embed; return the characters it counts toward EMBEDS_TOTAL_MAX."""
    path = ("embeds", i)
    if not _object(errors, path, embed):
        return 0
    total = _max_len(errors, (*path, "title"), embed.get("title"), EMBED_TITLE_MAX)
    total += _max_len(errors, (*path, "description"), embed.get("description"), EMBED_DESCRIPTION_MAX)
    if embed.get("color") is not None and (not isinstance(embed["color"], int) or isinstance(embed["color"], bool)):
        add_error(errors, (*path, "color"), "NUMBER_TYPE_COERCE", f'Value "{embed["color"]}" is not int.')
    for j, fld in enumerate(_list(errors, (*path, "fields"), embed.get("fields"), EMBED_FIELDS_MAX)):
        if _object(errors, (*path, "fields", j), fld):
            total += _required_text(errors, (*path, "fields", j, "name"), fld.get("name"), FIELD_NAME_MAX)
            total += _required_text(errors, (*path, "fields", j, "value"), fld.get("value"), FIELD_VALUE_MAX)
    for key, sub, limit in (("footer", "text", FOOTER_TEXT_MAX), ("author", "name", AUTHOR_NAME_MAX)):
        if embed.get(key) is not None and _object(errors, (*path, key), embed[key]):
            total += _required_text(errors, (*path, key, sub), embed[key].get(sub), limit)
    return total


def _allowed_mentions(errors: Errors, value: Any) -> None:
    path = ("allowed_mentions",)
    if value is None or not _object(errors, path, value):
        return
    parse = _list(errors, (*path, "parse"), value.get("parse"), len(MENTION_TYPES))
    for i, kind in enumerate(parse):
        if kind not in MENTION_TYPES:
            add_error(errors, (*path, "parse", i), "ENUM_TYPE_COERCE", f'Value "{kind}" is not a valid enum value.')
    for kind in ("users", "roles"):
        ids = _list(errors, (*path, kind), value.get(kind), MENTION_IDS_MAX)
        for i, snowflake in enumerate(ids):
            if not str(snowflake).isdigit():
                add_error(errors, (*path, kind, i), "NUMBER_TYPE_COERCE", f'Value "{snowflake}" is not snowflake.')
        if ids and kind in parse:  # a falsy list ([] / null) is accepted, per the allowed-mentions docs
            add_error(errors, path, "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                      f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.')


def _components(errors: Errors, value: Any) -> None:
    for i, row in enumerate(_list(errors, ("components",), value, ACTION_ROWS_MAX)):
        path = ("components", i)
        if not _object(errors, path, row):
            continue
        if row.get("type") != 1:
            add_error(errors, (*path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1}.")
        for j, comp in enumerate(_list(errors, (*path, "components"), row.get("components"), ROW_COMPONENTS_MAX)):
            cpath = (*path, "components", j)
            if not _object(errors, cpath, comp) or comp.get("type") != 2:
                continue
            _max_len(errors, (*cpath, "label"), comp.get("label"), BUTTON_LABEL_MAX)
            if comp.get("style") == LINK_STYLE:
                if not comp.get("url"):
                    add_error(errors, (*cpath, "url"), "BASE_TYPE_REQUIRED", "This field is required")
            else:
                _required_text(errors, (*cpath, "custom_id"), comp.get("custom_id"), CUSTOM_ID_MAX)


def is_interactive(component: Any) -> bool:
    """Tell whether a component sends an interaction when used: every button but a link button, every select."""
    if not isinstance(component, dict):
        return False
    if component.get("type") == BUTTON:
        return component.get("style") != LINK_STYLE  # a link button opens its url and sends no interaction
    return component.get("type") != ACTION_ROW  # selects (3, 5-8) and text inputs (4); rows hold, not act


def keep_non_interactive(components: Any) -> list:
    """Return a (validated) components list without its interactive components; rows left empty go too.

    A webhook no application owns "cannot send interactive components" even with ?with_components, which
    only "allows ... non-owned webhooks to use non-interactive components" (INTEGRATIONS.md A7,
    https://discord.com/developers/docs/resources/webhook#execute-webhook). The docs do not say whether the
    interactive ones are refused or dropped; like the components of a post without ?with_components, they
    are dropped here.
    """
    kept = []
    for row in components or []:
        if not isinstance(row, dict) or is_interactive(row):
            continue
        children = [c for c in row.get("components") or [] if not is_interactive(c)]
        if children:
            kept.append({**row, "components": children})
    return kept


def validate(body: dict[str, Any], *, keep_components: bool) -> Errors:
    """Return Discord's `errors` object for body ({} when valid); emptiness is checked by the caller."""
    errors: Errors = {}
    _max_len(errors, ("content",), body.get("content"), CONTENT_MAX)
    if body.get("username") is not None:
        name = body["username"]
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= USERNAME_MAX:
            add_error(errors, ("username",), "BASE_TYPE_BAD_LENGTH",
                      f"Must be between 1 and {USERNAME_MAX} in length.")
    embeds = _list(errors, ("embeds",), body.get("embeds"), EMBEDS_MAX)
    total = sum(_embed(errors, i, embed) for i, embed in enumerate(embeds))
    if total > EMBEDS_TOTAL_MAX:
        add_error(errors, ("embeds",), "MAX_EMBED_SIZE_EXCEEDED",
                  f"Embed size exceeds maximum size of {EMBEDS_TOTAL_MAX}")
    _allowed_mentions(errors, body.get("allowed_mentions"))
    if keep_components:
        _components(errors, body.get("components"))
    return errors


def is_empty(message: dict[str, Any]) -> bool:
    """Tell whether a message has none of content/embeds/components/attachments (Discord code 50006)."""
    content = message.get("content")
    return not ((isinstance(content, str) and content.strip()) or message.get("embeds")
                or message.get("components") or message.get("attachments"))
