"""Register the slash commands on the team's Discord server and say what to paste into the developer portal.

    python -m shared.local.discord_setup [--public-url https://…]    ./deploy.sh discord-setup

Needs DISCORD_BOT_TOKEN, DISCORD_APPLICATION_ID and DISCORD_GUILD_ID. It also prints the redirect URI that
Sign in with Discord needs registered (OAuth2 > Redirects): PUBLIC_URL/console/auth/discord; with only
DISCORD_CLIENT_ID and DISCORD_CLIENT_SECRET set (no bot), that is all it does. The commands are guild commands: they
replace the server's whole list at once and show up instantly (global ones take up to an hour), with
`PUT /applications/{app}/guilds/{guild}/commands`
(https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-guild-application-commands).
Running it again changes nothing but Discord's version numbers. Exit 0 when registered, 1 when Discord said
no, 2 when the environment lacks what it needs. No line ever shows the token.
"""
from __future__ import annotations

import argparse
import sys
import time

import httpx

from shared.channels.base import DISCORD_USER_AGENT
from shared.config import ConfigError
from shared.config.settings import Settings
from shared.rules.status_updates import COMPONENT_OVERRIDES
from shared.rules.status_updates import STATUSES as STATUS_UPDATE_STATUSES
from shared.vendors import discord_oauth

TIMEOUT = 10.0
# option types (https://discord.com/developers/docs/interactions/application-commands#application-command-object-
# application-command-option-type, INTEGRATIONS.md A9)
SUB_COMMAND, STRING, INTEGER, USER = 1, 3, 4, 6
# https://discord.com/developers/docs/topics/permissions#permissions-bitwise-permission-flags
PERMISSIONS = {
    "VIEW_CHANNEL": 1 << 10,               # to see a private alerts channel at all
    "SEND_MESSAGES": 1 << 11,              # the alert itself
    "SEND_MESSAGES_IN_THREADS": 1 << 38,   # the workflow replies ("SEND_MESSAGES has no effect in threads")
    "CREATE_PUBLIC_THREADS": 1 << 35,      # a thread per alert
    "ADD_REACTIONS": 1 << 6,               # 👀 🔍 🔧 🔄 ✅ ❌ on the alert
    "READ_MESSAGE_HISTORY": 1 << 16,       # to react on and start threads from earlier messages
    "EMBED_LINKS": 1 << 14,                # the incident card
}
SEVERITIES = ("critical", "high", "medium", "low")


def _id(required: bool = True) -> dict:
    return {"type": STRING, "name": "id", "description": "The incident, e.g. INC-7K3QXD", "required": required,
            "autocomplete": True}


def _text(name: str, description: str, required: bool = False) -> dict:
    return {"type": STRING, "name": name, "description": description, "required": required}


def _sub(name: str, description: str, *options: dict) -> dict:
    return {"type": SUB_COMMAND, "name": name, "description": description, "options": list(options)}


_DETAIL = _text("detail", "A few words for the thread and the timeline")


def _incident(autocomplete: bool = False) -> dict:
    return {"type": STRING, "name": "incident", "description": "The incident, e.g. INC-7K3QXD", "required": True,
            **({"autocomplete": True} if autocomplete else {})}

COMMANDS: list[dict] = [
    {"name": "incident", "type": 1, "description": "Work on an incident", "options": [
        _sub("ack", "Acknowledge: you own it and escalation stops", _id(), _DETAIL),
        _sub("investigating", "Say you are investigating", _id(), _DETAIL),
        _sub("fixing", "Say you are working on a fix", _id(), _DETAIL),
        _sub("deploying", "Say the fix is being deployed", _id(), _DETAIL),
        _sub("resolve", "Resolve it", _id(), _DETAIL),
        _sub("invalid", "Close it as invalid (cannot reproduce)", _id(), _DETAIL),
        _sub("severity", "Change its severity", _id(),
             {**_text("level", "The new severity", required=True),
              "choices": [{"name": s.capitalize(), "value": s} for s in SEVERITIES]},
             _text("reason", "Why")),
        _sub("note", "Add a note to its timeline", _id(), _text("text", "The note", required=True)),
        _sub("show", "Show an incident", _id()),
        _sub("list", "List the active incidents"),
    ]},
    {"name": "oncall", "type": 1, "description": "Who is on call", "options": [
        _sub("now", "Who is on call now, the backup and the next handover"),
        _sub("override", "Cover for someone on call",
             {"type": USER, "name": "member", "description": "Who covers", "required": True},
             _text("from", "Start, e.g. 2026-11-24 18:00 (the team's time zone)", required=True),
             _text("to", "End, e.g. 2026-11-25 09:00", required=True),
             _text("note", "Why")),
    ]},
    {"name": "handoff", "type": 1, "description": "The on-call handoff as it would be posted now"},
    {"name": "silence", "type": 1, "description": "Keep planned work quiet: matching alerts are kept, not sent",
     "options": [
         _sub("add", "Silence a service for a while",
              _text("service", "The service (a glob like petties-* works)", required=True),
              _text("duration", "How long: 30m, 2h, 1d", required=True),
              _text("comment", "Why, e.g. deploy v2.3", required=True),
              _text("severity", "Only this severity (name critical to silence Criticals too)")),
         _sub("end", "End a silence now", _text("id", "The silence's id", required=True)),
     ]},
    {"name": "status-update", "type": 1, "description": "Tell users on the public status page what is going on",
     "options": [
         {**_id(), "name": "incident"},
         {**_text("status", "Where it stands", required=True),
          "choices": [{"name": s.capitalize(), "value": s} for s in STATUS_UPDATE_STATUSES]},
         _text("message", "The issue in words users understand", required=True),
         _text("title", "Public title (needed on the first update)"),
         _text("impact", "What users may notice"),
         _text("eta", "When it should be fixed, e.g. within the hour"),
         {"type": INTEGER, "name": "every", "description": "We will update every ... minutes", "required": False,
          "min_value": 5, "max_value": 1440},
         {**_text("component", "Override the service's state on the page"),
          "choices": [{"name": c.replace("_", " ").capitalize(), "value": c} for c in COMPONENT_OVERRIDES]},
     ]},
    {"name": "postmortem", "type": 1, "description": "Postmortems: read one, its action items, its review",
     "options": [
         _sub("show", "Show an incident's postmortem and its action items", _incident()),
         _sub("action", "Add an action item with its owner and deadline", _incident(),
              _text("text", "What is to be done", required=True),
              {"type": USER, "name": "owner", "description": "Who does it", "required": True},
              _text("deadline", "By when: YYYY-MM-DD", required=True)),
         _sub("done", "Mark an action item done", _incident(),
              {"type": INTEGER, "name": "item", "description": "The action item's number", "required": True}),
         _sub("reviewed", "Say the postmortem was reviewed (its reminders stop)", _incident()),
         _sub("flag", "Flag data loss or a security issue: the incident then needs a postmortem",
              _incident(autocomplete=True),
              {**_text("kind", "What it was", required=True),
               "choices": [{"name": "Data loss", "value": "data_loss"}, {"name": "Security", "value": "security"}]}),
     ]},
]


def permissions() -> int:
    """Return the permission integer the bot's invite asks for."""
    return sum(PERMISSIONS.values())


def invite_url(application_id: str) -> str:
    return (f"https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot+applications.commands"
            f"&permissions={permissions()}")


def register(settings: Settings, timeout: float = TIMEOUT) -> httpx.Response:
    """PUT the command list as the guild's commands (once more after a 429's retry_after, if short)."""
    url = (f"{settings.discord_api_url}/applications/{settings.discord_application_id}/guilds/"
           f"{settings.discord_guild_id}/commands")
    headers = {"Authorization": f"Bot {settings.discord_bot_token.reveal()}", "User-Agent": DISCORD_USER_AGENT}
    for _ in range(2):
        response = httpx.put(url, json=COMMANDS, headers=headers, timeout=timeout)
        if response.status_code != 429:
            break
        try:
            wait = float(response.json().get("retry_after", 1))
        except (ValueError, AttributeError):
            wait = 1.0
        if wait > 30:
            break
        time.sleep(wait)
    return response


def missing(settings: Settings) -> list[str]:
    """Return the variables this needs that are not set."""
    return [name for name, value in (("DISCORD_BOT_TOKEN", settings.discord_bot_token),
                                     ("DISCORD_APPLICATION_ID", settings.discord_application_id),
                                     ("DISCORD_GUILD_ID", settings.discord_guild_id)) if not value]


def sign_in(settings: Settings, public_url: str) -> str:
    """What to register for Sign in with Discord: the console's redirect URI (PUBLIC_URL's, else --public-url's)."""
    base = settings.public_url or public_url.rstrip("/")
    uri = f"{base}{discord_oauth.CALLBACK_PATH}" if base else f"<PUBLIC_URL>{discord_oauth.CALLBACK_PATH}"
    text = f"Sign in with Discord: add this redirect (developer portal > OAuth2 > Redirects):\n  {uri}"
    if not base:
        text += "\n  (set PUBLIC_URL, or give --public-url, to print the exact address)"
    if not discord_oauth.configured(settings):
        text += "\n  then set DISCORD_CLIENT_ID and DISCORD_CLIENT_SECRET (OAuth2 > Client information) for the console"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--public-url", default="", help="the https URL in front of the functions (a tunnel's, or "
                                                         "Google Cloud's), to print the exact endpoint URL")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 2
    lacking = missing(settings)
    print(sign_in(settings, args.public_url))
    if len(lacking) == 3 and discord_oauth.configured(settings):
        print("Bot mode is not set up (DISCORD_BOT_TOKEN, DISCORD_APPLICATION_ID, DISCORD_GUILD_ID): no slash commands "
              "registered.")
        return 0
    if lacking:
        print(f"discord-setup needs {', '.join(lacking)} (the bot's token, its application id and the server's id "
              "from the developer portal and Discord's developer mode)", file=sys.stderr)
        return 2
    try:
        response = register(settings)
    except httpx.HTTPError as e:
        print(f"could not reach Discord: {type(e).__name__}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        try:
            message = str(response.json().get("message", ""))[:300]
        except (ValueError, AttributeError):
            message = ""
        print(f"Discord refused the commands: HTTP {response.status_code} {message}".rstrip(), file=sys.stderr)
        return 1
    names = ", ".join(f"/{c['name']}" for c in response.json())
    base = args.public_url.rstrip("/") or "<public URL>"
    print(f"registered on server {settings.discord_guild_id}: {names}")
    print(f"Interactions Endpoint URL (General Information in the developer portal): {base}/interactions/")
    print(f"Invite the bot (permissions: {', '.join(PERMISSIONS)}):\n  {invite_url(settings.discord_application_id)}")
    if not settings.discord_public_key:
        print("Set DISCORD_PUBLIC_KEY (General Information > Public Key) before saving the endpoint URL: Discord "
              "checks it with a signed PING at once.")
    if not (settings.discord_alerts_channel_id or settings.discord_staging_channel_id):
        print("Set DISCORD_ALERTS_CHANNEL_ID (and DISCORD_STAGING_CHANNEL_ID) to post alerts as the bot.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
