"""Validate a Discord execute/edit-webhook body the way Discord does; return its nested `errors` object."""
from __future__ import annotations

import re
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
ACTION_ROW, BUTTON, STRING_SELECT = 1, 2, 3
SELECTS = (3, 5, 6, 7, 8)
LINK_STYLE = 5
# https://discord.com/developers/docs/components/reference#string-select
SELECT_OPTIONS_MAX = 25
SELECT_OPTION_MAX = 100
SELECT_PLACEHOLDER_MAX = 150
# https://discord.com/developers/docs/interactions/application-commands (INTEGRATIONS.md A9)
COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25
COMMAND_CHOICES_MAX = 25
OPTION_TYPES = range(1, 12)      # SUB_COMMAND 1 ... ATTACHMENT 11
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
GUILD_COMMANDS_MAX = 100

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
    seen: set = set()   # custom_ids are unique within a message
    for i, row in enumerate(_list(errors, ("components",), value, ACTION_ROWS_MAX)):
        path = ("components", i)
        if not _object(errors, path, row):
            continue
        if row.get("type") != 1:
            add_error(errors, (*path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1}.")
        children = _list(errors, (*path, "components"), row.get("components"), ROW_COMPONENTS_MAX)
        if len(children) > 1 and any(isinstance(c, dict) and c.get("type") in SELECTS for c in children):
            add_error(errors, (*path, "components"), "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                      "The specified component exceeds the maximum width")  # a select fills its row alone
        for j, comp in enumerate(children):
            cpath = (*path, "components", j)
            if not _object(errors, cpath, comp):
                continue
            if comp.get("style") != LINK_STYLE and comp.get("type") in (BUTTON, *SELECTS):
                _required_text(errors, (*cpath, "custom_id"), comp.get("custom_id"), CUSTOM_ID_MAX)
                if comp.get("custom_id") in seen:
                    add_error(errors, (*cpath, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED",
                              "Component custom id cannot be duplicated")
                seen.add(comp.get("custom_id"))
            if comp.get("type") == BUTTON:
                _max_len(errors, (*cpath, "label"), comp.get("label"), BUTTON_LABEL_MAX)
                if comp.get("style") == LINK_STYLE and not comp.get("url"):
                    add_error(errors, (*cpath, "url"), "BASE_TYPE_REQUIRED", "This field is required")
            elif comp.get("type") == STRING_SELECT:
                _select(errors, cpath, comp)


def _select(errors: Errors, path: tuple, select: dict) -> None:
    """Validate a string select: 1-25 options, each with a label and a value of at most 100 characters."""
    options = _list(errors, (*path, "options"), select.get("options"), SELECT_OPTIONS_MAX)
    if not options:
        add_error(errors, (*path, "options"), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
    for k, option in enumerate(options):
        if _object(errors, (*path, "options", k), option):
            for key in ("label", "value"):
                _required_text(errors, (*path, "options", k, key), option.get(key), SELECT_OPTION_MAX)
    _max_len(errors, (*path, "placeholder"), select.get("placeholder"), SELECT_PLACEHOLDER_MAX)


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


def _command_options(errors: Errors, path: tuple, options: Any, parent: int | None) -> None:
    """Validate a command's (or subcommand's) options: types, names, descriptions, choices, required first."""
    optional_seen = False
    for i, option in enumerate(_list(errors, path, options, COMMAND_OPTIONS_MAX)):
        opath = (*path, i)
        if not _object(errors, opath, option):
            continue
        kind = option.get("type")
        # a command holds groups and subcommands, a group only subcommands, a subcommand neither
        nests = {None: (SUB_COMMAND, SUB_COMMAND_GROUP), SUB_COMMAND_GROUP: (SUB_COMMAND,)}.get(parent, ())
        if kind not in OPTION_TYPES or (kind in (SUB_COMMAND, SUB_COMMAND_GROUP) and kind not in nests):
            add_error(errors, (*opath, "type"), "BASE_TYPE_CHOICES", f"Value must be one of {set(OPTION_TYPES)}.")
        _named(errors, opath, option)
        if option.get("required") and optional_seen:
            add_error(errors, (*opath, "required"), "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                      "Required options must be placed before non-required options")
        optional_seen = optional_seen or (kind not in (SUB_COMMAND, SUB_COMMAND_GROUP) and not option.get("required"))
        choices = _list(errors, (*opath, "choices"), option.get("choices"), COMMAND_CHOICES_MAX)
        if choices and option.get("autocomplete"):
            add_error(errors, (*opath, "autocomplete"), "AUTOCOMPLETE_AND_CHOICES_ERROR",
                      "Autocomplete and choices cannot both be set")
        for k, choice in enumerate(choices):
            if _object(errors, (*opath, "choices", k), choice):
                _required_text(errors, (*opath, "choices", k, "name"), choice.get("name"), COMMAND_DESCRIPTION_MAX)
                if choice.get("value") is None:
                    add_error(errors, (*opath, "choices", k, "value"), "BASE_TYPE_REQUIRED", "This field is required")
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _command_options(errors, (*opath, "options"), option.get("options"), kind)


def _named(errors: Errors, path: tuple, item: dict) -> None:
    name = item.get("name")
    if not isinstance(name, str) or not COMMAND_NAME.match(name) or name != name.lower():
        add_error(errors, (*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    _required_text(errors, (*path, "description"), item.get("description"), COMMAND_DESCRIPTION_MAX)


def validate_commands(body: Any) -> Errors:
    """Return the errors of a bulk-overwrite body (a list of CHAT_INPUT commands), {} when valid."""
    errors: Errors = {}
    if not isinstance(body, list):
        add_error(errors, (), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return errors
    if len(body) > GUILD_COMMANDS_MAX:
        add_error(errors, (), "BASE_TYPE_MAX_LENGTH", f"Must be {GUILD_COMMANDS_MAX} or fewer in length.")
    names = set()
    for i, command in enumerate(body):
        if not _object(errors, (i,), command):
            continue
        _named(errors, (i,), command)
        if command.get("name") in names:
            add_error(errors, (i, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME",
                      "Application command names must be unique")
        names.add(command.get("name"))
        _command_options(errors, (i, "options"), command.get("options"), None)
    return errors
