"""Reactions are actions (Discord bot mode): the sweep's stage that reads the reactions on each open incident's alert
and takes the step an emoji means (👀 acknowledge, 🔍 🔧 🔄 progress, ✅ resolve, ❌ invalid) as the first team member
who reacted, with the same actions as a button, so the thread says it: "👀 @Dev B: Acknowledged, investigating
(reacted) (15:45)".

A function cannot hold Discord's gateway open, so it asks: GET the alert message (its `reactions` carry a count
per emoji), and only for an emoji whose count changed since the last read, the users who reacted
(https://discord.com/developers/docs/resources/message#get-reactions, sorted by user id, up to 100 a page with
`after`). A 429, a 5xx or a network failure ends the stage for this run (the next minute's run reads again); a
message that is gone (404) or not ours to read (403) is noted and not asked about again.
"""
from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from shared import log
from shared.channels import REGISTRY
from shared.channels.base import Result, classify, request, transport_error
from shared.channels.discord import CLOSING_STEPS, Bot, Discord
from shared.clock import clock
from shared.config import Config
from shared.config.settings import Settings
from shared.errors import AlreadyAcknowledged, Closed, Contended, NotFound
from shared.incidents import actions
from shared.lazy import httpx
from shared.model import Incident, OutboxStatus
from shared.rules import reactions as rules
from shared.rules.workflow import PHASES
from shared.store import outbox
from shared.store import reactions as store

STAGE_BUDGET = 5.0       # seconds of the sweep's RUN_BUDGET this stage may use; what is left waits a minute
MAX_MESSAGES = 20        # alerts read per run; with more open incidents, each run starts further along the list
MAX_INCIDENTS = 500      # open incidents looked at (the escalation sweep's batch)
# A 👀 on an unacknowledged incident must stop its escalation, so those alerts are read every minute; the steps
# after it (🔍 🔧 🔄 ✅ ❌) can wait a few minutes, so acknowledged incidents' alerts are read every fifth minute:
# each open incident costs a Firestore read per read of its alert, and the day's reads stay within the free tier.
ACKNOWLEDGED_EVERY = 5   # minutes
CALL_TIMEOUT = 3.0       # one Discord call
USERS_PAGE = 100         # Discord's maximum `limit` for GET .../reactions/{emoji}
MAX_PAGES = 3            # users listed per emoji: 300 is more than any team


class Stop(Exception):
    """Discord asked us to slow down or is failing: leave the rest to the next run."""


def _get(bot: Bot, path: str, deadline: float, params: dict | None = None) -> tuple[Result, object]:
    """GET one Discord resource with the bot's token; return how it went and the answer's JSON."""
    try:
        response = request(bot.channel, "GET", f"{bot.api}{path}", deadline, params=params,
                           headers={"Authorization": f"Bot {bot.token.reveal()}"})
    except httpx.HTTPError as e:
        return transport_error(e), None
    result = classify(response)
    try:
        return result, (response.json() if result.ok else None)
    except ValueError:
        return Result(False, retryable=True, error="an answer that is not JSON"), None


class Reader:
    """Discord calls within the stage's time, pausing when a rate-limit bucket runs dry."""

    def __init__(self, bot: Bot, deadline: float):
        self.bot, self.timer, self.deadline = bot, clock(), deadline

    def get(self, path: str, params: dict | None = None) -> tuple[Result, object]:
        left = self.deadline - self.timer.monotonic()
        if left <= 0.5:
            raise Stop("out of time")
        result, answer = _get(self.bot, path, min(CALL_TIMEOUT, left), params)
        if result.retryable:
            raise Stop(result.error)
        if result.pause:   # the bucket is empty: wait for it if that fits, else the next run goes on
            if result.pause >= self.deadline - self.timer.monotonic() - 0.5:
                raise Stop("rate limit bucket empty")
            self.timer.sleep(result.pause)
        return result, answer

    def users(self, ref: str, emoji: str) -> list[dict]:
        """Return the users who reacted with `emoji`, in Discord's order (by id)."""
        channel_id, message_id = ref.split("/", 1)
        path = f"/channels/{channel_id}/messages/{message_id}/reactions/{quote(emoji, safe='')}"
        found: list[dict] = []
        for _ in range(MAX_PAGES):
            params = {"limit": str(USERS_PAGE), **({"after": found[-1]["id"]} if found else {})}
            result, page = self.get(path, params)
            page = [u for u in page if isinstance(u, dict) and u.get("id")] if isinstance(page, list) else []
            found += page
            if not result.ok or len(page) < USERS_PAGE:
                break
        return found


def _bots(settings: Settings) -> dict[str, Bot]:
    chats = [c(settings) for c in REGISTRY.values() if issubclass(c, Discord)]
    return {c.name: bot for c in chats if (bot := c.bot()) is not None}


def _kept(incident: Incident, channel: str) -> dict:
    """What the last read of this incident's alert on this channel kept (nothing before the first)."""
    kept = (incident.doc.get(store.FIELD) or {}).get(channel)
    return kept if isinstance(kept, dict) else {}


def _ref(incident: Incident, channel: str, opened: dict[str, dict]) -> str:
    """The alert's '<channel id>/<message id>' on this channel: kept on the incident, else its opening record."""
    kept = _kept(incident, channel)
    if kept.get("error"):
        return ""   # gone or out of reach: not asked about again
    if kept.get("ref"):
        return str(kept["ref"])
    record = opened.get(outbox.record_id(incident.id, "opened", channel)) or {}
    ref = str(record.get("ref") or "")
    return ref if record.get("status") == OutboxStatus.SENT and "/" in ref and not record.get("digest") else ""


def _take(step: str, incident_id: str, who: str, now: datetime, cfg: Config) -> list[str]:
    """Take the step a reaction means, as that person; one already taken (by anyone) is not an error here."""
    try:
        if step == "ack":
            return actions.acknowledge(incident_id, who, now, cfg, rules.REACTED)
        if step in CLOSING_STEPS:
            return actions.resolve(incident_id, who, now, cfg, rules.REACTED, invalid=step == "invalid")
        return actions.progress(incident_id, step, who, now, cfg, rules.REACTED)
    except (AlreadyAcknowledged, Closed, NotFound):   # acknowledged or resolved by someone else meanwhile: applied
        return []
    except Contended as e:   # people changing it right now: read it again next minute
        raise Stop(str(e)) from None


def _read(reader: Reader, incident: Incident, channel: str, ref: str, cfg: Config, now: datetime,
          stats: dict) -> list[str]:
    """Read one alert's reactions and take the steps they mean; return the outbox records to deliver now."""
    before = _kept(incident, channel)
    channel_id, message_id = ref.split("/", 1)
    result, message = reader.get(f"/channels/{channel_id}/messages/{message_id}")
    stats["alerts_read"] += 1
    if not result.ok:   # deleted, or the bot lost access: say so once, then leave it
        store.save(incident.id, channel, {"ref": ref, "error": result.error[:200]})
        log.warning("cannot read the alert's reactions", incident=incident.id, error=result.error)
        return []
    counts = rules.counts((message or {}).get("reactions") if isinstance(message, dict) else None)
    last, seen = dict(before.get("counts") or {}), {k: list(v) for k, v in (before.get("seen") or {}).items()}
    saved = {"ref": before.get("ref"), "counts": dict(last), "seen": {k: list(v) for k, v in seen.items()}}
    emoji_changed = rules.changed(last, counts)
    notify: list[str] = []
    where = rules.Where(incident.acknowledged_at is not None, incident.phase, incident.is_resolved)
    for emoji in emoji_changed:
        users = [str(u["id"]) for u in reader.users(ref, emoji) if not u.get("bot")]
        who = rules.first_member(users, seen.get(emoji, []), cfg)
        step = rules.step_of(emoji)
        last[emoji], seen[emoji] = counts[emoji], list(dict.fromkeys(seen.get(emoji, []) + users))[:rules.SEEN_MAX]
        if who and step and not rules.already_applied(step, where):
            notify += _take(step, incident.id, who, now, cfg)
            stats["reactions_applied"] += 1
            log.info("reaction taken as a step", incident=incident.id, step=step, actor=who)
            where = rules.Where(True, step if step in PHASES else where.phase, step in CLOSING_STEPS)
            # kept at once: a run cut off here and run again must not take an earlier emoji's step once more
            saved = {"ref": ref, "counts": dict(last), "seen": {k: list(v) for k, v in seen.items()}}
            store.save(incident.id, channel, saved)
    last = {e: n for e, n in last.items() if e in counts}   # taken off: a new one later counts again
    if {"ref": ref, "counts": last, "seen": seen} != saved:
        store.save(incident.id, channel, {"ref": ref, "counts": last, "seen": seen})
    return notify


def sweep(cfg: Config, settings: Settings, now: datetime, budget: float = STAGE_BUDGET) -> tuple[dict, list[str]]:
    """Read the reactions on open incidents' alerts (bot mode only: no bot, no reads) and take the steps they mean;
    return counts and the outbox records to deliver now."""
    stats = {"alerts_read": 0, "reactions_applied": 0}
    bots = _bots(settings)
    if not bots or budget <= 0:
        return {}, []
    everyone = (now.hour * 60 + now.minute) % ACKNOWLEDGED_EVERY == 0
    incidents = store.open_incidents(MAX_INCIDENTS, unacknowledged_only=not everyone)
    if not incidents:
        return {}, []
    missing = [outbox.record_id(i.id, "opened", c) for i in incidents for c in bots if not _kept(i, c)]
    opened = store.opened_records(missing) if missing else {}
    work = [(i, c, ref) for i in sorted(incidents, key=lambda i: i.id) for c in bots if (ref := _ref(i, c, opened))]
    if len(work) > MAX_MESSAGES:   # each minute starts further along, so every alert is read every few minutes
        start = (int(now.timestamp()) // 60 * MAX_MESSAGES) % len(work)
        work = (work[start:] + work[:start])[:MAX_MESSAGES]
    notify: list[str] = []
    deadline = clock().monotonic() + budget
    readers = {c: Reader(bot, deadline) for c, bot in bots.items()}
    for incident, channel, ref in work:
        try:
            notify += _read(readers[channel], incident, channel, ref, cfg, now, stats)
        except Stop as why:
            log.warning("reactions left for the next run", channel=channel, reason=str(why))
            stats["reactions_cut_short"] = 1
            break
    return {k: v for k, v in stats.items() if v}, notify
