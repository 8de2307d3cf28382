"""Cursors of paged listings (pure): the position after an item, as an opaque text the client passes back."""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime, timezone

from shared.errors import BadInput
from shared.rules.text import quoted

MAX_LIMIT = 500
MAX_CURSOR = 400   # characters; a cursor this server gives is under 200


def cursor(moment: datetime, ident: str) -> str:
    """Return the opaque cursor of the page that follows the item ordered at (moment, ident)."""
    raw = f"{moment.astimezone(timezone.utc).isoformat()}|{ident}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def after(text: str | None, valid: Callable[[str], bool]) -> tuple[datetime, str] | None:
    """Return the (moment, ident) a cursor names, None for none; BadInput for one this server did not give."""
    if not text:
        return None
    text = str(text).strip()
    if len(text) > MAX_CURSOR:
        raise BadInput(f"cursor {quoted(text)} is not one this server gave")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        at, _, ident = raw.partition("|")
        moment = datetime.fromisoformat(at)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadInput(f"cursor {quoted(text)} is not one this server gave") from None
    if moment.tzinfo is None or not valid(ident):
        raise BadInput(f"cursor {quoted(text)} is not one this server gave")
    return moment, ident


def limit(value: object, default: int) -> int:
    """Return a page size a person asked for (1 to MAX_LIMIT), or BadInput."""
    text = str(value if value is not None else "").strip()
    if not text:
        return default
    if not text.isdigit() or len(text) > 4 or not 1 <= int(text) <= MAX_LIMIT:
        raise BadInput(f"limit: expected a number from 1 to {MAX_LIMIT}, got {quoted(text)}")
    return int(text)
