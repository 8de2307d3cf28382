"""Notifications in the team's words: which channel, what a notification was for and how its delivery went, for
the console's notification list, the preview page's headers and the timeline ("Acknowledged by Dev B", "retrying
after Discord's rate limit", "not needed (GitHub files only Low issues)"), never a record's id or reason.

A record's reason is its key ("step-1-ack", "milestone-100", "postmortem_sync-item2.3"); what it says to a person is
decided here, from the reason's shape, so records stored by earlier versions read the same.
"""
from __future__ import annotations

import re

from shared.config import Config
from shared.config.channels import ESCALATION, MILESTONE, POSTMORTEM_ISSUE, POSTMORTEM_SYNC, RAISED, RESOLVED, STEP
from shared.model import OutboxStatus, Severity
from shared.rules import routing

CHANNELS = {"discord": "Discord", "discord_staging": "Discord (staging)", "email": "Email", "github": "GitHub",
            "slack": "Slack", "slack_staging": "Slack (staging)", "ntfy": "ntfy (push)", "sentry": "Sentry"}
VENDORS = {"discord": "Discord", "discord_staging": "Discord", "email": "the mail server", "github": "GitHub",
           "slack": "Slack", "slack_staging": "Slack", "ntfy": "the ntfy server", "sentry": "Sentry"}
STEPS = {"ack": "Acknowledged by {who}", "investigating": "{who} is investigating",
         "fixing": "{who} is working on a fix", "deploying": "{who} is deploying the fix",
         "resolve": "Resolved by {who}", "invalid": "Closed as invalid by {who}"}
ESCALATIONS = {"sla-response": "Page: nobody acknowledged it in time",
               "level-3": "Page: still unacknowledged, escalated to level 3",
               "sla-resolution": "Page: not resolved in time"}
FIXED = {"opened": "Alert", "resolved": "Resolved", "handoff": "On-call handoff", "daily": "Daily report",
         "digest": "Alerts held outside business hours, as one digest", "notice-silenced": "Silence started",
         "notice-silence-ended": "Silence ended", "notice-silences": "Silences started or ended",
         "postmortem-draft": "Postmortem draft", "postmortem_issue": "Postmortem issue"}
KINDS = {RAISED: "severity rises", RESOLVED: "resolved messages", MILESTONE: "occurrence milestones",
         ESCALATION: "pages", STEP: "workflow steps", POSTMORTEM_ISSUE: "postmortem issues",
         POSTMORTEM_SYNC: "postmortem issue updates"}
_WHO = re.compile(r"^\S+ @?([^:\n]{1,80}): ")   # a step's text: "👀 @Dev B: Acknowledged, investigating (15:45)"


def channel_name(name: str) -> str:
    """Return a channel as people call it: 'Discord', 'GitHub', 'Email'."""
    return CHANNELS.get(name, name.replace("_", " ").capitalize())


def what(record: dict) -> str:
    """Return a notification named for a person: 'Alert on Discord', 'Resolved by email'."""
    channel = str(record.get("channel") or "")
    where = "by email" if channel == "email" else f"on {channel_name(channel)}"
    return f"{purpose(record)} {where}"


def purpose(record: dict) -> str:
    """Return what a notification was for, from its reason (and a step's text, which names who took it)."""
    reason = str(record.get("reason") or "")
    if reason in FIXED:
        return FIXED[reason]
    head, _, rest = reason.partition("-")
    if head == "resolved":   # resolved-2: resolved again after its GitHub issue was reopened
        return FIXED["resolved"]
    if head == "severity":
        return f"Raised to {rest.capitalize()}"
    if head == "milestone":
        return f"{rest} occurrences reached"
    if head == "escalation":
        return ESCALATIONS.get(rest) or (f"Reminder {rest.removeprefix('reminder-')}: still unacknowledged"
                                         if rest.startswith("reminder-") else "Page")
    if head == "step":
        step = rest.partition("-")[2]
        found = _WHO.match(str(record.get("text") or ""))
        return STEPS.get(step, "A workflow step by {who}").format(who=found[1] if found else "someone")
    if head == "status" and reason.endswith("-late"):
        return "Reminder: a status page update is due"
    if head == "notice":
        return f"Notice: a {channel_name(rest)} message could not be built"
    if reason.startswith("postmortem_sync"):
        return "Postmortem issue brought up to date"
    if head == "postmortem":
        if rest.startswith("overdue-") and rest.count("-") > 3:   # overdue-<item>-<YYYY-MM-DD>
            return f"Action item {rest.split('-')[1]} overdue"
        if rest.startswith("overdue"):
            return "Postmortem overdue"
        hours = rest.removesuffix("h")
        return f"Postmortem reminder after {hours} hours" if hours.isdigit() else "Postmortem reminder"
    return reason.replace("_", " ").replace("-", " ").capitalize() or "Notification"


def state(record: dict) -> str:
    """Return how a notification's delivery went: 'sent', 'retrying after Discord's rate limit', 'not needed
    (GitHub files only Low issues)', 'failed after 12 tries'."""
    status = str(record.get("status") or "")
    tries = int(record.get("attempts") or 0)
    vendor = VENDORS.get(str(record.get("channel") or ""), "the service")
    if status == OutboxStatus.SENT:
        return "sent" + (f" after {tries} tries" if tries > 1 else "")
    if status == OutboxStatus.FAILED:
        return "failed" + (f" after {tries} tries" if tries > 1 else "")
    if status == OutboxStatus.SUPERSEDED:
        note = str(record.get("note") or "")
        return f"not needed ({note})" if note else "not needed"
    if status == OutboxStatus.HELD:
        return "held for business hours"
    if status == OutboxStatus.SILENCED:
        return "held by a silence"
    if status == OutboxStatus.SENDING:
        return "sending"
    if status == OutboxStatus.PENDING:
        return f"retrying {_why(str(record.get('last_error') or ''), vendor)}" if tries else "waiting to be sent"
    return status or "unknown"


def _why(error: str, vendor: str) -> str:
    """Say why a send is being tried again, from the error it last met."""
    if error.startswith("HTTP 429") or "rate limit" in error.lower():
        return f"after {vendor}'s rate limit"
    if error.startswith("HTTP 5") or error.startswith("SMTP 4"):
        return f"after {vendor} had a failure ({error.split(':')[0]})"
    if "network error or timeout" in error or "connection failed" in error:
        return f"after {vendor} did not answer in time"
    if error.startswith("waiting for"):
        return f"({error})"
    return f"after an error ({error[:80]})" if error else "soon"


def only_gets(channel: str, environment: str, cfg: Config) -> str:
    """Say which incidents the team's routes send to a channel: 'GitHub files only Low issues'."""
    severities = [s.name.capitalize() for s in sorted(Severity) if any(
        c.channel == channel for c in (getattr(routing.route_for(s, environment, cfg), "channels", None) or ()))]
    which = listed(severities)
    if not which:
        return f"the team's routes send nothing to {channel_name(channel)} for {environment}"
    if channel.startswith("github"):
        return f"GitHub files only {which} issues"
    return f"{channel_name(channel)} gets only {which} alerts"


def listed(items: list[str]) -> str:
    """Return 'A', 'A and B', 'A, B and C'."""
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def does_not_carry(channel: str, kind: str) -> str:
    """Say that a channel does not send a kind of message: 'Email sends no occurrence milestones'."""
    return f"{channel_name(channel)} sends no {KINDS.get(kind, kind.replace('_', ' ') + ' messages')}"
