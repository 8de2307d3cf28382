"""Untrusted text made storable (pure): every caller-controlled string goes through clean() before Firestore."""
from __future__ import annotations

import re
import unicodedata

_UNSTORABLE = re.compile(r"[\ud800-\udfff]")                     # lone surrogates: no encoder takes them
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")       # control characters other than \t \n \r


def storable(text: str) -> str:
    """Return text Firestore can store: lone surrogates as U+FFFD, control characters (but tab and line breaks)
    dropped; nothing trimmed."""
    return _CONTROL.sub("", _UNSTORABLE.sub("\ufffd", text))


def storable_json(value: object) -> object:
    """Return a parsed JSON value with every text in it (keys too) storable: what a caller sends as JSON (a lone
    surrogate is valid JSON, "\\ud800") can then never make Firestore refuse a write."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(k): storable_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable_json(v) for v in value]
    return value


def clean(value: object, limit: int | None = None) -> str:
    """Return the value as text with lone surrogates as U+FFFD and control characters dropped, trimmed and cut
    to `limit` characters."""
    text = _CONTROL.sub("", _UNSTORABLE.sub("\ufffd", "" if value is None else str(value))).strip()
    return text[:limit] if limit is not None else text


def quoted(value: object, limit: int = 40) -> str:
    """Return a short quoted prefix of a caller's value for an error answer or a log line (never the whole)."""
    text = clean(value)
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def visible(text: str) -> bool:
    """True when the text has a character a person can see (not only spaces, zero-width or control characters)."""
    return any(unicodedata.category(c)[0] not in "ZC" for c in text)
