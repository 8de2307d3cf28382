"""./deploy.sh gcp plan|apply|smoke [--project P] [--region R] (smoke: also --url BASE)"""
from __future__ import annotations

import argparse
import sys

from deploy import smoke
from deploy.gcloud import DeployError
from deploy.run import main
from shared.config import ConfigError


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./deploy.sh gcp", description=__doc__)
    parser.add_argument("mode", choices=("plan", "apply", "smoke"),
                        help="plan: print, change nothing; apply: make it so; smoke: check what is deployed works")
    parser.add_argument("--project", help="Google Cloud project id (default: deploy.project in the team file)")
    parser.add_argument("--region", help="region (default: deploy.region in the team file, asia-southeast1)")
    parser.add_argument("--url", help="smoke: the base URL of any running stack (http://127.0.0.1:8080 locally)")
    args = parser.parse_args(argv)
    try:
        if args.mode == "smoke":
            return smoke.main(args.project, args.region, args.url)
        return main(args.mode, args.project, args.region)
    except (DeployError, ConfigError) as e:
        print(f"deploy.sh gcp {args.mode}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(cli())
