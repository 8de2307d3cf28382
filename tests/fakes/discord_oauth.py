"""A fake of Discord's OAuth2 at the HTTP boundary: the token exchange (client credentials, redirect_uri, single-use
codes, PKCE S256) and GET /users/@me by bearer token.

The authorize page itself is a person clicking "Authorize" on discord.com, so it is not served: the test reads the
URL the console sent the browser to and calls approve(url, user), which checks its query as Discord would, learns
the code challenge and returns the code Discord would put on the redirect.
Docs: https://discord.com/developers/docs/topics/oauth2#authorization-code-grant
"""
from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from werkzeug.wrappers import Request, Response

from tests.fakes.clock import Clock
from tests.fakes.server import FakeService, Fault, json_response

CODE_SECONDS = 600        # Discord's codes are short-lived (its docs do not say how long; 10 minutes is usual)
TOKEN_SECONDS = 604800    # "expires_in": 604800 in Discord's example


@dataclass
class Grant:
    """What approve() saw on the authorize URL, for the code it issued."""

    user: dict
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    issued: float
    used: bool = False


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class FakeDiscordOAuth(FakeService):
    """Discord's OAuth2 for one application (client_id, client_secret) with its registered redirect URIs."""

    def __init__(self, *, client_id: str = "700000000000000001", client_secret: str = "oauth-client-SECRET",
                 redirect_uris: tuple[str, ...] = (), clock: Clock | None = None, **kwargs: Any) -> None:
        super().__init__(clock=clock, **kwargs)
        self.client_id, self.client_secret = client_id, client_secret
        self.redirect_uris = set(redirect_uris)
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, tuple[dict, float]] = {}

    @property
    def api_url(self) -> str:
        """What DISCORD_API_URL is set to (as https://discord.com/api/v10)."""
        return f"{self.base_url}/api/v10"

    @property
    def oauth_url(self) -> str:
        """What DISCORD_OAUTH_URL is set to (as https://discord.com/oauth2): the authorize page is under it."""
        return f"{self.base_url}/oauth2"

    # -- the person on discord.com -------------------------------------------------------------------------------
    def approve(self, authorize_url: str, user: dict) -> str:
        """The person `user` ({"id", "username"}) clicks Authorize on the page `authorize_url` opens: check the
        query as Discord does (AssertionError naming what is wrong) and return the code for the redirect."""
        parts = urlsplit(authorize_url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{self.oauth_url}/authorize", authorize_url
        query = {k: v[0] for k, v in parse_qs(parts.query, strict_parsing=True).items()}
        assert query.get("response_type") == "code", query
        assert query.get("client_id") == self.client_id, "unknown client_id"
        assert query.get("redirect_uri") in self.redirect_uris, f"redirect_uri not registered: {query}"
        assert query.get("state"), "no state"
        assert query.get("code_challenge_method") == "S256" and 43 <= len(query.get("code_challenge", "")) <= 128
        assert "identify" in query.get("scope", "").split(), query
        code = secrets.token_urlsafe(20)
        with self._lock:
            self.grants[code] = Grant(dict(user), query["client_id"], query["redirect_uri"], query["code_challenge"],
                                      query["scope"], self.clock.time())
        return code

    # -- the API -----------------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.path == "/api/v10/oauth2/token" and request.method == "POST":
            return self._token(request)
        if request.path == "/api/v10/users/@me" and request.method == "GET":
            return self._me(request)
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    def _client(self, request: Request) -> str | None:
        """The client id when its credentials are right (Basic, or client_id/client_secret in the form)."""
        auth = request.authorization
        given = (auth.username, auth.password) if auth and auth.type == "basic" else (
            request.form.get("client_id"), request.form.get("client_secret"))
        if given[0] == self.client_id and given[1] and secrets.compare_digest(given[1], self.client_secret):
            return given[0]
        return None

    def _token(self, request: Request) -> Response:
        if request.mimetype != "application/x-www-form-urlencoded":   # "JSON content is not permitted"
            return json_response({"error": "invalid_request",
                                  "error_description": "Content-Type must be application/x-www-form-urlencoded"}, 400)
        client = self._client(request)
        if client is None:
            return json_response({"error": "invalid_client"}, 401)
        form = request.form
        if form.get("grant_type") != "authorization_code":
            return json_response({"error": "unsupported_grant_type"}, 400)
        grant = self.grants.get(form.get("code", ""))
        if grant is None or grant.used or grant.client_id != client \
                or self.clock.time() - grant.issued > CODE_SECONDS:
            if grant is not None:
                grant.used = True   # a code presented twice is spent for good (RFC 6749 4.1.2)
            return json_response({"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}, 400)
        grant.used = True
        if form.get("redirect_uri") != grant.redirect_uri:
            return json_response({"error": "invalid_grant", "error_description": 'Invalid "redirect_uri" in '
                                                                                  "request."}, 400)
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or _s256(verifier) != grant.challenge:
            return json_response({"error": "invalid_grant", "error_description": "Invalid code_verifier"}, 400)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = (grant.user, self.clock.time())
        return json_response({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS,
                              "refresh_token": secrets.token_urlsafe(24), "scope": grant.scope})

    def _me(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        found = self.tokens.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if found is None or self.clock.time() - found[1] > TOKEN_SECONDS:
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        user = found[0]
        return json_response({"id": str(user["id"]), "username": user.get("username", "someone"),
                              "discriminator": "0", "global_name": user.get("global_name"), "avatar": None,
                              "public_flags": 0, "flags": 0, "mfa_enabled": False})

    def fault_response(self, fault: Fault) -> Response:
        return json_response({"message": f"{fault.status}: Service Unavailable", "code": 0}, fault.status)

    def token_requests(self) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["path"].endswith("/oauth2/token")]

    def authorize_page(self, user: dict):
        """Discord's authorize page as a WSGI app, for a browser test to serve on a site of its own: the person
        (`user`) has approved, and the page holds the link back to the console with the code and the state."""
        def app(environ, start_response):
            asked = Request(environ)
            if asked.path != "/oauth2/authorize":   # the browser's /favicon.ico
                return Response("", 404)(environ, start_response)
            code = self.approve(f"{self.oauth_url}/authorize?{asked.query_string.decode()}", user)
            back = f"{asked.args['redirect_uri']}?code={code}&amp;state={quote(asked.args['state'])}"
            page = f'<!doctype html><title>Discord</title><a id="authorize" href="{back}">Authorize</a>'
            return Response(page, 200, content_type="text/html")(environ, start_response)
        return app
