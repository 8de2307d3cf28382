"""Deliver outbox records: claim, render from the incident as it is now, send, record the outcome.

Every record is claimed under a lease before its send, so two senders (ingest and the sweep, or two
sweeps) never send the same record; a sender that dies mid-way leaves the lease to expire and the
record is tried again. Retryable failures back off exponentially with full jitter, or wait as long
as the server asked (429 retry_after). Permanent failures are recorded on the incident's timeline.
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import log, oncall, store
from shared.config import Config, Settings
from shared.model import Severity, TimelineEntry
from shared.notify import discord, email, github, preview, render
from shared.notify.base import Result
from shared.rules import routing
from shared.store import outbox

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 12               # about 9 hours of backoff before a notification is given up
BACKOFF_BASE, BACKOFF_CAP = 5.0, 3600.0
SEND_TIMEOUT = 5.0

_paused: dict[str, float] = {}  # channel -> monotonic time its rate-limit bucket refills
_paused_lock = threading.Lock()


@dataclass
class Stats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    digests: int = 0
    left: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


_rng = random.Random()


def backoff(attempts: int, retry_after: float | None, rng: random.Random = _rng) -> float:
    """Seconds to wait before the next attempt: the server's word, else capped exponential with full jitter."""
    if retry_after is not None:
        return min(retry_after + rng.uniform(0, 0.25), BACKOFF_CAP)
    return rng.uniform(BACKOFF_BASE / 2, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0)))


def _pause(channel: str, seconds: float) -> None:
    with _paused_lock:
        _paused[channel] = max(_paused.get(channel, 0.0), time.monotonic() + seconds)


def _paused_for(channel: str) -> float:
    with _paused_lock:
        return max(_paused.get(channel, 0.0) - time.monotonic(), 0.0)


BACKGROUND_BUDGET = 25.0
_inflight: set[threading.Thread] = set()


def deliver_soon(record_ids: list[str], cfg: Config, settings: Settings, now: datetime, wait: float) -> None:
    """Deliver in a background thread, waiting at most `wait` seconds for it before returning.

    The webhook's answer must not wait for a slow vendor (Sentry gives 1 s), yet cutting the vendor call
    short would turn a slow success into a retry and a duplicate; so the send keeps its own timeout and
    finishes after the answer. Its lease keeps the sweep away meanwhile.
    """
    def run():
        try:
            deliver(record_ids, cfg, settings, now, BACKGROUND_BUDGET)
        except Exception as e:  # noqa: BLE001 - the sweep retries what this did not finish
            log.error("background delivery failed", error=type(e).__name__, reason=str(e)[:300])
        finally:
            _inflight.discard(thread)

    thread = threading.Thread(target=run, name="deliver", daemon=True)
    _inflight.add(thread)
    thread.start()
    thread.join(max(wait, 0.0))


def wait_idle(timeout: float = 60.0) -> None:
    """Wait for background deliveries to finish (tests, and a clean shutdown)."""
    for thread in list(_inflight):
        thread.join(timeout)


def deliver(record_ids: list[str], cfg: Config, settings: Settings, now: datetime, budget: float,
            stats: Stats | None = None) -> Stats:
    """Send the given records that are due, within `budget` seconds; what is left stays due for the sweep."""
    stats = stats or Stats()
    started = time.monotonic()
    deadline = started + budget
    for rid in record_ids:
        remaining = deadline - time.monotonic()
        channel = rid.rsplit(":", 1)[-1]
        if remaining <= 0.05 or _paused_for(channel) > remaining:
            stats.left += 1
            continue
        with _channel_lock(channel):  # one send at a time per channel in this process: pace by its headers
            time.sleep(min(_paused_for(channel), max(deadline - time.monotonic(), 0)))
            at = now + timedelta(seconds=time.monotonic() - started)  # the run's clock, advanced as it goes on
            record = outbox.claim(rid, at, LEASE)
            if record is None:
                stats.skipped += 1
                continue
            _deliver_one(record, cfg, settings, at, min(SEND_TIMEOUT, max(deadline - time.monotonic(), 0.1)), stats)
    return stats


_locks: dict[str, threading.Lock] = {}


def _channel_lock(channel: str) -> threading.Lock:
    with _paused_lock:
        return _locks.setdefault(channel, threading.Lock())


def _deliver_one(record: dict, cfg: Config, settings: Settings, now: datetime, timeout: float, stats: Stats) -> None:
    if record.get("text"):  # a message about no single incident (the on-call handoff)
        payload = {"content": record["text"], "allowed_mentions": {"parse": [], "users": record.get("pings", [])}}
        webhook = webhook_for(record["channel"], settings)
        result = discord.post(webhook, payload, timeout) if webhook else \
            preview.show(record["channel"], "-", record["reason"], record["text"])
        _settle(record, result, now, stats)
        return
    incident = store.get_incident(record["incident_id"])
    if incident is None:
        outbox.finish(record["id"], "failed", now, last_error="incident not found")
        stats.failed += 1
        return
    try:
        result = _send(record, incident, cfg, settings, now, timeout)
    except store.Unavailable:
        raise
    except Exception as e:  # noqa: BLE001 - a rendering bug must not block other notifications
        log.error("notification crashed", incident=record["incident_id"], outbox=record["id"], error=type(e).__name__,
                  reason=str(e)[:300])
        result = Result(False, retryable=True, error=f"{type(e).__name__} while sending")
    _settle(record, result, now, stats)


def _settle(record: dict, result: Result, now: datetime, stats: Stats) -> None:
    rid, channel = record["id"], record["channel"]
    incident_id = record.get("incident_id") or "-"
    if result.pause:
        _pause(channel, result.pause)
    if result.ok and result.ref == "superseded":
        outbox.finish(rid, "superseded", now)
        stats.skipped += 1
        return
    if result.ok:
        outbox.finish(rid, "sent", now, ref=result.ref, sent_at=now)
        stats.sent += 1
        return
    if result.retry_after:
        _pause(channel, result.retry_after)
    attempts = record.get("attempts", 1)
    if result.retryable and attempts < MAX_ATTEMPTS:
        wait = backoff(attempts, result.retry_after)
        outbox.retry_at(rid, now + timedelta(seconds=wait), result.error)
        log.warning("notification will be retried", incident=incident_id, outbox=rid, error=result.error,
                    attempts=attempts, retry_in_s=round(wait, 2))
        stats.retried += 1
        return
    outbox.finish(rid, "failed", now, last_error=result.error)
    if record.get("incident_id"):
        store.add_timeline(record["incident_id"], TimelineEntry(
            now, "system", "notification failed", f"{channel} {record['reason']}: {result.error}").to_dict())
    log.error("notification failed", incident=incident_id, outbox=rid, error=result.error, attempts=attempts)
    stats.failed += 1


SUPERSEDED = Result(True, ref="superseded")


def opening_for(channel: str, incident: dict, cfg: Config, now: datetime) -> routing.Delivery | None:
    """Return the opening this channel would get for the incident's current severity."""
    severity = Severity(incident["severity_rank"])
    on_call = oncall.primary_now(now, cfg)
    return next((d for d in routing.opening(severity, incident["environment"], now, cfg, on_call)
                 if d.channel == channel), None)


def _send(record: dict, incident: dict, cfg: Config, settings: Settings, now: datetime, timeout: float) -> Result:
    channel, reason = record["channel"], record["reason"]
    if reason == "opened":
        return _send_opening(channel, incident, record, cfg, settings, now, timeout)
    if reason.startswith("escalation-"):
        return _escalation(record, incident, cfg, settings, now, timeout)
    opened = outbox.get(outbox.record_id(incident["id"], "opened", channel))
    if reason.startswith("severity-"):
        if opened is None:  # this channel has not carried the incident yet: open it here
            fresh = {**record, "id": outbox.record_id(incident["id"], "opened", channel), "reason": "opened"}
            if not outbox.create_claimed(fresh, now, LEASE):
                return SUPERSEDED
            _settle(fresh, _send_opening(channel, incident, fresh, cfg, settings, now, timeout), now, Stats())
            return SUPERSEDED  # the opening record now carries this news, and its own retries
        if opened["status"] in ("held", "pending"):  # not out yet: send it now, at the new severity
            claimed = outbox.claim(opened["id"], now, LEASE, include_held=True)
            if claimed:
                result = _send_opening(channel, incident, claimed, cfg, settings, now, timeout)
                _settle(claimed, result, now, Stats())
            return SUPERSEDED
        if opened["status"] != "sent" or not channel.startswith("discord"):
            return SUPERSEDED  # email/GitHub already carry it; a failed opening is on the timeline
        return _discord_follow_up(channel, "raised", incident, opened, record, cfg, settings, now, timeout)
    if opened is None or opened.get("status") != "sent":
        return SUPERSEDED  # nothing went out on this channel: the opening (if still coming) shows the state
    if channel.startswith("discord"):
        return _discord_follow_up(channel, record["template"], incident, opened, record, cfg, settings, now, timeout,
                                  extra={"milestone": reason.removeprefix("milestone-")})
    if channel == "github" and reason == "resolved":
        return _github_resolved(incident, opened, record, cfg, settings, now, timeout)
    if channel == "email" and reason == "resolved":
        return _email(render.email_message("resolved", incident, cfg, now, opened.get("recipients", [])),
                      settings, timeout, incident, reason)
    return SUPERSEDED


def _escalation(record: dict, incident: dict, cfg: Config, settings: Settings, now: datetime,
                timeout: float) -> Result:
    """Page the next level, unless the incident was acknowledged (or resolved) since the step was taken."""
    step = record["reason"].removeprefix("escalation-")
    if incident["status"] == "resolved" or (step != "sla-resolution" and incident.get("acknowledged_at")):
        return SUPERSEDED
    extra = {"step": step, "level": record.get("level", 2)}
    mentions = tuple(record.get("mentions", []))
    if record["channel"] == "email":
        message = render.email_message("escalation", incident, cfg, now, record.get("recipients", []), mentions, extra)
        return _email(message, settings, timeout, incident, record["reason"])
    payload = render.discord_message("escalation", incident, cfg, now, mentions, extra)
    webhook = webhook_for(record["channel"], settings)
    if not webhook:
        return preview.show(record["channel"], incident["id"], record["reason"], payload["content"])
    return discord.post(webhook, payload, timeout)


def webhook_for(channel: str, settings: Settings):
    return settings.discord_webhook_url if channel == "discord" else settings.discord_staging_webhook_url


def _send_opening(channel: str, incident: dict, record: dict, cfg: Config, settings: Settings, now: datetime,
                  timeout: float) -> Result:
    current = opening_for(channel, incident, cfg, now)
    template = current.template if current else record["template"]
    # who is on call is decided at send time: a message held overnight names the person on call now
    mentions = current.mentions if current else tuple(record.get("mentions", []))
    if channel.startswith("discord"):
        payload = render.discord_message(template, incident, cfg, now, mentions)
        webhook = webhook_for(channel, settings)
        if not webhook:
            return preview.show(channel, incident["id"], record["reason"], payload["content"])
        return discord.post(webhook, payload, timeout)
    if channel == "email":
        recipients = tuple(dict.fromkeys([*record.get("recipients", []), *(current.recipients if current else ())]))
        return _email(render.email_message("critical", incident, cfg, now, recipients, mentions), settings, timeout,
                      incident, "opened")
    if channel == "github":
        return _github_open(incident, record, cfg, settings, now, timeout)
    return Result(False, error=f"unknown channel {channel!r}")


def _discord_follow_up(channel: str, template: str, incident: dict, opened: dict, record: dict, cfg: Config,
                       settings: Settings, now: datetime, timeout: float, extra: dict | None = None) -> Result:
    current = opening_for(channel, incident, cfg, now)
    mentions = (current.mentions if current else tuple(record.get("mentions", []))) if template == "raised" else ()
    payload = render.discord_message(template, incident, cfg, now, mentions, extra)
    webhook = webhook_for(channel, settings)
    if not webhook:
        return preview.show(channel, incident["id"], record["reason"], payload["content"])
    result = discord.post(webhook, payload, timeout)
    if result.ok and opened.get("ref") and not opened.get("digest"):
        # the original card shows the state now; best effort, the short message above carries the news
        card = render.discord_message(current.template if current else opened["template"], incident, cfg, now,
                                      tuple(opened.get("mentions", [])))
        card["allowed_mentions"] = {"parse": []}  # an edit never pings again
        edited = discord.edit(webhook, opened["ref"], card, timeout)
        if not edited.ok:
            log.warning("could not edit the original message", incident=incident["id"], error=edited.error)
    return result


def _email(message: render.Email, settings: Settings, timeout: float, incident: dict, reason: str) -> Result:
    if not message.to:
        return SUPERSEDED
    if settings.sendgrid_api_key:
        return email.send_sendgrid(settings.sendgrid_api_url, settings.sendgrid_api_key, settings.email_from,
                                   message, timeout)
    if settings.smtp_url:
        return email.send_smtp(settings.smtp_url, settings.email_from, message, timeout)
    return preview.show("email", incident["id"], reason, f"To: {', '.join(message.to)}\nSubject: {message.subject}\n\n"
                        f"{message.text}")


def _github_ready(settings: Settings) -> bool:
    return bool(settings.github_token and settings.github_repo)


def _github_open(incident: dict, record: dict, cfg: Config, settings: Settings, now: datetime,
                 timeout: float) -> Result:
    issue = render.github_issue(incident, cfg, now)
    if not _github_ready(settings):
        return preview.show("github", incident["id"], "opened", f"{issue['title']}\n\n{issue['body']}")
    api, repo, token = settings.github_api_url, settings.github_repo, settings.github_token
    if record.get("attempts", 1) > 1:  # an earlier attempt may have created it before its answer was lost
        found = github.find_issue(api, repo, token, f"incident:{incident['id']}", timeout)
        if not found.ok:
            return found
        if found.ref:
            return found
    return github.create_issue(api, repo, token, issue, timeout)


def _github_resolved(incident: dict, opened: dict, record: dict, cfg: Config, settings: Settings, now: datetime,
                     timeout: float) -> Result:
    body = render.github_resolved_comment(incident, cfg, now)
    if not _github_ready(settings) or not opened.get("ref"):
        return preview.show("github", incident["id"], "resolved", body)
    api, repo, token, number = settings.github_api_url, settings.github_repo, settings.github_token, opened["ref"]
    if not record.get("commented"):
        result = github.comment(api, repo, token, number, body, timeout)
        if not result.ok:
            return result
        outbox.mark(record["id"], commented=True)
    return github.close(api, repo, token, number, timeout)
