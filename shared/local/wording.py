"""Which level and wording a sample alert carries, for the team file in use.

Candidates come in order: the realistic Petties wording for the asked severity (samples.SCENARIOS), then a plain
wording at each level the source can send, then one per severity rule of the asked severity (its first keyword,
a level it accepts, its tags). Each candidate's delivery is read by the source's own parser and classified by the
team's rules (shared/rules/mapping.py, shared/rules/severity.py), exactly as ingest would; the first that lands on
the asked service and environment at the asked severity (or at the environment's cap below it) is sent. None:
Unfit, naming what the team's rules give instead.
"""
from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import datetime

from shared.config import Config, SeverityRule
from shared.config.frozen import frozen
from shared.local.samples import ACTIONS, BUILDERS, SCENARIOS, Delivery, Scenario, Unfit, routing_keys
from shared.model import Severity
from shared.rules.mapping import environment_for, service_for
from shared.rules.severity import Classification, Facts, classify
from shared.sources import REGISTRY, pagerduty
from shared.sources.common import InboundRequest

# The levels each source can send (Sentry's five; PagerDuty's payload.severity; a Prometheus `severity` label may be
# anything, so also every level the team's table names) and the table that reads them (severity.levels).
_SENTRY = ("fatal", "error", "warning", "info", "debug")
LEVELS = {"sentry": _SENTRY, "sentry-legacy": _SENTRY, "alertmanager": ("critical", "error", "warning", "info"),
          "grafana": ("critical", "error", "warning", "info"), "pagerduty": pagerduty.SEVERITIES,
          "uptimerobot": ("down",)}
FREE_LEVELS = ("alertmanager", "grafana")
TABLE = {"sentry-legacy": "sentry"}
PLAIN = "sample alert sent by ./deploy.sh alert"


@frozen
class Choice:
    """The wording to send and what the team's rules make of it."""

    scenario: Scenario
    verdict: Classification
    asked: Severity | None        # None: the source's own severity (uptimerobot down)
    cap: str | None               # the environment's max_severity, when it lowers what was asked


def _table(source: str, cfg: Config) -> dict[str, str]:
    return cfg.severity.levels.get(TABLE.get(source, source), {})


def levels(source: str, cfg: Config) -> list[str]:
    """Return the levels the source can send, those the team's table ranks highest first."""
    table = _table(source, cfg)
    known = list(LEVELS[source]) + ([lv for lv in table if lv not in LEVELS[source]] if source in FREE_LEVELS else [])
    return sorted(known, key=lambda lv: -Severity.parse(table.get(lv, cfg.severity.default)))


def _plain(severity: Severity, level: str, keyword: str = "", tags: tuple = ()) -> Scenario:
    """A wording that says only what it is (plus a rule's keyword): the level and the rules decide its severity."""
    said = f"{keyword}: {PLAIN}" if keyword else PLAIN
    return Scenario(level, level, level, "SampleError", said, "sample.Module in run", f"SampleAlert{int(severity)}",
                    said[:1].upper() + said[1:], "to try the team file's routing", tags)


def _rule_levels(rule: SeverityRule, source: str, cfg: Config) -> list[str]:
    wanted = {lv.lower() for lv in rule.levels}
    return [lv for lv in levels(source, cfg) if not wanted or lv in wanted]


def candidates(source: str, severity: Severity, cfg: Config) -> Iterator[Scenario]:
    """Yield the wordings to try for `severity`, the likeliest first."""
    yield SCENARIOS[severity.label]
    table = _table(source, cfg)
    ranked = levels(source, cfg)
    exact = [lv for lv in ranked if Severity.parse(table.get(lv, cfg.severity.default)) == severity]
    for level in exact + [lv for lv in ranked if lv not in exact]:
        yield _plain(severity, level)
    for rule in cfg.severity.rules:
        if Severity.parse(rule.severity) == severity:
            for level in reversed(_rule_levels(rule, source, cfg)):  # a rule raises: from the lowest level up
                yield _plain(severity, level, rule.keywords[0] if rule.keywords else "", tuple(rule.tags.items()))


def predict(source: str, delivery: Delivery, cfg: Config, occurrences: int = 1) -> tuple[str, str, Classification]:
    """Return the service, environment and severity ingest would give this delivery after `occurrences` of it."""
    request = InboundRequest(delivery.body, {k.lower(): v for k, v in delivery.headers.items()}, dict(delivery.params))
    if source == "pagerduty":
        [alert] = pagerduty.parse(request, routing_keys(cfg))
    else:
        [alert] = REGISTRY[source].parse(request)
    service, environment = service_for(alert, cfg), environment_for(alert, cfg)
    facts = Facts(alert, service, environment, occurrences=occurrences, users=alert.users or 0)
    return service, environment, classify(facts, cfg)


def choose(o: argparse.Namespace, cfg: Config, now: datetime) -> Choice:
    """Return the first candidate the team's rules classify as asked (o.severity None: as the source says), or raise
    Unfit naming what they give instead. The choice does not depend on the action, so a closing action acts on the
    problem its opening one made."""
    opening = argparse.Namespace(**{**vars(o), "action": ACTIONS[o.source][0]})
    asked = Severity.parse(o.severity) if o.severity else None
    cap = cfg.environments[o.env].max_severity
    wanted = min(asked, Severity.parse(cap)) if asked and cap else asked
    got: dict[str, str] = {}
    for scenario in candidates(o.source, asked or Severity.CRITICAL, cfg) if asked else [SCENARIOS["critical"]]:
        service, environment, verdict = predict(o.source, BUILDERS[o.source](opening, cfg, now, scenario), cfg,
                                                o.repeat)
        if (service, environment) != (o.service, o.env):
            raise Unfit(f"the team file takes this {o.source} alert as {service} in {environment}, not {o.service} "
                        f"in {o.env}: check services.{o.service} and environments.{o.env}")
        if wanted is None or verdict.severity == wanted:
            return Choice(scenario, verdict, asked, cap if asked and wanted < asked else None)
        got.setdefault(verdict.severity.label, verdict.reason)
    given = " or ".join(f"{label} ({reason})" for label, reason in got.items())
    raise Unfit(f"the team file's severity rules give no {o.source} alert on {o.service} in {o.env} the severity "
                f"{wanted.label}: they give {given}; see severity.levels.{TABLE.get(o.source, o.source)} and "
                "severity.rules")
