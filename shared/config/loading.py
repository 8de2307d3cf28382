"""Reading the team file: YAML to a validated Config, errors that name the key (with a hint for the usual
mistakes), and the process's Config (loaded once; a test may put another in its place with use()).

PyYAML and pydantic are imported only to validate a file: a deployed function starts from the checked form
the deploy wrote beside its team file (checked.py) and loads neither.
"""
from __future__ import annotations

import contextlib
import difflib
import functools
import os
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.config import checked
from shared.config.schema import Config

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "teams" / "petties.yaml"


class ConfigError(Exception):
    """The team file is missing or wrong; the message names the bad key."""


@functools.cache
def _validator():
    from pydantic import TypeAdapter

    return TypeAdapter(Config)


# pydantic's words for a dataclass's keys, in the words it uses for a model's (the ones the team knows)
_MESSAGES = {"unexpected_keyword_argument": "Extra inputs are not permitted"}


def parse_config(text: str, origin: str = "<config>") -> Config:
    """Validate YAML text into a Config, or raise ConfigError naming the bad key."""
    import yaml
    from pydantic import ValidationError

    try:
        # libyaml's safe loader when PyYAML was built with it (its wheels are): the same documents, a tenth of the time
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        raise ConfigError(f"{origin}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping at the top level")
    try:
        return _validator().validate_python(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = _MESSAGES.get(err["type"], err["msg"]).removeprefix("Value error, ")
            problems.append(f"{key}: {msg}{_hint(err)}")
        raise ConfigError(f"{origin}: " + "; ".join(problems)) from None


def field_names() -> set[str]:
    """Return every key name the team file knows, at any depth."""
    names: set[str] = set()
    todo, seen = [Config], set()
    while todo:
        kind = todo.pop()
        seen.add(kind)
        for name, annotation in checked.fields_of(kind).items():
            names.add(name)
            todo += [inner for inner in _inner_types(annotation) if checked.is_record(inner) and inner not in seen]
    return names


def _inner_types(annotation: Any) -> list:
    kind = checked.unwrap(annotation)
    return [kind, *(inner for arg in typing.get_args(kind) for inner in _inner_types(arg))]


def _hint(err: dict) -> str:
    """Return a hint for the common mistakes: a misspelt key, an unquoted number where text is expected."""
    if err["type"] == "unexpected_keyword_argument":
        close = difflib.get_close_matches(str(err["loc"][-1]), sorted(field_names()), n=1, cutoff=0.7)
        return f" (did you mean {close[0]}?)" if close else ""
    if err["type"] == "string_type" and isinstance(err.get("input"), (int, float)):
        return (f" (YAML read {err['input']!r} as a number: put it in quotes, e.g. "
                f"{err['loc'][-1]}: \"{err['input']}\")")
    return ""


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read the team file (INCIDENT_CONFIG, or the Petties default): from its checked form when the deploy wrote
    one for these very bytes, else validated."""
    path = Path(path or os.environ.get("INCIDENT_CONFIG") or DEFAULT_CONFIG)
    try:
        source = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config: {e.strerror}") from None
    cfg = checked.read(path, source)
    if cfg is not None:
        return cfg
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return parse_config(text, str(path))


_replaced: Config | None = None


@functools.lru_cache(maxsize=1)
def _loaded() -> Config:
    return load_config()


def config() -> Config:
    """Return the process-wide config, loaded on first use (or the one use() put in its place)."""
    return _replaced if _replaced is not None else _loaded()


config.cache_clear = _loaded.cache_clear   # read the team file again at the next call


@contextlib.contextmanager
def use(replacement: Config) -> Iterator[Config]:
    """Run the product with another team configuration within this block (tests)."""
    global _replaced
    previous, _replaced = _replaced, replacement
    try:
        yield replacement
    finally:
        _replaced = previous
