"""Check the team file before anything starts, and describe it for the banner of ./deploy.sh local.

    python -m shared.local.team check          one line per problem (no traceback), exit 1; warnings go to stderr
    python -m shared.local.team summary        which file, which team, its services, who is on call now and next,
                                               and the PagerDuty routing keys that name its services
    python -m shared.local.team routing-keys   the local PagerDuty routing key (key=service) for the team's first
                                               service, which ./deploy.sh local sets unless PAGERDUTY_ROUTING_KEYS is
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone

from shared.config import DEFAULT_CONFIG, Config, ConfigError, load_config
from shared.config.settings import Settings
from shared.local.samples import local_routing_keys
from shared.rules import oncall as rotation


def warnings(cfg: Config) -> list[str]:
    """Return what is valid but probably not meant."""
    out = []
    lead = cfg.person(cfg.team_lead).name
    if rotation.backup(cfg.team_lead, cfg) == cfg.team_lead:
        out.append(f"rotation.order: nobody but the team lead {lead} is in the rotation, so in {lead}'s week there is "
                   "no backup and an unanswered page escalates to nobody new")
    return out


def routing_keys(cfg: Config, env=os.environ) -> tuple[list[str], int]:
    """Return the key=service pairs of PAGERDUTY_ROUTING_KEYS (else the local default) that name the team's services,
    and how many name services the team file does not have."""
    try:
        keys = Settings.from_env({"PAGERDUTY_ROUTING_KEYS": env.get("PAGERDUTY_ROUTING_KEYS")
                                  or local_routing_keys(cfg)}).pagerduty_routing_keys
    except ConfigError:  # the server refuses it too; ./deploy.sh doctor names the problem
        return [], 0
    names = {s.name for s in cfg.services}
    ours = [f"{key}={service}" for key, service in keys.items() if service in names]
    return ours, len(keys) - len(ours)


def summary(cfg: Config, path: str, now: datetime, env=os.environ) -> list[str]:
    """Return the banner lines: the file, the team, its services, who is on call by the rotation (overrides:
    /api/oncall) and the PagerDuty routing keys of its services."""
    local = now.astimezone(cfg.team.zone)
    offset = local.strftime("%z")
    handover = rotation.next_handover(now, cfg)
    following = rotation.primary(handover, cfg)
    on_call = rotation.primary(now, cfg)
    keys, others = routing_keys(cfg, env)
    lines = [f"Team file       {path}",
             f"Team            {cfg.team.name}, {len(cfg.people)} people, {cfg.team.time_zone} "
             f"(UTC{offset[:3]}:{offset[3:]}, now {local:%a %H:%M})",
             f"Services        {', '.join(s.name for s in cfg.services) or 'none (services: in the team file)'}",
             f"On call         {cfg.person(on_call).name} (backup {cfg.person(rotation.backup(on_call, cfg)).name}); "
             f"from {handover.astimezone(cfg.team.zone):%a %d %b %H:%M}: {cfg.person(following).name}   "
             "(overrides: GET /api/oncall)",
             f"PagerDuty keys  {', '.join(keys) or 'none'}   (key=service, PAGERDUTY_ROUTING_KEYS"
             + (f"; {others} more name{'s' if others == 1 else ''} no service of this team file)" if others else ")")]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["check", "summary", "routing-keys"])
    args = parser.parse_args(argv)
    path = os.environ.get("INCIDENT_CONFIG") or str(DEFAULT_CONFIG)
    try:
        cfg = load_config(path)
    except ConfigError as e:
        print(f"the team file is invalid: {e}", file=sys.stderr)
        return 1
    if args.what == "check":
        for line in warnings(cfg):
            print(f"warning: {line}", file=sys.stderr)
    elif args.what == "routing-keys":
        print(local_routing_keys(cfg))
    else:
        print("\n".join(summary(cfg, path, datetime.now(timezone.utc))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
