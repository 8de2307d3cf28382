"""Silences and maintenance windows: planned work and known noise page nobody, and nothing is lost.

A silenced alert is ingested, deduplicated and stored as usual; its opening notifications are written as outbox
records with status `silenced`, due when the silence ends, and its escalation waits until then. At that moment
the sweep (release_due) opens it for real, exactly once: at the severity it has then, routed as it would be then
(held for business hours if that applies), with "silenced from … to …", and its SLA clocks start there. If it was
resolved meanwhile its openings are superseded and nobody hears of it. A matching silence that runs on carries it.
Silences are created and ended through the API, the console and Discord (use cases below); maintenance windows come
from the team file.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from shared import oncall
from shared.cache import TimedCache
from shared.channels.render import discord_text, local_time
from shared.config import Config, check_matchers, seconds
from shared.config.units import duration_seconds
from shared.errors import BadInput, NotFound
from shared.model import Incident, OutboxStatus, Status, TimelineEntry, iso
from shared.notify import plan
from shared.rules import ids, paging, routing
from shared.rules import silence as rules
from shared.rules.calendar import given_time
from shared.rules.sla import clocks
from shared.rules.text import clean, visible
from shared.store import changes, outbox
from shared.store import incidents as incident_store
from shared.store import silences as store

CACHE_SECONDS = 30.0  # ingest reads silences at most this often per instance; the sweep and the API read fresh
ANNOUNCE_WITHIN = timedelta(hours=1)  # a window that ended longer ago than this is not announced late
STATES = ("active", "pending", "expired")
PAGE = 100   # silences per page of GET /api/silences unless `limit` says otherwise
ANNOUNCEMENT_MAX = 2000   # Discord's limit on a message's content
_cache = TimedCache(CACHE_SECONDS)


# ---------------------------------------------------------------- at ingest

def facts(service: str, environment: str, source: str, severity: str, title: str, dedup_key: str) -> dict:
    return {"service": service, "environment": environment, "source": source, "severity": severity,
            "title": title, "dedup_key": dedup_key}


def _facts_of(incident: Incident) -> dict:
    return facts(incident.service, incident.environment, incident.source, incident.severity.label, incident.title,
                 incident.dedup_key)


def _stored(now: datetime) -> list[dict]:
    """Return silences in force or to come, reading Firestore at most every CACHE_SECONDS."""
    return [s for s in _cache.get("silences", lambda: store.ending_after(now)) if s["end"] > now]


def forget() -> None:
    """Drop the cached silences (after this instance changed them)."""
    _cache.forget()


def check(incident_facts: dict, now: datetime, cfg: Config, fresh: bool = False) -> dict | None:
    """Return what silences an incident with these facts now (a silence or window occurrence, with "until")."""
    stored = store.ending_after(now) if fresh else _stored(now)
    return rules.silencing(incident_facts, stored, rules.active_windows(cfg.maintenance, now, cfg), now)


def _who(silence: dict, cfg: Config) -> str:
    pid = silence.get("created_by") or ""
    return next((p.name for p in cfg.people if p.id == pid), pid)


def hold(records: list[dict], verdict: dict, now: datetime) -> list[dict]:
    """Turn opening records into held ones: due when the silence ends, sent by nobody before the sweep releases them."""
    return [{**r, "status": OutboxStatus.SILENCED.value, "due_at": verdict["until"], "silenced": True,
             "silence_ids": [verdict["id"]]} for r in records]


def marks(verdict: dict, now: datetime, cfg: Config) -> tuple[dict, dict]:
    """Return the incident's `silenced_by` and its timeline entry (the silence's actor and comment)."""
    by = {"id": verdict["id"], "until": verdict["until"], "from": now, "by": verdict.get("created_by"),
          "comment": verdict.get("comment", "")}
    entry = TimelineEntry(now, verdict.get("created_by") or "system", "silenced",
                          f"{verdict.get('comment') or 'silenced'} (until {local_time(verdict['until'], cfg)})")
    return by, entry.to_dict()


# ---------------------------------------------------------------- the API's use cases

def view(silence: dict, now: datetime) -> dict:
    state = "pending" if silence["start"] > now else "active" if silence["end"] > now else "expired"
    return {"id": silence["id"], "matchers": silence["matchers"], "start": iso(silence["start"]),
            "end": iso(silence["end"]), "created_by": silence["created_by"], "comment": silence["comment"],
            "include_critical": silence.get("include_critical", False), "state": state,
            "expired_by": silence.get("expired_by"), "incident": silence.get("incident")}


def create(body: dict, now: datetime, cfg: Config) -> tuple[dict, list[str]]:
    """POST /api/silences; return the silence (with a warning naming open Critical incidents it matches) and the
    notice to deliver now. Nothing is stored unless everything is right. `incident` (optional): the incident the
    silence is made from, whose timeline then records it under the actor."""
    actor = cfg.person_id(body.get("actor"))
    try:
        matchers = check_matchers(body.get("matchers"))
    except ValueError as e:
        raise BadInput(str(e)) from None
    comment = clean(body.get("comment"), 500)
    if not visible(comment):
        raise BadInput("comment is missing: say why alerts are silenced (it is shown on every silenced incident)")
    include_critical = body.get("include_critical", False)
    if not isinstance(include_critical, bool):
        raise BadInput("include_critical: expected true or false")
    start = given_time(body["start"], "start", cfg.team.zone) if body.get("start") else now
    if body.get("end") and body.get("duration"):
        raise BadInput("give end or duration, not both")
    if body.get("end"):
        end = given_time(body["end"], "end", cfg.team.zone)
    elif body.get("duration"):
        try:
            end = start + timedelta(seconds=duration_seconds(body["duration"], "duration"))
        except ValueError as e:
            raise BadInput(str(e)) from None
    else:
        raise BadInput("end or duration is missing: a silence must end")
    if end <= start:
        raise BadInput("end must be after start")
    if end <= now:
        raise BadInput("end is in the past: the silence would never be in force")
    if (end - start).total_seconds() > seconds(cfg.silences.max_duration):
        raise BadInput(f"a silence may last at most {cfg.silences.max_duration} (silences.max_duration in the team "
                       "file); split planned work into shorter silences")
    made_from = _incident(body.get("incident"))
    silence = store.add({"matchers": matchers, "start": start, "end": end, "created_by": actor, "created_at": now,
                         "comment": comment, "include_critical": include_critical,
                         **({"incident": made_from} if made_from else {})})
    forget()
    if made_from:   # the incident's record says who silenced alerts like it, and until when
        changes.add_note(made_from, TimelineEntry(now, actor, "silence", (
            f"{rules.describe(matchers)} until {local_time(end, cfg)}: {comment} (silence {silence['id']})")[:2000]
        ).to_dict())
    due: list[str] = []   # its start is announced by the next sweep, with any others that start then
    open_critical = [i for i in incident_store.list_incidents([Status.OPEN.value, Status.ACKNOWLEDGED.value], 500)
                     if i.severity.label == "critical" and rules.matches(matchers, _facts_of(i))]
    answer = view(silence, now)
    if open_critical:
        answer["warning"] = {"open_critical": [i.id for i in open_critical],
                             "message": f"{len(open_critical)} open Critical incident(s) match: "
                                        f"{', '.join(i.id for i in open_critical)}; a silence does not quiet "
                                        "what is already open"}
    else:
        answer["warning"] = None
    return answer, due


def _incident(typed: object) -> str | None:
    """The incident a silence is made from (its id), checked before anything is stored; None when none is named."""
    if typed in (None, ""):
        return None
    canonical = ids.normalize(str(typed))
    found = incident_store.get_incident(canonical) if ids.is_valid(canonical) else None
    if found is None:
        raise BadInput(f"incident: no incident {str(typed)[:40]!r}")
    return found.id


def listing(state: str | None, now: datetime, limit: object = None, cursor: str | None = None) -> dict:
    """GET /api/silences?state=active|pending|expired (default: active and pending)&limit=&cursor=: the latest end
    first, a page at a time; `next`, when more may follow, is the cursor of the following page."""
    wanted = [s.strip().lower() for s in str(state or "active,pending").split(",")[:5] if s.strip()]
    for name in wanted:
        if name not in STATES:
            raise BadInput(f"unknown state {name[:40]!r}; use active, pending or expired")
    count = paging.limit(limit, PAGE)
    live, ended = {"active", "pending"} & set(wanted), "expired" in wanted
    found = store.page(count, paging.after(cursor, lambda i: bool(re.fullmatch(r"[A-Za-z0-9_-]{1,80}", i))),
                       ends_after=None if ended else now, ends_by=None if live else now)
    views = [v for v in (view(s, now) for s in found) if v["state"] in wanted]
    following = paging.cursor(found[-1]["end"], found[-1]["id"]) if len(found) == count else None
    return {"silences": views, "count": len(views), **({"next": following} if following else {})}


def delete(silence_id: str, actor: object, now: datetime, cfg: Config) -> dict:
    """DELETE /api/silences/<id>: end it now (kept for the record); what it held is released by the next sweep."""
    who = cfg.person_id(actor) if actor else None
    silence = store.expire(silence_id, now, who)
    if silence is None:
        raise NotFound(f"no silence {str(silence_id)[:40]!r}")
    store.release_now(silence["id"], now)
    forget()
    return view(silence, now)


# ---------------------------------------------------------------- in the sweep

def release_due(now: datetime, cfg: Config) -> list[str]:
    """Release (or re-hold, or supersede) every silenced opening due at `now`; return the records to send now."""
    by_incident: dict[str, list[dict]] = {}
    for record in store.held_openings(now):
        by_incident.setdefault(record["incident_id"], []).append(record)
    due: list[str] = []
    for incident_id, records in by_incident.items():
        due += _release(incident_id, records, now, cfg)
    return due


def _release(incident_id: str, records: list[dict], now: datetime, cfg: Config) -> list[str]:
    doc, token = store.incident_snapshot(incident_id)
    if doc is None or doc.get("status") == Status.RESOLVED.value or not doc.get("active", True):
        gone = {r["id"]: {"status": OutboxStatus.SUPERSEDED.value, "finished_at": now} for r in records}
        store.settle(incident_id, token, {}, [], gone, [])  # resolved while silenced: announced never
        return []
    incident = Incident.from_doc(doc)
    verdict = check(_facts_of(incident), now, cfg, fresh=True)
    if verdict:  # another silence carries it on
        by, entry = marks(verdict, now, cfg)
        by["from"] = (doc.get("silenced_by") or {}).get("from", now)
        updates = {r["id"]: {"due_at": verdict["until"], "silence_ids": store.array_union([verdict["id"]])}
                   for r in records}
        store.settle(incident_id, token, {"silenced_by": by, "next_check_at": verdict["until"]}, [entry], updates, [])
        return []
    since = (doc.get("silenced_by") or {}).get("from") or min(r["created_at"] for r in records)
    fresh = {r["id"]: r for r in plan.on_open(incident_id, incident.severity, incident.environment, now, cfg,
                                              oncall.primary_now(now, cfg))}
    updates = {}
    for record in records:
        new = fresh.pop(record["id"], None)
        updates[record["id"]] = {"status": OutboxStatus.SUPERSEDED.value, "finished_at": now} if new is None else \
            {k: new[k] for k in ("status", "due_at", "template", "mentions", "recipients")}
    creates = [r for r in fresh.values() if outbox.get(r["id"]) is None]  # a channel its new severity reaches
    line = f"silenced from {local_time(since, cfg)} to {local_time(now, cfg)}"
    fields = {**clocks(incident.severity, incident.environment, now, now, cfg), "silenced_by.released_at": now,
              "silenced_by.line": line}
    entry = TimelineEntry(now, "system", "silence ended", f"{line}; announced now, SLA clocks start now").to_dict()
    if not store.settle(incident_id, token, fields, [entry], updates, creates):
        return []  # it changed meanwhile: the records are still silenced and due, the next sweep tries again
    return [rid for rid, u in updates.items() if u["status"] == OutboxStatus.PENDING] + \
        [r["id"] for r in creates if r["status"] == OutboxStatus.PENDING]


def _together(lines: list[str]) -> str:
    """Several announcements as one message, within Discord's 2,000 characters."""
    text, shown = f"{len(lines)} silences started or ended:", 0
    for line in lines:
        if len(text) + len(line) + 40 > ANNOUNCEMENT_MAX:
            break
        text, shown = f"{text}\n{line}", shown + 1
    return text + (f"\n… and {len(lines) - shown} more (GET /api/silences)" if shown < len(lines) else "")


def _span(start: datetime, end: datetime, cfg: Config) -> str:
    first, last = start.astimezone(cfg.team.zone), end.astimezone(cfg.team.zone)
    if first.date() == last.date():
        return f"{first:%H:%M}-{last:%H:%M}"
    return f"{first:%a %d %b %H:%M}-{last:%a %d %b %H:%M}"


def _notice(key: str, reason: str, text: str, now: datetime, cfg: Config) -> list[str]:
    chat = routing.team_chat(cfg)   # the team's chat: Discord, or Slack for a team that uses Slack
    rid = outbox.record_id(key, reason, chat)
    if outbox.get(rid) is not None:
        return []
    created = outbox.enqueue([plan.text_record(rid, reason, chat, text, now)])
    return [rid] if created and created[0] else []


def _start_line(silence: dict, cfg: Config) -> str:
    who = silence.get("created_by", "")
    by = who if silence.get("window") else _who(silence, cfg)
    return (f"🔕 Silenced: {discord_text(rules.describe(silence['matchers']))}, "
            f"{_span(silence['start'], silence['end'], cfg)}, by {discord_text(by)}: "
            f"{discord_text(silence['comment'])}")


def _end_line(silence: dict, cfg: Config) -> str:
    suppressed = sorted({r["incident_id"] for r in store.records_of(silence["id"]) if r.get("incident_id")})
    return (f"🔔 Silence ended: {discord_text(rules.describe(silence['matchers']))}, "
            f"{_span(silence['start'], silence['end'], cfg)} "
            f"({'suppressed: ' + ', '.join(suppressed) if suppressed else 'nothing suppressed'})")


def _announce_start(silence: dict, now: datetime, cfg: Config) -> list[str]:
    return _notice(f"silence-{silence['id']}", "notice-silenced", _start_line(silence, cfg), now, cfg)


def _announce_end(silence: dict, now: datetime, cfg: Config) -> list[str]:
    return _notice(f"silence-{silence['id']}", "notice-silence-ended", _end_line(silence, cfg), now, cfg)


def announce(now: datetime, cfg: Config) -> list[str]:
    """Post once when silences start and when they end: one message for all that the sweep finds (however many
    people created at once), one per maintenance window; return the notices to send now."""
    lines, marks = [], []
    for silence in store.unannounced():
        if silence["end"] <= now:
            if silence.get("announced_start"):
                lines.append(_end_line(silence, cfg))
                marks.append((silence, {"announced_end": True, "announced_start": True}))
            else:  # ended before it ever started (deleted while pending): nothing to say
                store.mark(silence["id"], {"announced_end": True})
        elif silence["start"] <= now and not silence.get("announced_start"):
            lines.append(_start_line(silence, cfg))
            marks.append((silence, {"announced_start": True}))
    due: list[str] = []
    if len(marks) == 1:
        silence, _ = marks[0]
        reason = "notice-silence-ended" if silence["end"] <= now else "notice-silenced"
        due += _notice(f"silence-{silence['id']}", reason, lines[0], now, cfg)
    elif marks:
        due += _notice(f"silences-{now:%Y%m%dT%H%M%S}", "notice-silences", _together(lines), now, cfg)
    for silence, fields in marks:
        store.mark(silence["id"], fields)
    for window in cfg.maintenance:
        for occurrence in rules.occurrences(window, now - ANNOUNCE_WITHIN, now + timedelta(seconds=1), cfg):
            if occurrence["end"] <= now:
                due += _announce_end(occurrence, now, cfg)
            elif occurrence["start"] <= now:
                due += _announce_start(occurrence, now, cfg)
    return due


def sweep(now: datetime, cfg: Config) -> list[str]:
    """The sweep's part: release what silences held and announce starts and ends; return records to send now."""
    return release_due(now, cfg) + announce(now, cfg)

