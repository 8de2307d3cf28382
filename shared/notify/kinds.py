"""What each kind of outbox record does on a channel: an opening, a severity rise, a follow-up (resolved, a
milestone), an escalation page, a text (the handoff, a notice), a workflow step, and a postmortem's notice, issue
and issue sync (postmortem_kinds.py). The delivery engine (delivery.py) claims a record and calls the handler
of its kind; what a channel does with the message is the channel's own.
"""
from __future__ import annotations

from dataclasses import replace

from shared import log
from shared.channels import ESCALATION, MILESTONE, OPENED, RAISED, RESOLVED, STEP, TEXT, Context, words
from shared.channels.base import Result, superseded
from shared.model import OutboxStatus
from shared.notify import postmortem_kinds
from shared.notify.job import LEASE, Job, Stats, opening_for, send, settle
from shared.rules import routing
from shared.store import outbox


def _opening(job: Job) -> Result:
    """The incident's first message on this channel, rendered for who is on call now."""
    current = opening_for(job.channel.name, job.incident, job.cfg, job.now)
    record = job.record
    template = current.template if current else record["template"]
    mentions = current.mentions if current else tuple(record.get("mentions", []))
    recipients = tuple(dict.fromkeys([*record.get("recipients", []), *(current.recipients if current else ())]))
    return send(job, OPENED, Context(mentions, recipients, {"template": template}))


def _opened_record(job: Job) -> dict | None:
    return outbox.get(outbox.record_id(job.incident.id, "opened", job.channel.name))


def _own_ref(opened: dict) -> str | None:
    """The ref of the incident's own alert on a channel, which replies go under and edits change; None when a digest
    carried the alert: that message is many incidents' and has no thread of its own (a reply there would be posted
    to a thread that does not exist, which Discord refuses for good)."""
    return None if opened.get("digest") else opened.get("ref")


def _raised(job: Job) -> Result:
    """A severity rise: open the incident here if this channel has not carried it yet, else follow up."""
    opened = _opened_record(job)
    silenced = job.incident.doc.get("silenced_by") or {}
    if silenced and not silenced.get("released_at"):
        # silenced: the opening, when the silence ends, is sent at the severity it has then
        return superseded("held by a silence; its alert goes out at the severity it has when the silence ends")
    if opened is None:  # this channel has not carried the incident yet: open it here
        fresh = {**job.record, "id": outbox.record_id(job.incident.id, "opened", job.channel.name), "reason": "opened",
                 "kind": OPENED}
        if outbox.create_claimed(fresh, job.now, LEASE):
            settle(fresh, _opening(replace(job, record=fresh)), job.now, Stats())
        return superseded("sent as the alert")   # the opening record now carries this news, and its own retries
    if opened["status"] in (OutboxStatus.HELD, OutboxStatus.PENDING):  # not out yet: send it now, at the new severity
        claimed = outbox.claim(opened["id"], job.now, LEASE, include_held=True)
        if claimed:
            settle(claimed, _opening(replace(job, record=claimed)), job.now, Stats())
        return superseded("the alert, not out yet, went at the new severity")
    return _follow_up(job, opened)


def _follow_up(job: Job, opened: dict | None = None) -> Result:
    """A change to an incident this channel carries: a short message, then the original shown as it is now."""
    if job.channel.capabilities().in_step:   # the incident's own source (its Sentry issue): no alert of ours there
        return send(job, job.kind, Context()) if job.kind in job.channel.carries else \
            superseded(words.does_not_carry(job.channel.name, job.kind))
    opened = opened or _opened_record(job)
    why = _not_out(job, opened) or ("" if job.kind in job.channel.carries else
                                    words.does_not_carry(job.channel.name, job.kind))
    if why:
        return superseded(why)  # nothing went out here (the opening, if coming, shows the state), or nothing to say
    current = opening_for(job.channel.name, job.incident, job.cfg, job.now)
    mentions = (current.mentions if current else tuple(job.record.get("mentions", []))) if job.kind == RAISED else ()
    extra = {"milestone": job.record["reason"].removeprefix("milestone-")} if job.kind == MILESTONE else {}
    ref = _own_ref(opened)
    result = send(job, job.kind, Context(mentions, tuple(opened.get("recipients", [])), extra), ref)
    if result.ok and not result.superseded and job.channel.edits and job.channel.configured() and ref:
        # the original card shows the state now; best effort, the short message above carries the news
        template = current.template if current else opened["template"]
        card = job.channel.render(OPENED, job.incident, job.cfg, job.now,
                                  Context(tuple(opened.get("mentions", [])), (), {"template": template}))
        edited = job.channel.edit(ref, card, job.timeout)
        if not edited.ok:
            log.warning("could not edit the original message", incident=job.incident.id, error=edited.error)
    return result


def _not_out(job: Job, opened: dict | None) -> str:
    """Say why the incident's alert is not out on this channel ('' when it was sent)."""
    if opened is None:
        route = routing.route_for(job.incident.severity, job.incident.environment, job.cfg)
        if route and any(c.channel == job.channel.name for c in route.channels):
            return "no alert was made here"
        return words.only_gets(job.channel.name, job.incident.environment, job.cfg)
    status = opened.get("status")
    if status == OutboxStatus.SENT:
        return ""
    return {OutboxStatus.HELD: "its alert is held for business hours", OutboxStatus.SILENCED: "its alert is silenced",
            OutboxStatus.FAILED: "its alert could not be sent", OutboxStatus.SUPERSEDED: "its alert was not needed"
            }.get(status, "its alert is not out yet")


def _escalation(job: Job) -> Result:
    """Page the next level, unless the incident was acknowledged (or resolved) since the step was taken."""
    step = job.record["reason"].removeprefix("escalation-")
    if job.incident.is_resolved:
        return superseded("resolved before the page was due")
    if step != "sla-resolution" and job.incident.acknowledged_at:
        return superseded("acknowledged before the page was due")
    if ESCALATION not in job.channel.carries:
        return superseded(words.does_not_carry(job.channel.name, ESCALATION))
    extra = {"step": step, "level": job.record.get("level", 2)}
    return send(job, ESCALATION, Context(tuple(job.record.get("mentions", [])),
                                          tuple(job.record.get("recipients", [])), extra))


def _text(job: Job) -> Result:
    """A message about no single incident (the on-call handoff), rendered when it was decided."""
    if TEXT not in job.channel.carries:
        return superseded(words.does_not_carry(job.channel.name, TEXT))
    return send(job, TEXT, Context(extra={"text": job.record["text"], "pings": job.record.get("pings", [])}))


def _step(job: Job) -> Result:
    """A workflow step (👀, 🔍, ...): a reply to the incident's alert here, once that alert is out."""
    if STEP not in job.channel.carries:
        return superseded(words.does_not_carry(job.channel.name, STEP))
    opened = _opened_record(job)
    if opened is None or opened["status"] in (OutboxStatus.HELD, OutboxStatus.FAILED, OutboxStatus.SUPERSEDED,
                                              OutboxStatus.SILENCED):
        # no alert here (yet): the opening, when it goes out, shows the state; the timeline has it
        return superseded(_not_out(job, opened))
    if opened["status"] != OutboxStatus.SENT:  # on its way: the reply must not come before the alert
        return Result(False, retryable=True, error="waiting for the alert to be sent first")
    ref = _own_ref(opened)
    extra = {"text": job.record["text"], "emoji": job.record.get("emoji", ""), "key": job.record["id"],
             "step": job.record["reason"].split("-", 2)[-1]}   # step-<n>-<step>
    return send(job, STEP, Context(extra=extra), ref)


KINDS = {OPENED: _opening, RAISED: _raised, RESOLVED: _follow_up, MILESTONE: _follow_up, ESCALATION: _escalation,
         TEXT: _text, STEP: _step, **postmortem_kinds.KINDS}
