"""The console's sign-in: a signed, expiring session cookie instead of the API token on every request.

The token is asked for once (compared like the API's bearer token) and never stored: the cookie holds a random
session id and the person who signed in, signed with CONSOLE_SECRET or a key derived from API_TOKEN (so a new
token signs everyone out). Every form carries a CSRF token derived from the session id; the sign-in form's comes
from a short-lived pre-session cookie. Locally (LOCAL_PREVIEW), a one-time code printed by ./deploy.sh local
signs in without typing the token; it is refused everywhere else.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from itsdangerous import BadData, URLSafeTimedSerializer

from shared import log
from shared.config.frozen import frozen
from shared.config.settings import Settings, settings
from shared.errors import Forbidden, Unauthorized
from shared.incidents.actions import first_use
from shared.store import limits
from shared.store.client import is_claimed
from shared.web.api import authenticate

COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
SESSION_SECONDS = 12 * 3600     # a shift; then the token is asked for again
LOGIN_SECONDS = 3600            # the sign-in form's pre-session
CODE_SECONDS = 3600             # a local sign-in link (printed by ./deploy.sh local)
COOKIE_FLAGS = "HttpOnly; Secure; SameSite=Strict"
FAILED_SIGN_INS = 10            # wrong tokens a client may type per minute; then 429 until the minute is over


@frozen
class Session:
    sid: str
    actor: str          # the person who signed in: the forms' default actor (the only one, signed in with Discord)
    via: str = "token"  # how: "token" (self-declared), "local" (a local sign-in link) or "discord"


def _key(env: Settings) -> bytes:
    if env.console_secret:
        return env.console_secret.reveal().encode()
    if env.api_token:
        return hmac.new(env.api_token.reveal().encode(), b"incident console session key v1", hashlib.sha256).digest()
    if env.discord_client_secret:  # a console that signs in with Discord only needs no API token
        return hmac.new(env.discord_client_secret.reveal().encode(), b"incident console session key v1",
                        hashlib.sha256).digest()
    raise Unauthorized("API_TOKEN is not configured on the server")


def _signer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_key(settings()), salt=f"console-{purpose}")


def signer(purpose: str) -> URLSafeTimedSerializer:
    """A serializer signed with the console's key, for what another sign-in keeps in a cookie (Discord's state)."""
    return _signer(purpose)


def _mac(purpose: str, value: str) -> str:
    return hmac.new(_key(settings()), f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()


class TooManySignIns(Exception):
    """The client typed FAILED_SIGN_INS wrong tokens this minute; `retry_after` seconds until it may try again."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")
        self.retry_after = retry_after


def check_token(typed: str, client: str, now: datetime) -> None:
    """Accept the API token typed into the sign-in form (constant-time), else Unauthorized (logged, without the
    token); TooManySignIns once `client` (its address) has failed FAILED_SIGN_INS times this minute, on every
    instance alike (counted in Firestore), before the token is even compared."""
    minute = now.replace(second=0, microsecond=0)
    name = f"console-sign-in:{hashlib.sha256(client.encode()).hexdigest()[:24]}:{minute:%Y%m%dT%H%M}"
    retry_after = 60 - now.second
    if limits.count(name) >= FAILED_SIGN_INS:
        log.warning("console sign-in refused: too many failures", client=client[:64], retry_after=retry_after)
        raise TooManySignIns(retry_after)
    try:
        authenticate(f"Bearer {typed.strip()}")
    except Unauthorized:
        limits.add(name, minute + timedelta(days=1))
        log.warning("console sign-in failed: wrong token", client=client[:64])
        raise


def revoke(who: Session, now: datetime) -> None:
    """Sign a session out for good: its cookie is refused from now until it would have expired."""
    first_use(f"console-signed-out:{who.sid}", now)


def start(actor: str, via: str = "token") -> str:
    """Return the cookie value of a new session for `actor`, signed in `via` token, local link or Discord."""
    return _signer("session").dumps({"sid": secrets.token_urlsafe(16), "actor": actor, "via": via})


def read(cookie: str | None) -> Session:
    """Return the session a cookie holds; Unauthorized when it is missing, forged, expired or signed out."""
    if not cookie:
        raise Unauthorized("not signed in")
    try:
        data = _signer("session").loads(cookie, max_age=SESSION_SECONDS)
        found = Session(str(data["sid"]), str(data["actor"]), str(data.get("via") or "token"))
    except (BadData, KeyError, TypeError):
        raise Unauthorized("the session is invalid or has expired; sign in again") from None
    if is_claimed(f"console-signed-out:{found.sid}"):
        raise Unauthorized("this session was signed out; sign in again")
    return found


def csrf(session: Session) -> str:
    return _mac("csrf", session.sid)


def check_csrf(session: Session, given: str | None) -> None:
    """Refuse (Forbidden) a form that does not carry this session's CSRF token."""
    if not given or not hmac.compare_digest(given.encode(), csrf(session).encode()):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page and try again")


def login_nonce() -> tuple[str, str]:
    """Return (pre-session cookie value, the sign-in form's CSRF token)."""
    nonce = secrets.token_urlsafe(16)
    return _signer("login").dumps(nonce), _mac("login", nonce)


def check_login_csrf(cookie: str | None, given: str | None) -> None:
    try:
        nonce = _signer("login").loads(cookie or "", max_age=LOGIN_SECONDS)
    except BadData:
        raise Forbidden("the sign-in form has expired or cookies are off; reload the page and try again") from None
    if not given or not hmac.compare_digest(given.encode(), _mac("login", str(nonce)).encode()):
        raise Forbidden("the sign-in form's CSRF token is missing or wrong; reload the page and try again")


def local_code(actor: str) -> str:
    """Return a one-time sign-in code for the local server (valid CODE_SECONDS)."""
    return _signer("local-code").dumps({"n": secrets.token_urlsafe(12), "actor": actor})


def redeem(code: str, now: datetime) -> str:
    """Return the actor a local sign-in code names, once; refused unless LOCAL_PREVIEW is on."""
    if not settings().local_preview:
        raise Forbidden("sign-in links work only on the local server (LOCAL_PREVIEW); sign in with the API token")
    try:
        data = _signer("local-code").loads(code, max_age=CODE_SECONDS)
        nonce, actor = str(data["n"]), str(data["actor"])
    except (BadData, KeyError, TypeError):
        raise Unauthorized("the sign-in link is invalid or has expired; run ./deploy.sh local again") from None
    if not first_use(f"console-code:{nonce}", now):
        raise Unauthorized("the sign-in link was already used; sign in with the API token")
    return actor


def set_cookie(name: str, value: str, path: str, max_age: int) -> str:
    """Return a Set-Cookie header value (HttpOnly, Secure, SameSite=Strict) scoped to the console's path."""
    return f"{name}={value}; Path={path}; Max-Age={max_age}; {COOKIE_FLAGS}"


def clear_cookie(name: str, path: str) -> str:
    return f"{name}=; Path={path}; Max-Age=0; {COOKIE_FLAGS}"
