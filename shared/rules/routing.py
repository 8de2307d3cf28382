"""Where a notification goes, who it names and whether it waits for business hours (pure)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatch

from shared.config import Config, Route, RouteChannel
from shared.model import Severity
from shared.rules.calendar import is_business_time, next_business_start
from shared.rules.oncall import primary

TEMPLATE_BY_SEVERITY = {Severity.CRITICAL: "critical", Severity.HIGH: "high"}  # else "warning"


@dataclass(frozen=True)
class Delivery:
    """One notification to make: a channel, a reason (the outbox key), and how to render it."""

    channel: str
    reason: str                       # opened | severity-<level> | resolved | milestone-<n>
    template: str                     # critical | high | warning | raised | resolved | milestone
    mentions: tuple[str, ...] = ()    # person ids to ping (Discord)
    recipients: tuple[str, ...] = ()  # email addresses
    not_before: datetime | None = None  # held until then (None: send now)


def route_for(severity: Severity, environment: str, cfg: Config) -> Route | None:
    """Return the first route matching the environment and severity, or None."""
    for route in cfg.notifications.routes:
        if severity.label in route.severities and any(fnmatch(environment, p) for p in route.environments):
            return route
    return None


def _people(targets: list[str], now: datetime, cfg: Config, on_call: str | None) -> list[str]:
    out: list[str] = []
    for target in targets:
        pid = (on_call or primary(now, cfg)) if target == "on-call" else cfg.team_lead if target == "team-lead" \
            else target
        if "@" not in pid and pid not in out:
            out.append(pid)
    return out


def _emails(channel: RouteChannel, severity: Severity, now: datetime, cfg: Config,
            on_call: str | None) -> tuple[str, ...]:
    addresses: list[str] = []
    for target in channel.to:
        if "@" in target:
            addresses.append(target)
        else:
            email = cfg.person(_people([target], now, cfg, on_call)[0]).email
            if email:
                addresses.append(email)
    if severity is Severity.CRITICAL:
        addresses += cfg.notifications.critical_emails
    return tuple(dict.fromkeys(a.strip().lower() for a in addresses))


def _hold_until(route: Route, channel: RouteChannel, now: datetime, cfg: Config) -> datetime | None:
    if (channel.after_hours or route.after_hours) == "hold" and not is_business_time(now, cfg):
        return next_business_start(now, cfg)
    return None


def opening(severity: Severity, environment: str, now: datetime, cfg: Config,
            on_call: str | None = None) -> list[Delivery]:
    """Return the notifications an incident of this severity gets when it opens (or reaches it).

    `on_call` is who is on call now, overrides included; None means the rotation's own choice."""
    route = route_for(severity, environment, cfg)
    if route is None:
        return []
    out = []
    for channel in route.channels:
        template = channel.template or TEMPLATE_BY_SEVERITY.get(severity, "warning")
        mentions = tuple(_people(channel.mention, now, cfg, on_call))
        recipients = _emails(channel, severity, now, cfg, on_call) if channel.to else ()
        if channel.to and not recipients:  # an addressed channel with nobody to address: nothing to send
            continue
        out.append(Delivery(channel.channel, "opened", template, mentions, recipients,
                            _hold_until(route, channel, now, cfg)))
    return out


def raised(severity: Severity, environment: str, now: datetime, cfg: Config,
           on_call: str | None = None) -> list[Delivery]:
    """Return what a rise to `severity` sends: one record per channel of the new level's route.

    A channel that already carries the incident gets a short update naming who must now act; one that
    does not yet (say a Low that became High) gets the full opening message at send time.
    """
    return [Delivery(d.channel, f"severity-{severity.label}", "raised", d.mentions, d.recipients, d.not_before)
            for d in opening(severity, environment, now, cfg, on_call)]


def follow_up_channels(environment: str, cfg: Config) -> list[str]:
    """Return every channel any route could have used for this environment (resolve follow-ups)."""
    channels: list[str] = []
    for severity in Severity:
        route = route_for(severity, environment, cfg)
        for channel in route.channels if route else []:
            if channel.channel not in channels:
                channels.append(channel.channel)
    return channels
