"""Where a notification goes, who it names and whether it waits for business hours (pure)."""
from __future__ import annotations

from datetime import datetime
from fnmatch import fnmatch

from shared.config import Config, Route, RouteChannel
from shared.config.channels import CAPABILITIES
from shared.config.frozen import frozen
from shared.model import Severity
from shared.rules.calendar import is_business_time, next_business_start
from shared.rules.oncall import primary

TEMPLATE_BY_SEVERITY = {Severity.CRITICAL: "critical", Severity.HIGH: "high"}  # else "warning"


@frozen
class Delivery:
    """One notification to make: a channel, a reason (the outbox key), and how to render it."""

    channel: str
    reason: str                       # opened | severity-<level> | resolved | milestone-<n>
    template: str                     # critical | high | warning | raised | resolved | milestone
    mentions: tuple[str, ...] = ()    # person ids to ping (Discord)
    recipients: tuple[str, ...] = ()  # addressed channels: email addresses, ntfy topics
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


def addresses(channel: str, people: list[str] | tuple[str, ...], cfg: Config) -> tuple[str, ...]:
    """Return how an addressed channel reaches these people: each one's field its capabilities name (email:
    their address, ntfy: their topic); a person without one is left out."""
    field = CAPABILITIES[channel].address
    found = (getattr(cfg.person(pid), field, None) for pid in people) if field else ()
    return tuple(dict.fromkeys(_normal(a, field) for a in found if a and a.strip()))


def _normal(address: str, field: str) -> str:
    return address.strip().lower() if field == "email" else address.strip()   # ntfy topics are case-sensitive


def _recipients(channel: RouteChannel, severity: Severity, now: datetime, cfg: Config,
                on_call: str | None) -> tuple[str, ...]:
    field = CAPABILITIES[channel.channel].address
    found: list[str] = []
    for target in channel.to:
        if "@" in target:
            if field == "email":   # a literal address (the team-file check allows one only where email addresses)
                found.append(_normal(target, field))
        else:
            found += addresses(channel.channel, _people([target], now, cfg, on_call), cfg)
    if severity is Severity.CRITICAL and field == "email":
        found += [_normal(a, field) for a in cfg.notifications.critical_emails]
    return tuple(dict.fromkeys(found))


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
        recipients = _recipients(channel, severity, now, cfg, on_call) if channel.to else ()
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


def team_chat(cfg: Config) -> str:
    """Return the chat channel the team's own messages go to (the handoff, the daily report, silence notices): the
    first chat channel the default environment's routes name (Discord, or Slack for a team that uses Slack), else
    discord (where they show on the preview page until it is set up)."""
    chats = [c for c in follow_up_channels(cfg.default_environment, cfg) if CAPABILITIES[c].chat]
    return chats[0] if chats else "discord"


def follow_up_channels(environment: str, cfg: Config) -> list[str]:
    """Return every channel any route could have used for this environment (resolve follow-ups)."""
    channels: list[str] = []
    for severity in Severity:
        route = route_for(severity, environment, cfg)
        for channel in route.channels if route else []:
            if channel.channel not in channels:
                channels.append(channel.channel)
    return channels
