"""The escalation path as a pure function of an incident's state and `now`.

Level 1 is the on-call, told when the incident opens (routing). Level 2: nobody acknowledged within the
response SLA -> the team lead is paged with an SLA-breach warning. Level 3: a Critical still
unacknowledged `escalation.stakeholders_after` later, or anything unresolved past its resolution SLA ->
the stakeholders. Outside business hours only Critical escalates; the rest waits for 09:00. An incident
muted in its source tool (ignored) does not escalate until it is reopened. Each step
has a name; the caller records the names it has done, so a step is never taken twice.
"""
from __future__ import annotations

from datetime import datetime

from shared.config import Config, duration
from shared.config.frozen import frozen
from shared.model import Severity
from shared.rules.calendar import is_business_time, next_business_start


@frozen
class State:
    severity: Severity
    environment: str
    status: str
    respond_by: datetime
    resolve_by: datetime
    acknowledged: bool
    done: frozenset[str]          # steps already taken


@frozen
class Step:
    name: str                     # sla-response | level-3 | sla-resolution | reminder-<n>
    level: int
    targets: tuple[str, ...]      # team-lead | stakeholders
    breach: str | None            # "response" | "resolution" | None


@frozen
class Decision:
    steps: tuple[Step, ...]
    next_check_at: datetime | None    # None: nothing more can happen without a change


def evaluate(state: State, now: datetime, cfg: Config) -> Decision:
    """Return the steps due at `now` and when to look at the incident again."""
    if state.status in ("resolved", "ignored") or state.environment not in cfg.escalation.environments:
        return Decision((), None)
    if state.severity is not Severity.CRITICAL and not is_business_time(now, cfg):
        return Decision((), next_business_start(now, cfg))
    plan: list[tuple[datetime, Step]] = []
    if not state.acknowledged:
        plan.append((state.respond_by, Step("sla-response", 2, ("team-lead",), "response")))
        if state.severity is Severity.CRITICAL:
            plan.append((state.respond_by + duration(cfg.escalation.stakeholders_after),
                         Step("level-3", 3, ("stakeholders", "team-lead"), None)))
        if cfg.escalation.repeat_every:
            every = duration(cfg.escalation.repeat_every)
            passed = max(int((now - state.respond_by) / every), 0) if now >= state.respond_by else 0
            for n in range(1, passed + 2):  # the reminders due so far, and the next one
                plan.append((state.respond_by + n * every, Step(f"reminder-{n}", 2, ("team-lead",), None)))
    plan.append((state.resolve_by, Step("sla-resolution", 3, ("stakeholders", "team-lead"), "resolution")))
    due = tuple(step for at, step in plan if at <= now and step.name not in state.done)
    if any(s.name.startswith("reminder-") for s in due):  # only the latest reminder, not a backlog of them
        latest = max((s for s in due if s.name.startswith("reminder-")), key=lambda s: int(s.name.split("-")[1]))
        due = tuple(s for s in due if not s.name.startswith("reminder-") or s is latest)
    later = [at for at, step in plan if at > now and step.name not in state.done]
    return Decision(due, min(later) if later else None)
