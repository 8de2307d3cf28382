"""Reading the team file: YAML to a validated Config, errors that name the key (with a hint for the usual
mistakes), and the process's Config (loaded once; a test may put another in its place with use())."""
from __future__ import annotations

import contextlib
import difflib
import functools
import os
from collections.abc import Iterator
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from shared.config.schema import Config

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "teams" / "petties.yaml"


class ConfigError(Exception):
    """The team file is missing or wrong; the message names the bad key."""


# What each key checked by a pattern looks like, in words, by its path without list indexes (pydantic's own message
# shows the regular expression; tests/test_config.py fails for a pattern without its words here)
EXPECTED = {"services.health.url": "an http:// or https:// URL, e.g. https://shop.example/health"}


# libyaml's safe loader when PyYAML was built with it (its wheels are): the same documents, a tenth of the time
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_config(text: str, origin: str = "<config>") -> Config:
    """Validate YAML text into a Config, or raise ConfigError naming the bad key."""
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as e:
        raise ConfigError(f"{origin}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping at the top level")
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "string_pattern_mismatch":
                path = ".".join(str(p) for p in err["loc"] if not isinstance(p, int))
                msg = f"expected {EXPECTED.get(path, 'another form')}, got {str(err['input'])[:80]!r}"
            problems.append(f"{key}: {msg}{_hint(err)}")
        raise ConfigError(f"{origin}: " + "; ".join(problems)) from None


def _field_names(model: type[BaseModel], seen: set | None = None) -> set[str]:
    """Return every field name the team file knows, at any depth."""
    seen = set() if seen is None else seen
    for name, info in model.model_fields.items():
        seen.add(name)
        for kind in (info.annotation, *getattr(info.annotation, "__args__", ())):
            for inner in (kind, *getattr(kind, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel) and inner.__name__ not in seen:
                    seen.add(inner.__name__)
                    _field_names(inner, seen)
    return {n for n in seen if n[:1].islower()}


def _hint(err: dict) -> str:
    """Return a hint for the common mistakes: a misspelt key, an unquoted number where text is expected."""
    if err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(err["loc"][-1]), sorted(_field_names(Config)), n=1, cutoff=0.7)
        return f" (did you mean {close[0]}?)" if close else ""
    if err["type"] == "string_type" and isinstance(err.get("input"), (int, float)):
        return (f" (YAML read {err['input']!r} as a number: put it in quotes, e.g. "
                f"{err['loc'][-1]}: \"{err['input']}\")")
    return ""


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and validate the team file (INCIDENT_CONFIG, or the Petties default)."""
    path = Path(path or os.environ.get("INCIDENT_CONFIG") or DEFAULT_CONFIG)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config: {e.strerror}") from None
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
