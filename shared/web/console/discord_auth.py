"""Sign in with Discord: each person signs in to the console as themselves (OAuth2 authorization code, PKCE).

GET {base}login/discord?next=..  makes a random `state` and PKCE verifier, keeps both (and where to go next) in a
short-lived signed cookie bound to this browser, and sends the browser to Discord. Discord sends it back to
GET {base}auth/discord?code=..&state=.. (PUBLIC_URL/console/auth/discord, registered in the developer portal):
the state must be this browser's and unused, the code is exchanged with the verifier, and the person is the
team member whose discord_id is the Discord user's id. Anyone else is refused with a page that names nothing
of the team. The cookie is SameSite=Lax, not Strict like the session's: the browser comes back from
discord.com, and a Strict cookie is not sent on a navigation another site started.
"""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from urllib.parse import unquote, urlsplit

from itsdangerous import BadData

from shared import log
from shared.config import Config
from shared.config.settings import settings
from shared.incidents.actions import first_use
from shared.vendors import discord_oauth
from shared.web.console import session

COOKIE = "console_discord"
PURPOSE = "discord-sign-in"
COOKIE_SECONDS = 600      # from leaving for Discord to coming back
COOKIE_FLAGS = "HttpOnly; Secure; SameSite=Lax"
BUDGET = 8.0              # seconds for the token exchange and users/@me together (each at most SEND_TIMEOUT_SECONDS)
MAX_NEXT = 2000           # characters of a deep link kept through the sign-in
NOT_A_DESTINATION = ("login", "logout", "auth")   # the console's own paths that would only sign in again
STRANGER = ("This Discord account may not use this console. If you are on the team, ask your team lead to add "
            "your Discord user id to the team file, then sign in again.")


class SignInFailed(Exception):
    """The sign-in did not happen: the status of the page that says so, and what it says (nothing internal)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def enabled() -> bool:
    """True when Sign in with Discord is configured: then it is the console's only sign-in."""
    return discord_oauth.configured(settings())


def destination(given: str | None, base: str) -> str:
    """Return `given` when it is a path of the console's own (under `base`, no host, no scheme, no dot segments,
    ASCII: percent-encoded as a browser sends it), else `base`: a deep link survives sign-in, and no link can send
    someone elsewhere after it."""
    text = str(given or "")
    if not text or len(text) > MAX_NEXT or not text.isascii() or not text.startswith(base) or text.startswith("//") \
            or any(c == "\\" or ord(c) < 0x21 or ord(c) == 0x7f for c in text):
        return base
    try:
        parts = urlsplit(text)
    except ValueError:
        return base
    segments = unquote(parts.path).split("/")
    if parts.scheme or parts.netloc or parts.fragment or "." in segments or ".." in segments \
            or "\\" in unquote(parts.path) or not parts.path.startswith(base):
        return base
    first = parts.path[len(base):].split("/", 1)[0]
    return base if first in NOT_A_DESTINATION else text


def begin(base: str, given_next: str | None) -> tuple[str, str]:
    """Return (Discord's authorize URL, the Set-Cookie that binds this sign-in to the browser)."""
    env = settings()
    if not env.public_url:
        raise SignInFailed(503, "Sign in with Discord is set up without PUBLIC_URL, so Discord cannot send you back "
                                "here; ask whoever deploys the console to set it (./deploy.sh doctor says so).")
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    kept = session.signer(PURPOSE).dumps({"state": state, "verifier": verifier, "next": destination(given_next, base)})
    cookie = f"{COOKIE}={kept}; Path={base}; Max-Age={COOKIE_SECONDS}; {COOKIE_FLAGS}"
    return discord_oauth.authorize_url(env, state, verifier), cookie


def clear(base: str) -> str:
    return f"{COOKIE}=; Path={base}; Max-Age=0; {COOKIE_FLAGS}"


def finish(args, cookie: str | None, base: str, now: datetime, cfg: Config) -> tuple[str, str]:
    """Complete the sign-in Discord sent the browser back from; return (person id, where to go next), or raise
    SignInFailed: 400 without this browser's state, 401 when Discord did not sign the person in (a refused, used
    or replayed code), 403 for someone not in the team file, 503 when Discord does not answer."""
    try:
        kept = session.signer(PURPOSE).loads(cookie or "", max_age=COOKIE_SECONDS)
        state, verifier, next_ = str(kept["state"]), str(kept["verifier"]), str(kept["next"])
    except (BadData, KeyError, TypeError):
        raise SignInFailed(400, "This sign-in expired or was started in another browser (or cookies are off); "
                                "sign in again.") from None
    given = str(args.get("state") or "")
    if not given or not hmac.compare_digest(given.encode(), state.encode()):
        log.warning("console sign-in with Discord refused: the state is not this browser's")
        raise SignInFailed(400, "This sign-in is not the one this browser started; sign in again.")
    if args.get("error"):
        raise SignInFailed(401, "Discord did not sign you in (you may have cancelled); sign in again.")
    code = str(args.get("code") or "")
    if not code or not first_use(f"console-discord-state:{state}", now):   # the same answer, replayed
        raise SignInFailed(401, "This sign-in was already used; sign in again.")
    try:
        uid = discord_oauth.user_id(settings(), code, verifier, BUDGET)
    except discord_oauth.DiscordUnavailable as e:
        log.warning("console sign-in with Discord: Discord unavailable", error=str(e))
        raise SignInFailed(503, "Discord is not answering right now, so nobody can sign in; try again in a "
                                "minute.") from None
    except discord_oauth.SignInRefused as e:
        log.warning("console sign-in with Discord refused by Discord", error=str(e))
        raise SignInFailed(401, "Discord did not confirm who you are (the sign-in may have been used already); "
                                "sign in again.") from None
    person = next((p.id for p in cfg.people if p.discord_id and p.discord_id == uid), None)
    if person is None:
        log.warning("console sign-in with Discord refused: not in the team file", discord_user=uid)
        raise SignInFailed(403, STRANGER)
    return person, next_


def session_cookie(person: str, base: str) -> str:
    return session.set_cookie(session.COOKIE, session.start(person, via="discord"), base, session.SESSION_SECONDS)
