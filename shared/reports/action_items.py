"""The daily report's action items: what was owed when the day it reports ended (incidents open then, unacknowledged
or past their resolution SLA; postmortem action items open then and past their deadline) and what the day resolved.
Reading them as they were at the day's end keeps a report the same whenever it runs: an incident opened the next
morning is not the day's, one resolved the next morning still was owed."""
from __future__ import annotations

from datetime import date, datetime

from shared import oncall
from shared.config import Config
from shared.model import Incident
from shared.rules import day_end
from shared.store import incidents as store
from shared.store import postmortems as postmortem_store

SHOWN = 10     # incidents owed, and resolved, listed at most
READ = 200     # postmortems (and incidents resolved since the day's end) read at most


def at_day_end(day: date, start: datetime, end: datetime, recent: list[Incident], cfg: Config) -> list[dict]:
    """Return the day's action items: `recent` holds the incidents opened since a while before `start`."""
    on_call = oncall.at(end, cfg).primary   # who had what nobody had taken, when the day ended
    names = {p.id: p.name for p in cfg.people}

    def shown(pid: str | None) -> str:
        return names.get(pid or "", pid or "")

    # open at the day's end: opened recently, still open now, or opened long ago and resolved since the day ended
    candidates = {i.id: i for i in [*store.list_incidents(["open", "acknowledged"], 100),
                                    *postmortem_store.resolved_since(end, READ), *recent]}
    opened = sorted((i for i in candidates.values() if day_end.open_at(i, end)), key=lambda i: i.created_at,
                    reverse=True)
    owed = [(i, why) for i in opened if (why := day_end.owed(i, end))]
    items = [{"done": False, "id": i.id, "title": i.title[:120], "owner": shown(day_end.owner_at(i, end, on_call)),
              "why": why} for i, why in owed[:SHOWN]]
    resolved = [i for i in recent if i.resolved_at and start <= i.resolved_at < end and not i.invalid]
    items += [{"done": True, "id": i.id, "title": i.title[:120], "owner": shown(i.owner or on_call),
               "why": "resolved"} for i in resolved[:SHOWN]]
    return items + _postmortem_items(day, end, names)


def _postmortem_items(day: date, end: datetime, names: dict[str, str]) -> list[dict]:
    """Postmortem action items open at the day's end whose deadline was before the day: those not done yet, and
    those done since the day ended."""
    found: dict[str, dict] = {}
    for pm in postmortem_store.with_overdue_items(day.isoformat(), READ) + postmortem_store.done_since(end, READ):
        held = found.setdefault(pm["incident"], {**pm, "action_items": {}})
        held["action_items"].update({a["n"]: a for a in pm.get("action_items") or []})
    out = []
    for pm in found.values():
        for _, item in sorted(pm["action_items"].items()):
            if (item.get("deadline") and item["deadline"] < day.isoformat()
                    and day_end.item_open_at(item, end, pm.get("created_at"))):
                out.append({"done": False, "id": pm["incident"], "title": item["action"][:120],
                            "owner": names.get(item["owner"], item["owner"]),
                            "why": f"postmortem action item, due {item['deadline']}"})
    return out
