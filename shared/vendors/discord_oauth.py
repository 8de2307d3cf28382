"""Discord's OAuth2, for "Sign in with Discord" in the console: the authorize URL, the code's exchange, who it is.

Docs: https://discord.com/developers/docs/topics/oauth2#authorization-code-grant; Discord's metadata
(https://discord.com/.well-known/oauth-authorization-server) lists S256 code challenges and client_secret_basic.
    GET  {DISCORD_OAUTH_URL}/authorize?response_type=code&client_id=..&scope=identify&state=..&redirect_uri=..
         &code_challenge=..&code_challenge_method=S256&prompt=none   (the browser; back with ?code=..&state=..,
         or ?error=access_denied&state=.. when the person said no)
    POST {DISCORD_API_URL}/oauth2/token   (application/x-www-form-urlencoded; Basic client_id:client_secret)
         grant_type=authorization_code&code=..&redirect_uri=..&code_verifier=..
         -> {"access_token": "6qrZcUqja7812RVdnEKjpzOL4CvHBFG", "token_type": "Bearer", "expires_in": 604800,
             "refresh_token": "D43f5y0ahjqew82jZ4NViEr2YafMKhue", "scope": "identify"}
         a used, expired or unknown code, or a verifier that does not match: 400 {"error": "invalid_grant"}
    GET  {DISCORD_API_URL}/users/@me      (Authorization: Bearer <access token>) -> {"id": "80351110224678912", ...}
Nothing here is kept: the access token is used once, to read the person's id, and forgotten.
"""
from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlencode

from shared.channels.base import request
from shared.clock import clock
from shared.config.settings import Settings
from shared.lazy import httpx

CHANNEL = "discord-oauth"   # its own keep-alive client: a hung sign-in never cuts a notification short
SCOPE = "identify"          # the user's id and name, nothing else (no email, no servers)
CALLBACK_PATH = "/console/auth/discord"


class SignInRefused(Exception):
    """Discord did not sign the person in (a used, expired or forged code; a revoked token); the message says why,
    never a secret."""


class DiscordUnavailable(Exception):
    """Discord did not answer in time or answered with a server error; trying again later can work."""


def configured(settings: Settings) -> bool:
    """True when both client settings are set: then the console signs people in with Discord only."""
    return bool(settings.discord_client_id and settings.discord_client_secret)


def redirect_uri(settings: Settings) -> str:
    """The console's callback, to register in the developer portal (OAuth2 > Redirects); "" without PUBLIC_URL."""
    return f"{settings.public_url}{CALLBACK_PATH}" if settings.public_url else ""


def challenge(verifier: str) -> str:
    """The PKCE S256 code challenge of a verifier: BASE64URL(SHA256(verifier)) without padding (RFC 7636 4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def authorize_url(settings: Settings, state: str, verifier: str) -> str:
    """Where the browser goes to ask the person (prompt=none: no second screen for someone who said yes before)."""
    query = {"response_type": "code", "client_id": settings.discord_client_id, "scope": SCOPE, "state": state,
             "redirect_uri": redirect_uri(settings), "code_challenge": challenge(verifier),
             "code_challenge_method": "S256", "prompt": "none"}
    return f"{settings.discord_oauth_url}/authorize?{urlencode(query)}"


def user_id(settings: Settings, code: str, verifier: str, budget: float) -> str:
    """Exchange the code (with the PKCE verifier) and return the Discord user id of who signed in, both calls
    within `budget` seconds; SignInRefused or DiscordUnavailable otherwise."""
    timer = clock()
    deadline = timer.monotonic() + budget
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri(settings),
            "code_verifier": verifier}
    auth = (settings.discord_client_id, settings.discord_client_secret.reveal())
    token = _json(_call(settings, "POST", "/oauth2/token", deadline, data=form, auth=auth), "the token exchange")
    access = token.get("access_token")
    if not isinstance(access, str) or not access or str(token.get("token_type", "Bearer")).lower() != "bearer":
        raise SignInRefused("Discord's token answer holds no bearer access token")
    user = _json(_call(settings, "GET", "/users/@me", deadline, headers={"Authorization": f"Bearer {access}"}),
                 "who you are")
    found = user.get("id")
    if not isinstance(found, str | int) or isinstance(found, bool) or not str(found).isdigit():
        raise SignInRefused("Discord's answer does not say who you are")
    return str(found)


def _call(settings: Settings, method: str, path: str, deadline: float, **kwargs) -> httpx.Response:
    remaining = deadline - clock().monotonic()
    if remaining <= 0:
        raise DiscordUnavailable("Discord did not answer in time")
    try:  # connect to last byte within the deadline (httpx's own timeouts are per read)
        response = request(CHANNEL, method, f"{settings.discord_api_url}{path}",
                           min(settings.send_timeout, remaining), **kwargs)
    except (httpx.HTTPError, RuntimeError) as e:  # RuntimeError: the client was closed at the deadline
        raise DiscordUnavailable(f"Discord could not be reached ({type(e).__name__})") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise DiscordUnavailable(f"Discord answered {response.status_code}")
    if response.status_code != 200:
        raise SignInRefused(f"Discord refused ({response.status_code} {_error(response)})".rstrip())
    return response


def _json(response: httpx.Response, what: str) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DiscordUnavailable(f"Discord's answer to {what} could not be read")
    return body


def _error(response: httpx.Response) -> str:
    """The OAuth error code (invalid_grant, invalid_client) or Discord's message: never the request's values."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    said = body.get("error") or body.get("message") or ""
    return "".join(c for c in str(said)[:60] if c.isalnum() or c in " _.:-")
