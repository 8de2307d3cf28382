"""The on-call handoff: posted when the rotation turns over, and on demand (GET /api/handoff)."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from shared import oncall
from shared.channels import discord, render
from shared.config import Config
from shared.notify import plan
from shared.rules import oncall as rotation
from shared.rules import routing
from shared.store import incidents as store
from shared.store import oncall as oncall_store
from shared.store import outbox

POST_WITHIN = timedelta(hours=1)   # a sweep that missed the handover by more than this does not post it late


def compose(now: datetime, cfg: Config) -> dict:
    """Return the handoff as of `now`: who hands to whom, active issues, things to watch, notes."""
    handover = rotation.next_handover(now, cfg) - timedelta(days=7)
    before, after = oncall.at(handover - timedelta(minutes=1), cfg), oncall.at(now, cfg)
    active = store.list_incidents(["open", "acknowledged"], 50)
    watch = []
    for incident in active:
        for due, what in ((incident.respond_by, "response"), (incident.resolve_by, "resolution")):
            if due and now <= due <= now + timedelta(hours=24) and not (what == "response" and
                                                                         incident.acknowledged_at):
                watch.append(f"{incident.id}: {what} due {render.local_time(due, cfg)} (near an SLA breach)")
    week = store.incidents_created_since(now - timedelta(days=7), 500)
    flaps = Counter(i.title.split(" is down")[0] for i in week if i.source == "uptimerobot")
    watch += [f"{name} went down {count} times this week" for name, count in flaps.items() if count >= 2]
    notes = list(cfg.handoff_notes) + [f"{n['text']} (@{cfg.person(n['actor']).name})"
                                       for n in oncall_store.handoff_notes_since(handover - timedelta(days=7))]
    notes += [f"{s.name} dashboard: {s.dashboard_url}" for s in cfg.services if s.dashboard_url]
    return {
        # the rotation's outgoing and incoming on-call; an override in force is listed as such, not as either
        "date": render.local_time(handover, cfg)[:10], "from": before.rotation_primary, "to": after.rotation_primary,
        "overrides": [{"covering": o["covering"], "for": o.get("for") or who.rotation_primary,
                       "until": render.local_time(o["end"], cfg)}
                      for who, o in ((after, after.override),) if o],
        "active": [{"id": i.id, "title": i.title, "severity": i.severity.name.title(), "status": i.status}
                   for i in active],
        "watch": watch, "notes": notes,
    }


def text(handoff: dict, cfg: Config) -> tuple[str, tuple[str, ...]]:
    """Render the handoff for Discord; return the text and the people it names."""
    giver, taker = render.people((handoff["from"],), cfg), render.people((handoff["to"],), cfg)
    who = render.people((handoff["from"], handoff["to"]), cfg)
    ctx = {**handoff, "from_": giver.shown, "to": taker.shown,
           "overrides": [{**o, "covering": render.people((o["covering"],), cfg).names,
                          "for": cfg.person(o["for"]).name} for o in handoff["overrides"]],
           "active": [{**a, "title": render.discord_text(a["title"])} for a in handoff["active"]],
           "watch": [render.discord_text(w) for w in handoff["watch"]],
           "notes": [render.discord_text(n) for n in handoff["notes"]]}
    return render.truncate(render.template("discord/handoff.md.j2", ctx), discord.CONTENT_MAX), \
        who.discord_ids


def post_once(now: datetime, cfg: Config) -> str | None:
    """Write the outbox record for the handoff that just happened, once per handover; return its id.

    The record's id is the claim: creating it is the one write, so a sweep that fails half-way leaves
    nothing behind and the next minute's sweep posts it.
    """
    handover = rotation.next_handover(now, cfg) - timedelta(days=7)
    if not handover <= now < handover + POST_WITHIN:
        return None
    chat = routing.team_chat(cfg)
    rid = outbox.record_id(f"handoff-{handover:%Y%m%dT%H%M}", "handoff", chat)
    if outbox.get(rid) is not None:
        return None
    body, pings = text(compose(now, cfg), cfg)
    return rid if outbox.enqueue([plan.text_record(rid, "handoff", chat, body, now, pings=pings)])[0] else None
