"""A daily report made again (POST /daily_summary/?date=...&recompute=1): what changed, said in one correction.

The figures compared are those the report shows: uptime (overall and per service), requests and errors, response
time, incidents by severity, top errors, action items and notes. A figure its source cannot give now (Sentry
unreachable, probe results expired) stays as stored rather than becoming "n/a".
"""
from __future__ import annotations

from shared.channels import render

MESSAGE_MAX = 2000   # Discord's limit on a message's content
UNKNOWN = "n/a"


def kept(stored: dict, fresh: dict) -> dict:
    """Return the fresh report, with the stored traffic and response time where only the stored one has figures."""
    out = dict(fresh)
    for block, figure in (("traffic", "requests"), ("traffic", "errors"), ("response_time", "avg_ms")):
        before, now = stored.get(block) or {}, fresh.get(block) or {}
        if before.get(figure) is not None and now.get(figure) is None:
            out[block] = before
    return out


def _percent(value: object) -> str:
    return UNKNOWN if value is None else f"{value:.2f}%"


def _number(value: object, unit: str = "") -> str:
    return UNKNOWN if value is None else f"{value:,}{unit}"


def _changed(what: str, before: str, after: str) -> list[str]:
    return [] if before == after else [f"{what} {after} (was {before})"]


def _uptime(stored: dict, fresh: dict) -> list[str]:
    old, new = stored.get("uptime") or {}, fresh.get("uptime") or {}
    out = []
    old_services, new_services = old.get("services") or {}, new.get("services") or {}
    for name in sorted(set(old_services) | set(new_services)):
        a, b = old_services.get(name) or {}, new_services.get(name) or {}
        out += _changed(f"uptime of {name}", _percent(a.get("percent")), _percent(b.get("percent"))) or \
            _changed(f"downtime of {name}", _number(a.get("downtime_minutes"), " min"),
                     _number(b.get("downtime_minutes"), " min"))
    out += _changed("overall uptime", _percent(old.get("percent")), _percent(new.get("percent"))) or \
        _changed("overall downtime", _number(old.get("downtime_minutes"), " min"),
                 _number(new.get("downtime_minutes"), " min"))
    return out


def _traffic(stored: dict, fresh: dict) -> list[str]:
    old, new = stored.get("traffic") or {}, fresh.get("traffic") or {}
    rt_old, rt_new = stored.get("response_time") or {}, fresh.get("response_time") or {}
    return (_changed("requests", _number(old.get("requests")), _number(new.get("requests")))
            + _changed("errors", _number(old.get("errors")), _number(new.get("errors")))
            + _changed("error rate", _percent(old.get("error_rate")), _percent(new.get("error_rate")))
            + _changed("average response time", _number(rt_old.get("avg_ms"), " ms"),
                       _number(rt_new.get("avg_ms"), " ms")))


def _incidents(stored: dict, fresh: dict) -> list[str]:
    out = []
    old, new = stored.get("by_severity") or {}, fresh.get("by_severity") or {}
    for label in [s for s in new if s in old] + [s for s in new if s not in old]:
        a, b = old.get(label) or {}, new.get(label) or {}
        out += _changed(f"{label} incidents opened", _number(a.get("opened")), _number(b.get("opened")))
        out += _changed(f"{label} incidents resolved", _number(a.get("resolved")), _number(b.get("resolved")))

    def top(report: dict) -> str:
        shown = [f"{e['title'][:60]} ({e['occurrences']}, {e['id']})"
                 for e in report.get("top_errors") or []]
        return ", ".join(shown) or "none"
    return out + _changed("top errors", top(stored), top(fresh))


def _item(a: dict) -> str:
    return f"{a['id']}: {a['title'][:80]} ({a['why']})"


def _listed(stored: dict, fresh: dict) -> list[str]:
    out = []
    for key, name in (("action_items", "action item"), ("notes", "note")):
        def shown(report: dict, key=key) -> list[str]:
            return [_item(a) if isinstance(a, dict) else str(a) for a in report.get(key) or []]
        before, after = shown(stored), shown(fresh)
        out += [f"{name} added: {x}" for x in after if x not in before]
        out += [f"{name} no longer listed: {x}" for x in before if x not in after]
    return out


def changes(stored: dict, fresh: dict) -> list[str]:
    """Return what the fresh report says differently from the stored one, figure by figure (empty: nothing)."""
    out = _uptime(stored, fresh) + _traffic(stored, fresh) + _incidents(stored, fresh) + _listed(stored, fresh)
    for block in ("uptime", "traffic", "response_time"):   # what a figure rests on ("maintenance left out", "n/a")
        before, after = (stored.get(block) or {}).get("note"), (fresh.get(block) or {}).get("note")
        if before != after:
            out.append(f"{block.replace('_', ' ')}: {after or 'no note'} (was {before or 'no note'})")
    return out


def message(day: str, changed: list[str]) -> str:
    """The correction as posted: 'Correction to the 2026-11-24 report: uptime of petties-backend 99.65% (was
    23.81%); ...' (Discord Markdown: titles from alerts made inert)."""
    return render.truncate(render.discord_text(f"Correction to the {day} report: " + "; ".join(changed)), MESSAGE_MAX)
