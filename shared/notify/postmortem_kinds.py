"""Delivering a postmortem's outbox records (the kinds the delivery engine hands over here).

A notice goes into the incident's thread when its alert went out in Discord bot mode (else the channel). The issue
is made once; each change to the postmortem adds a sync record, and a sync sends the postmortem as it is when the
record is delivered, never as it was when the change was made. So an older sync delivered late cannot bring back an
older body: it is superseded when the issue already shows the postmortem's current version (`synced_version` on
the issue's record, raised after each body sent), and a sync that finds the postmortem changed while its request was
on the way sends again, so the last body GitHub takes is the newest. (A change and its record are one commit, and
the version it raised is read before the items, so a body sent at version v holds every change up to v.)
"""
from __future__ import annotations

from shared.channels import POSTMORTEM, POSTMORTEM_ISSUE, POSTMORTEM_SYNC, Context, words
from shared.channels.base import Result, superseded
from shared.model import OutboxStatus
from shared.notify.job import Job, send
from shared.store import outbox
from shared.store import postmortems as store

GONE = "the postmortem is gone"
CATCH_UP = 3   # sends of a newer version by one sync before it leaves the rest to the newer records


def _send(job: Job, kind: str, extra: dict, ref: str | None = None) -> Result:
    return send(job, kind, Context(extra=extra), ref)


def notice(job: Job) -> Result:
    """The draft, a reminder, an overdue action item: in the incident's thread where there is one."""
    if POSTMORTEM not in job.channel.carries:
        return superseded(words.does_not_carry(job.channel.name, POSTMORTEM))
    opened = outbox.get(outbox.record_id(job.incident.id, "opened", job.channel.name))
    thread = opened.get("ref") if opened and opened.get("status") == OutboxStatus.SENT and \
        not opened.get("digest") else None   # a digest has no thread of its own
    extra = {"text": job.record["text"], "pings": job.record.get("pings", [])}
    result = _send(job, POSTMORTEM, extra, thread)
    if thread and not result.ok and not result.retryable:   # the thread is gone or locked: say it in the channel
        result = _send(job, POSTMORTEM, extra)
    return result


def issue(job: Job) -> Result:
    """Make the postmortem's issue from the postmortem as it is now; keep its number on the postmortem."""
    if POSTMORTEM_ISSUE not in job.channel.carries:
        return superseded(words.does_not_carry(job.channel.name, POSTMORTEM_ISSUE))
    postmortem = store.get(job.incident.id)
    if postmortem is None:
        return superseded(GONE)
    result = _send(job, POSTMORTEM_ISSUE, {"postmortem": postmortem})
    if result.ok and (result.ref or "").isdigit():
        store.update(job.incident.id, {"github_issue": int(result.ref)})
    return result   # a change made meanwhile has its own sync record, which waited for this one


def sync(job: Job) -> Result:
    """Bring the issue's body (and its task list) to the postmortem as it is now."""
    if POSTMORTEM_SYNC not in job.channel.carries:
        return superseded(words.does_not_carry(job.channel.name, POSTMORTEM_SYNC))
    postmortem = store.get(job.incident.id)
    if postmortem is None:
        return superseded(GONE)
    issue_id = outbox.record_id(job.incident.id, "postmortem_issue", job.channel.name)
    made = outbox.get(issue_id)
    if made is None or made["status"] in (OutboxStatus.FAILED, OutboxStatus.SUPERSEDED):
        return superseded("no postmortem issue was made to bring up to date")
    if made["status"] != OutboxStatus.SENT:
        return Result(False, retryable=True, error="waiting for the postmortem's issue to be made first")
    if int(made.get("synced_version") or 0) >= _version(postmortem):
        return superseded("a later change brought the issue up to date")
    sent = 0
    for _ in range(CATCH_UP):
        result = _send(job, POSTMORTEM_SYNC, {"postmortem": postmortem}, made.get("ref"))
        sent = _version(postmortem)
        if not result.ok:
            return result
        outbox.raise_field(issue_id, "synced_version", sent)
        postmortem = store.get(job.incident.id)
        if postmortem is None or _version(postmortem) <= sent:
            return result
    return result


def _version(postmortem: dict) -> int:
    return int(postmortem.get("version") or 1)


KINDS = {POSTMORTEM: notice, POSTMORTEM_ISSUE: issue, POSTMORTEM_SYNC: sync}
