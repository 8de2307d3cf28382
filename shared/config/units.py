"""The team file's small types: clock times, days, durations (5m, 1h, 2d), SLA terms and silence matchers, with the
checks that read them and the helpers rules use (seconds, duration).

A check rides on its type as `Annotated[str, Check(fn)]`: pydantic runs it when a team file is validated
(Check's __get_pydantic_core_schema__, pydantic's hook for custom types), while importing this module needs
neither pydantic nor RE2, so a function that starts from the deploy's checked form loads neither."""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import date, time, timedelta
from typing import Annotated, Any


class Check:
    """A check on a team file value: `fn` returns the value or raises ValueError saying what is wrong (pydantic
    reports it under the key, as "Value error, <message>")."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[Any], Any]):
        self.fn = fn

    def __get_pydantic_core_schema__(self, source: Any, handler: Callable[[Any], Any]) -> Any:
        from pydantic_core import core_schema  # only when a team file is validated

        return core_schema.no_info_after_validator_function(self.fn, handler(source))


def _at_least_one(value: list) -> list:
    if not value:
        raise ValueError("expected at least one item, got none")
    return value


AT_LEAST_ONE = Check(_at_least_one)


def between(low: float, high: float, *, above_low: bool = False) -> Check:
    """A number from `low` (or above it, with above_low) to `high`."""
    def check(value: float) -> float:
        if value < low or (above_low and value == low) or value > high:
            raise ValueError(f"expected a number {'above' if above_low else 'from'} {low:g} "
                             f"{'and at most' if above_low else 'to'} {high:g}, got {value!r}")
        return value
    return Check(check)


def _hhmm(value: str) -> time:
    if not re.fullmatch(r"\d{2}:\d{2}", str(value)):
        raise ValueError(f"expected HH:MM, got {value!r}")
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"expected HH:MM, got {value!r}") from None


def _check_hhmm(value: str) -> str:
    _hhmm(value)
    return value


ClockTime = Annotated[str, Check(_check_hhmm)]  # "09:00", local time


def _check_year(value: date) -> date:
    if not 2000 <= value.year <= 2099:
        raise ValueError(f"expected a date from 2000 to 2099, got {value.isoformat()}")
    return value


Day = Annotated[date, Check(_check_year)]  # rotation and sprint arithmetic stays far from year 9999


DURATION = re.compile(r"^(\d+)\s*(m|min|h|d)$")
SLA_SPECIAL = ("next_business_day", "end_of_sprint", "next_sprint")


def _check_sla_term(value: str) -> str:
    if value in SLA_SPECIAL or DURATION.match(str(value).strip()):
        return value
    raise ValueError(f"expected a duration like 15m, 1h, 2d or one of {', '.join(SLA_SPECIAL)}, got {value!r}")


SlaTerm = Annotated[str, Check(_check_sla_term)]


def _check_duration(value: str) -> str:
    if not DURATION.match(str(value).strip()):
        raise ValueError(f"expected a duration like 5m, 1h or 2d, got {value!r}")
    return value


Duration = Annotated[str, Check(_check_duration)]   # "5m", "1h", "2d"


MAX_DURATION_SECONDS = 10 * 366 * 86400   # ten years: longer is a typo, and past it dates leave the calendar


def seconds(duration: str) -> int:
    """Return a Duration in seconds."""
    number, unit = DURATION.match(duration.strip()).groups()
    return int(number) * {"m": 60, "min": 60, "h": 3600, "d": 86400}[unit]


def duration_seconds(value: object, name: str) -> int:
    """Return a duration a person gave (30m, 2h, 1d) in seconds, or ValueError naming `name`: not a duration, or
    longer than ten years."""
    text = str(value if value is not None else "").strip()
    if len(text) > 20 or not DURATION.match(text):
        raise ValueError(f"{name}: expected a duration like 30m, 2h or 1d, got {text[:40]!r}")
    total = seconds(text)
    if total > MAX_DURATION_SECONDS:
        raise ValueError(f"{name}: {text[:40]} is longer than ten years")
    return total


def duration(term: str) -> timedelta:
    """Return the timedelta of a duration term such as 15m, 1h or 2d."""
    return timedelta(seconds=seconds(term))


MATCHER_KEYS = ("service", "environment", "source", "severity", "title", "dedup_key")
SEVERITY_NAMES = ("critical", "high", "medium", "low")
MAX_PATTERN = 200   # characters of one matcher's value
_UNSTORABLE = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")   # lone surrogates, controls


@functools.lru_cache(maxsize=2048)
def regex(pattern: str):
    """Return a matcher's regular expression (the text after `~`) compiled with RE2, whose matching takes time
    linear in the text whatever the pattern (Python's re backtracks: `(a+)+$` on 26 a's took seconds); ValueError
    for a pattern RE2 does not accept (backreferences, lookarounds) or an empty one."""
    import re2  # not at import: a function that never matches a pattern never loads it

    if not pattern:
        raise ValueError("an empty regular expression matches everything")
    try:
        return re2.compile(pattern)
    except re2.error as e:
        raise ValueError(f"RE2 does not accept it ({str(e)[:80]})") from None


def check_matchers(value: object) -> dict[str, str]:
    """Return silence matchers as given, or raise ValueError saying what is wrong (unknown key, bad regex, ...)."""
    if not isinstance(value, dict) or not value:
        raise ValueError(f"matchers: give at least one of {', '.join(MATCHER_KEYS)}")
    for key, pattern in value.items():
        if key not in MATCHER_KEYS:
            raise ValueError(f"matchers: unknown key {str(key)[:40]!r} (use {', '.join(MATCHER_KEYS)})")
        if not isinstance(pattern, str) or not pattern.strip():
            raise ValueError(f"matchers.{key}: expected a non-empty text")
        if len(pattern) > MAX_PATTERN or _UNSTORABLE.search(pattern):
            raise ValueError(f"matchers.{key}: expected at most {MAX_PATTERN} characters of plain text")
        if pattern.startswith("~"):
            try:
                regex(pattern[1:])
            except ValueError as e:
                raise ValueError(f"matchers.{key}: invalid regular expression {pattern[:60]!r}: {e}") from None
        elif key == "severity" and "*" not in pattern and pattern not in SEVERITY_NAMES:
            raise ValueError(f"matchers.severity: unknown severity {pattern[:40]!r} (use {', '.join(SEVERITY_NAMES)})")
    return value


Matchers = Annotated[dict[str, str], Check(check_matchers)]
