"""Print the console's URL and a one-time sign-in link for the banner of ./deploy.sh local.

    python -m shared.local.console_link http://127.0.0.1:8080

The link carries a signed code, not the token; the console accepts it once, within an hour, and only while
LOCAL_PREVIEW is on (the local server). It signs in as the team lead; the forms let you pick anyone.
"""
from __future__ import annotations

import sys

from shared.config import config
from shared.config.settings import settings
from shared.vendors import discord_oauth
from shared.web.console import session


def main(argv: list[str]) -> int:
    base = (argv[0] if argv else "http://127.0.0.1:8080").rstrip("/")
    if discord_oauth.configured(settings()):   # then sign-in links are off: each person signs in as themselves
        print(f"{base}/console/   (Sign in with Discord)")
        return 0
    print(f"{base}/console/   (sign in: {base}/console/login?code={session.local_code(config().team_lead)} "
          f"- one use, within an hour; or the API token)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
