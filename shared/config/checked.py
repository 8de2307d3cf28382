"""The checked form of a team file: the Config that validated, as JSON, written beside the file by the deploy.

A deployed function builds its Config from it without pydantic or YAML, which would otherwise be most of
what its start adds to the floor of functions-framework and Firestore's client (`./deploy.sh bench cold`).

  team.yaml           the team file, as the team wrote it
  team.checked.json   {"source_sha256": the hash of team.yaml's bytes, "config": the Config, field by field}

A checked form is used only while its hash is the file's, and only if it builds: a file edited since, or a
form from another version of the schema, is passed over and the file is validated again (loading.py).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import types
import typing
from datetime import date, datetime
from pathlib import Path
from typing import Any

from shared.config.schema import Config


def path_for(team_file: Path) -> Path:
    """Where a team file's checked form lives: beside it, team.yaml -> team.checked.json."""
    return team_file.with_suffix(".checked.json")


def digest(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()


@functools.cache
def fields_of(kind: type) -> dict[str, Any]:
    """Return a schema record's fields and their types, Annotated checks kept (`from __future__ import
    annotations` leaves them as text until asked)."""
    return typing.get_type_hints(kind, include_extras=True)


def is_record(kind: Any) -> bool:
    return isinstance(kind, type) and dataclasses.is_dataclass(kind)


def unwrap(kind: Any) -> Any:
    """Return the type under Annotated and Optional (`X | None` -> X)."""
    while True:
        origin, args = typing.get_origin(kind), typing.get_args(kind)
        if origin is typing.Annotated:
            kind = args[0]
        elif origin in (typing.Union, types.UnionType):
            kind = next(a for a in args if a is not type(None))
        else:
            return kind


def build(kind: Any, value: Any) -> Any:
    """Build a value of a schema type from its JSON form (what dump wrote); a record's __post_init__ checks run."""
    if value is None:
        return None
    kind = unwrap(kind)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if is_record(kind):
        hints = fields_of(kind)
        return kind(**{name: build(hints[name], item) for name, item in value.items()})
    if origin is list:
        return [build(args[0], item) for item in value]
    if origin is dict:
        return {key: build(args[1], item) for key, item in value.items()}
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind is float:
        return float(value)
    return value   # str, int, bool, a Literal's text


def dump(cfg: Config) -> dict:
    """Return a Config as JSON-ready data (dates and times as ISO 8601 text)."""
    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, list):
            return [plain(item) for item in value]
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, date):   # datetime too
            return value.isoformat()
        return value
    return plain(cfg)


def write(team_file: Path, cfg: Config, dest: Path) -> None:
    """Write the checked form of `team_file` (which validated into `cfg`) to dest."""
    source = team_file.read_bytes()
    dest.write_text(json.dumps({"source_sha256": digest(source), "config": dump(cfg)}, ensure_ascii=False,
                               sort_keys=True), encoding="utf-8")


def read(team_file: Path, source: bytes) -> Config | None:
    """Return the Config of the checked form beside `team_file` when it is the form of `source` (the file's
    bytes) and builds; else None."""
    try:
        data = json.loads(path_for(team_file).read_bytes())
        if data["source_sha256"] != digest(source):
            return None
        return build(Config, data["config"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
