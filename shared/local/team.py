"""Check the team file before anything starts, and describe it for the banner of ./deploy.sh local.

    python -m shared.local.team check     one line per problem (no traceback), exit 1; warnings go to stderr
    python -m shared.local.team summary   which file, which team, its time zone and who is on call now and next
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone

from shared.config import DEFAULT_CONFIG, Config, ConfigError, load_config
from shared.rules import oncall as rotation


def warnings(cfg: Config) -> list[str]:
    """Return what is valid but probably not meant."""
    out = []
    if cfg.team_lead in cfg.rotation.order:
        lead = cfg.person(cfg.team_lead).name
        out.append(f"rotation.order: the team lead {lead} is also in the rotation, so in {lead}'s week the backup "
                   f"is the same person and an unanswered page escalates to nobody new")
    return out


def summary(cfg: Config, path: str, now: datetime) -> list[str]:
    """Return the banner lines: the file, the team and who is on call by the rotation (overrides: /api/oncall)."""
    local = now.astimezone(cfg.team.zone)
    offset = local.strftime("%z")
    handover = rotation.next_handover(now, cfg)
    following = rotation.primary(handover, cfg)
    return [f"Team file       {path}",
            f"Team            {cfg.team.name}, {len(cfg.people)} people, {cfg.team.time_zone} "
            f"(UTC{offset[:3]}:{offset[3:]}, now {local:%a %H:%M})",
            f"On call         {cfg.person(rotation.primary(now, cfg)).name} (backup "
            f"{cfg.person(cfg.team_lead).name}); from {handover.astimezone(cfg.team.zone):%a %d %b %H:%M}: "
            f"{cfg.person(following).name}   (overrides: GET /api/oncall)"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["check", "summary"])
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
    else:
        print("\n".join(summary(cfg, path, datetime.now(timezone.utc))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
