"""Reactions are actions (Discord bot mode): the sweep's stage that reads the reactions on the alerts and takes the
step an emoji means (👀 acknowledge, 🔍 🔧 🔄 progress, ✅ resolve, ❌ invalid) as the first team member who reacted,
with the same actions as a button, so the thread says it: "👀 @Dev B: Acknowledged, investigating (reacted) (15:45)".

A function cannot hold Discord's gateway open, so it asks, once a minute per bot channel: GET the channel's newest
messages (https://discord.com/developers/docs/resources/message#get-channel-messages; each carries its `reactions`
with a count and `me`, whether the bot reacted too). Only for a workflow emoji on an open incident's alert that the
bot has not marked does it list who reacted (GET .../reactions/{emoji}); after taking the step (or finding it taken
already) the bot adds the same reaction itself, which marks the emoji done (shared/rules/reactions.py). Nothing is
read from Firestore unless a step is taken. A 429, a 5xx or a network failure ends the stage for this run (the next
minute's run reads again).
"""
from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from shared import log
from shared.cache import TimedCache
from shared.channels import REGISTRY
from shared.channels.base import Result, classify, request, transport_error
from shared.channels.discord import CLOSING_STEPS, Bot, Discord
from shared.clock import clock
from shared.config import Config
from shared.config.settings import Settings
from shared.errors import AlreadyAcknowledged, Closed, Contended, NotFound
from shared.incidents import actions
from shared.lazy import httpx
from shared.rules import reactions as rules

STAGE_BUDGET = 5.0       # seconds of the sweep's RUN_BUDGET this stage may use; what is left waits a minute
HISTORY = 100            # the channel's newest messages read each minute (Discord's most in one page)
MAX_LISTS = 20           # emoji whose reactors are listed per run; the rest wait a minute
CALL_TIMEOUT = 3.0       # one Discord call
USERS_PAGE = 100         # Discord's maximum `limit` for GET .../reactions/{emoji}
MAX_PAGES = 3            # users listed per emoji: 300 is more than any team

# (message id, emoji) -> the count whose reactors were all strangers, so this instance does not list them again
# each minute (the bot marks nothing for strangers: a team member's reaction later changes the count and counts)
_STRANGERS = TimedCache(3600.0)


class Stop(Exception):
    """Discord asked us to slow down or is failing: leave the rest to the next run."""


def _call(bot: Bot, method: str, path: str, deadline: float, params: dict | None = None) -> tuple[Result, object]:
    """Make one Discord call with the bot's token; return how it went and the answer's JSON (GET)."""
    try:
        response = request(bot.channel, method, f"{bot.api}{path}", deadline, params=params,
                           headers={"Authorization": f"Bot {bot.token.reveal()}"})
    except httpx.HTTPError as e:
        return transport_error(e), None
    result = classify(response)
    if method != "GET" or not result.ok:
        return result, None
    try:
        return result, response.json()
    except ValueError:
        return Result(False, retryable=True, error="an answer that is not JSON"), None


class Reader:
    """Discord calls within the stage's time, pausing when a rate-limit bucket runs dry."""

    def __init__(self, bot: Bot, deadline: float):
        self.bot, self.timer, self.deadline = bot, clock(), deadline

    def call(self, method: str, path: str, params: dict | None = None) -> tuple[Result, object]:
        left = self.deadline - self.timer.monotonic()
        if left <= 0.5:
            raise Stop("out of time")
        result, answer = _call(self.bot, method, path, min(CALL_TIMEOUT, left), params)
        if result.retryable:
            raise Stop(result.error)
        if result.pause:   # the bucket is empty: wait for it if that fits, else the next run goes on
            if result.pause >= self.deadline - self.timer.monotonic() - 0.5:
                raise Stop("rate limit bucket empty")
            self.timer.sleep(result.pause)
        return result, answer

    def alerts(self) -> list[dict]:
        """Return the channel's newest messages (the alerts among them), newest first."""
        result, found = self.call("GET", f"/channels/{self.bot.channel_id}/messages", {"limit": str(HISTORY)})
        if not result.ok:   # the channel is gone or the bot lost access: said in the log, tried again next minute
            log.warning("cannot read the alerts channel's reactions", channel=self.bot.channel, error=result.error)
            return []
        return [m for m in found if isinstance(m, dict) and m.get("id")] if isinstance(found, list) else []

    def users(self, message_id: str, emoji: str) -> list[dict]:
        """Return the users who reacted with `emoji`, in Discord's order (by id)."""
        path = f"/channels/{self.bot.channel_id}/messages/{message_id}/reactions/{quote(emoji, safe='')}"
        found: list[dict] = []
        for _ in range(MAX_PAGES):
            params = {"limit": str(USERS_PAGE), **({"after": found[-1]["id"]} if found else {})}
            result, page = self.call("GET", path, params)
            page = [u for u in page if isinstance(u, dict) and u.get("id")] if isinstance(page, list) else []
            found += page
            if not result.ok or len(page) < USERS_PAGE:
                break
        return found

    def mark(self, message_id: str, emoji: str) -> None:
        """Add the bot's own reaction: this emoji's step is taken, the emoji is not read again."""
        self.call("PUT", f"/channels/{self.bot.channel_id}/messages/{message_id}/reactions/"
                         f"{quote(emoji, safe='')}/@me")


def _bots(settings: Settings) -> dict[str, Bot]:
    chats = [c(settings) for c in REGISTRY.values() if issubclass(c, Discord)]
    return {c.name: bot for c in chats if (bot := c.bot()) is not None}


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


def _read(reader: Reader, cfg: Config, now: datetime, stats: dict, notify: list[str]) -> None:
    """Read one channel's alerts and take the steps their new reactions mean; add the records to deliver now to
    `notify` as each step is taken (so a run cut short still delivers the steps it took)."""
    for message in reader.alerts():
        incident_id = rules.alert_incident(message)
        if incident_id is None:
            continue
        for emoji, count in rules.pending(message.get("reactions")):
            key = (str(message["id"]), emoji)
            if _STRANGERS.peek(key) == count:
                continue
            if stats["lists"] >= MAX_LISTS:
                raise Stop("enough listed for one run")
            stats["lists"] += 1
            users = [str(u["id"]) for u in reader.users(key[0], emoji) if not u.get("bot")]
            who = rules.first_member(users, cfg)
            if who is None:
                _STRANGERS.put(key, count)
                continue
            notify += _take(rules.step_of(emoji), incident_id, who, now, cfg)
            stats["reactions_applied"] += 1
            log.info("reaction taken as a step", incident=incident_id, step=rules.step_of(emoji), actor=who)
            reader.mark(key[0], emoji)


def sweep(cfg: Config, settings: Settings, now: datetime, budget: float = STAGE_BUDGET) -> tuple[dict, list[str]]:
    """Read the reactions on the alerts in each bot channel (bot mode only: no bot, nothing read) and take the steps
    they mean; return counts and the outbox records to deliver now."""
    bots = _bots(settings)
    if not bots or budget <= 0:
        return {}, []
    stats = {"lists": 0, "reactions_applied": 0}
    notify: list[str] = []
    deadline = clock().monotonic() + budget
    for channel, bot in bots.items():
        try:
            _read(Reader(bot, deadline), cfg, now, stats, notify)
        except Stop as why:
            log.warning("reactions left for the next run", channel=channel, reason=str(why))
            stats["reactions_cut_short"] = 1
            break
    return {k: v for k, v in {"reactions_applied": stats["reactions_applied"],
                              "reactions_cut_short": stats.get("reactions_cut_short", 0)}.items() if v}, notify
