"""Variants of the Petties team file built from data, so a change that no longer applies fails loudly.

    variant({"team.holidays": ["2026-11-30"], "escalation.repeat_every": "10m"})
    variant({"people.devops.email": "ops@petties.world"})          # a list item by its id (or name)
    variant({"notifications.routes.1.channels.0.mention": ["x"]})  # or by its index
    variant(edit=lambda data: data["severity"]["rules"].insert(0, {...}))

Every key on a path must already be in the file, except a last key the schema declares (an optional field
the file leaves out, like a person's discord_id). The result is validated as the product validates the
file (parse_config), so a bad value raises the same ConfigError, naming the key.
"""
from __future__ import annotations

import copy
import functools
import typing
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from shared.config import DEFAULT_CONFIG, Config, parse_config
from shared.config.checked import fields_of, is_record, unwrap


class TeamPathError(KeyError):
    """A dotted path names nothing in the team file."""


@functools.lru_cache(maxsize=1)
def _petties() -> dict:
    return yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))


def team_data() -> dict:
    """Return a fresh copy of the Petties team file as plain data."""
    return copy.deepcopy(_petties())


def _child_model(model: Any, key: str) -> Any:
    """Return the schema of `key` inside `model` (None when the schema says nothing about it)."""
    model = unwrap(model)
    if is_record(model):
        return fields_of(model).get(key)
    origin, args = typing.get_origin(model), typing.get_args(model)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin is list and args:
        return args[0]
    return None


def _declares(model: Any, key: str) -> bool:
    model = unwrap(model)
    return is_record(model) and key in fields_of(model)


def _select(items: list, segment: str, where: str) -> int:
    """Return the index of the list item named by segment: its id, else its name, else a plain index."""
    for attr in ("id", "name"):
        found = [i for i, item in enumerate(items) if isinstance(item, Mapping) and str(item.get(attr)) == segment]
        if len(found) > 1:
            raise TeamPathError(f"{where}: {len(found)} items have {attr} {segment!r}")
        if found:
            return found[0]
    if segment.lstrip("-").isdigit() and -len(items) <= int(segment) < len(items):
        return int(segment)
    raise TeamPathError(f"{where}: no item with id or name {segment!r}, and not an index of its {len(items)} items")


def set_path(data: dict, path: str, value: Any) -> None:
    """Set data at a dotted path; every step must exist (the last may be a key the schema declares)."""
    node: Any = data
    model: Any = Config
    segments = path.split(".")
    for depth, segment in enumerate(segments):
        where = ".".join(segments[:depth]) or "(top level)"
        last = depth == len(segments) - 1
        if isinstance(node, list):
            key: Any = _select(node, segment, f"{where} (in {path!r})")
        elif isinstance(node, dict):
            key = segment
            if key not in node and not (last and _declares(model, key)):
                known = ", ".join(map(str, node)) or "nothing"
                raise TeamPathError(f"{path!r}: {where} has no key {key!r} (it has {known})")
        else:
            raise TeamPathError(f"{path!r}: {where} is a {type(node).__name__}, not a mapping or a list")
        if last:
            node[key] = value
            return
        node, model = node[key], _child_model(model, segment)
        if not isinstance(node, (dict, list)):
            raise TeamPathError(f"{path!r}: {where}.{segment} is a {type(node).__name__}, not a mapping or a list")


def team_yaml(changes: Mapping[str, Any] | None = None, edit: Callable[[dict], None] | None = None) -> str:
    """Return the Petties team file as YAML text with changes (dotted path -> value) and edit applied."""
    data = team_data()
    for path, value in (changes or {}).items():
        set_path(data, path, copy.deepcopy(value))
    if edit is not None:
        edit(data)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def variant(changes: Mapping[str, Any] | None = None, edit: Callable[[dict], None] | None = None) -> Config:
    """Return the Petties config with changes (dotted path -> value) and edit applied, validated."""
    return parse_config(team_yaml(changes, edit), "team variant")
