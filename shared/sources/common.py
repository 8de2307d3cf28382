"""What every inbound source shares: the request view, errors and tolerant field readers."""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from dataclasses import field
from datetime import datetime, timezone
from urllib.parse import parse_qsl

from shared.config.frozen import frozen
from shared.config.settings import Secret
from shared.errors import BadInput, Unauthorized
from shared.rules import calendar
from shared.rules.text import clean


@frozen
class InboundRequest:
    """An HTTP request as sources see it: raw body, lower-cased headers, query parameters."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    @property
    def content_type(self) -> str:
        return self.header("content-type").split(";")[0].strip().lower()

    def json_object(self) -> dict:
        """Return the body as a JSON object or raise BadInput saying why not."""
        if not self.body.strip():
            raise BadInput("empty body: expected a JSON object")
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as e:
            raise BadInput(f"body is not valid JSON: {e}") from None
        except RecursionError:
            raise BadInput("body is not usable JSON: nested too deeply") from None
        if not isinstance(data, dict):
            raise BadInput(f"expected a JSON object, got {type(data).__name__}")
        return data

    def form(self) -> dict[str, str]:
        """Return the body as form fields (application/x-www-form-urlencoded)."""
        try:
            return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise BadInput("form body is not UTF-8") from None


def check_token(req: InboundRequest, expected: Secret) -> None:
    """Accept the shared token from ?token=, X-Ingest-Token or Authorization: Bearer."""
    if not expected:
        raise Unauthorized("INGEST_TOKEN is not configured on the server")
    auth = req.header("authorization")
    given = (req.query.get("token") or req.header("x-ingest-token")
             or (auth[7:].strip() if auth.lower().startswith("bearer ") else ""))
    if not given:
        raise Unauthorized("missing token: add ?token=<INGEST_TOKEN> to the URL")
    if not hmac.compare_digest(given.encode(), expected.reveal().encode()):
        raise Unauthorized("wrong token")


def hmac_sha256(secret: str | bytes, message: bytes) -> str:
    """The lowercase-hex HMAC-SHA256 of a message: what Sentry (Sentry-Hook-Signature) and Grafana
    (X-Grafana-Alerting-Signature) send, and what the local alert tool, the tests and the benchmarks sign with."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def check_hmac_sha256(secret: Secret, message: bytes, signature: str, header: str) -> None:
    """Verify a lowercase-hex HMAC-SHA256 signature in constant time."""
    if not secret:
        raise Unauthorized(f"cannot verify {header}: its secret is not configured on the server")
    if not signature:
        raise Unauthorized(f"missing {header} header")
    expected = hmac_sha256(secret.reveal(), message)
    if not hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
        raise Unauthorized(f"wrong {header}")


_PLACEHOLDER = re.compile(r"^(\*[A-Za-z_]+\*|\$[A-Za-z_]+|\{\{.*\}\})$")


def text(value: object) -> str:
    """Return a field as trimmed text; None and unsubstituted placeholders become ''; a lone surrogate (which no
    store can encode) becomes U+FFFD."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    s = clean(value)
    return "" if _PLACEHOLDER.match(s) else s


MAX_INTEGER = 2 ** 53  # what every JSON reader and Firestore hold exactly


def integer(value: object, name: str, minimum: int = 0) -> int | None:
    """Return a whole number from an int or a numeric string ('12', '12.0') within minimum..2^53; '' or None is
    None; anything else (inf, nan, 1e400, a negative count) is BadInput naming the field."""
    if isinstance(value, bool):
        raise BadInput(f"{name}: expected a number, got {value!r}")
    if isinstance(value, int):
        number = value
    else:
        s = text(value)
        if not s:
            return None
        try:
            parsed = float(s)
        except ValueError:
            raise BadInput(f"{name}: expected a number, got {s[:40]!r}") from None
        if not math.isfinite(parsed):
            raise BadInput(f"{name}: expected a finite number, got {s[:40]!r}")
        number = int(parsed)
    if not minimum <= number <= MAX_INTEGER:
        raise BadInput(f"{name}: expected a number from {minimum} to {MAX_INTEGER}, got {str(number)[:40]}")
    return number


def timestamp(value: object) -> datetime | None:
    """Return a UTC datetime from ISO-8601 text or unix seconds; unreadable values and times outside
    calendar.EARLIEST..LATEST are None (the alert then counts from when it arrived)."""
    s = text(value)
    if not s:
        return None
    try:
        if re.fullmatch(r"\d+(\.\d+)?", s):
            parsed = datetime.fromtimestamp(float(s), tz=timezone.utc)
        else:
            parsed = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return calendar.in_range(parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc))


MAX_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE = 50, 100, 200


def tags(value: object) -> dict[str, str]:
    """Return Sentry-style tags ([[k, v]], [{key, value}] or {k: v}) as a bounded dict of safe names."""
    if isinstance(value, dict):
        pairs = list(value.items())
    else:
        pairs = []
        for item in value if isinstance(value, list) else []:
            if isinstance(item, (list, tuple)) and len(item) == 2:
                pairs.append((item[0], item[1]))
            elif isinstance(item, dict) and "key" in item:
                pairs.append((item["key"], item.get("value")))
    out: dict[str, str] = {}
    for key, val in pairs:
        name = text(key)[:MAX_TAG_KEY]
        # Firestore refuses empty field names and reserves __name__-style ones
        if name and not (name.startswith("__") and name.endswith("__")) and len(out) < MAX_TAGS:
            out[name] = text(val)[:MAX_TAG_VALUE]
    return out


def obj(value: object, name: str) -> dict:
    """Return value if it is a JSON object, else raise BadInput naming the field."""
    if not isinstance(value, dict):
        raise BadInput(f"{name}: expected an object, got {type(value).__name__ if value is not None else 'nothing'}")
    return value
