"""Classify an incident's severity from the team's table; every answer carries its reason."""
from __future__ import annotations

from shared.config import Config, SeverityRule
from shared.config.frozen import frozen
from shared.model import Alert, Severity


@frozen
class Facts:
    """What severity rules look at: the latest alert plus the incident's counts so far."""

    alert: Alert
    service: str
    environment: str
    occurrences: int = 1
    users: int = 0
    minutes_open: float = 0.0

    @property
    def rate_per_minute(self) -> float:
        return self.occurrences / max(self.minutes_open, 1.0)

    @property
    def text(self) -> str:
        a = self.alert
        return " ".join((a.title, a.message, a.location)).lower()


@frozen
class Classification:
    severity: Severity
    reason: str


def _explain(rule: SeverityRule, facts: Facts) -> str | None:
    """Return why the rule matches the facts, or None when it does not."""
    why = []
    if rule.keywords:
        hit = next((k for k in rule.keywords if k.lower() in facts.text), None)
        if hit is None:
            return None
        why.append(f"mentions {hit!r}")
    if rule.levels:
        if facts.alert.level.lower() not in {lv.lower() for lv in rule.levels}:
            return None
        why.append(f"level {facts.alert.level}")
    for values, actual, what in ((rule.sources, facts.alert.source, "source"),
                                 (rule.services, facts.service, "service"),
                                 (rule.environments, facts.environment, "environment")):
        if values:
            if actual not in values:
                return None
            why.append(f"{what} {actual}")
    for key, value in rule.tags.items():
        if facts.alert.tags.get(key) != value:
            return None
        why.append(f"tag {key}={value}")
    if rule.min_users is not None:
        if facts.users < rule.min_users:
            return None
        why.append(f"{facts.users} users affected >= {rule.min_users}")
    if rule.min_occurrences is not None:
        if facts.occurrences < rule.min_occurrences:
            return None
        why.append(f"{facts.occurrences} occurrences >= {rule.min_occurrences}")
    if rule.min_rate_per_minute is not None:
        if facts.rate_per_minute < rule.min_rate_per_minute:
            return None
        why.append(f"{facts.rate_per_minute:.1f} events/min >= {rule.min_rate_per_minute:g}")
    return ", ".join(why)


def classify(facts: Facts, cfg: Config) -> Classification:
    """Return the severity the rules give these facts, with the reason for it."""
    alert, table = facts.alert, cfg.severity
    levels = table.levels.get(alert.level_table, {})
    level = alert.level.lower()
    if level in levels:
        best = Classification(Severity.parse(levels[level]), f"{alert.level_table} level {level!r}")
    else:
        best = Classification(Severity.parse(table.default),
                              f"{alert.level_table or alert.source} level {level or 'unset'!r} is not in the table")
    for rule in table.rules:
        rank = Severity.parse(rule.severity)
        if rank <= best.severity:
            continue
        why = _explain(rule, facts)
        if why is not None:
            best = Classification(rank, f"rule {rule.name!r}: {why}")
    env = cfg.environments.get(facts.environment)
    if env and env.max_severity and best.severity > Severity.parse(env.max_severity):
        cap = Severity.parse(env.max_severity)
        best = Classification(cap, f"{best.reason}; capped at {cap.label} in {facts.environment}")
    return best
