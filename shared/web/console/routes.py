"""The console's HTTP side: which path is which page, sign-in and forms, answers as HTML with a strict CSP.

Every request is authenticated here (the function itself is public): a page without a valid session cookie
redirects to the sign-in form, a form without one is 401, a form without this session's CSRF token is 403, and
a refused form changes nothing. Forms call the API's use cases; refusals are the API's, shown as a page.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, quote

import flask

from shared import oncall
from shared.config import config
from shared.errors import BadInput, Forbidden, NotFound, Unauthorized
from shared.incidents import actions
from shared.rules.text import storable
from shared.web import http as web
from shared.web.console import discord_auth, pages, session

HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                      "frame-ancestors 'none'; base-uri 'none'",
           "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY"}
CSS = (Path(__file__).resolve().parents[2] / "templates" / "console" / "console.css").read_text()
DONE = {"ack": "Acknowledged.", "resolve": "Resolved.", "severity": "Severity changed.", "note": "Note added.",
        "override": "Override added.", "removed": "Override removed."}
MAX_FIELDS = 20
FIRESTORE_DEADLINE = 3.0  # seconds before a person's page is answered 503 when Firestore cannot be reached
DELIVERY_WAIT = 0.25  # seconds a form's answer waits for the notifications its change causes (they go on after)


def _answer(body: str, status: int = 200, cookies: tuple[str, ...] = (), location: str | None = None,
            content_type: str = "text/html; charset=utf-8") -> flask.Response:
    response = flask.Response(body, status, {**HEADERS, "Content-Type": content_type})
    for cookie in cookies:
        response.headers.add("Set-Cookie", cookie)
    if location:
        response.headers["Location"] = location
    return response


def _form(request) -> dict[str, str]:
    """Return the urlencoded form (first value of each field), or 400 saying what is wrong."""
    if request.mimetype != "application/x-www-form-urlencoded":
        raise BadInput("expected a form (application/x-www-form-urlencoded)")
    try:
        fields = parse_qsl(web.read_body(request).decode(), keep_blank_values=True, strict_parsing=False,
                           max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as e:
        raise BadInput(f"the form cannot be read: {str(e)[:100]}") from None
    form: dict[str, str] = {}
    for key, value in fields:
        form.setdefault(storable(key), storable(value))
    return form


class Console:
    """One request to the console: its base path, its session (if any), and the page it asks for."""

    def __init__(self, request, now):
        self.request, self.now, self.cfg = request, now, config()
        self.base = request.script_root.rstrip("/") + "/"
        self.parts = [p for p in request.path.split("/") if p]

    def page(self, template: str, who: session.Session, status: int = 200, **context) -> flask.Response:
        done = DONE.get(self.request.args.get("done", ""))
        body = pages.render(template, base=self.base, csrf=session.csrf(who), me=who.actor, done=done,
                            people=self.cfg.people, team=self.cfg.team.name, self_declared=who.via != "discord",
                            **context)
        return _answer(body, status)

    def sign_in_form(self, status: int = 200, error: str = "", next_: str = "") -> flask.Response:
        cookie, token = session.login_nonce()
        next_ = discord_auth.destination(next_ or self.request.args.get("next"), self.base)
        body = pages.render("login.html.j2", base=self.base, csrf=token, error=error, people=self.cfg.people,
                            team=self.cfg.team.name, lead=self.cfg.team_lead, discord=discord_auth.enabled(),
                            next=next_ if next_ != self.base else "")
        return _answer(body, status, (session.set_cookie(session.LOGIN_COOKIE, cookie, self.base,
                                                         session.LOGIN_SECONDS),))

    def signed_in(self, actor: str, via: str, next_: str | None = None) -> flask.Response:
        return _answer("", 303, (session.set_cookie(session.COOKIE, session.start(actor, via), self.base,
                                                    session.SESSION_SECONDS),
                                 session.clear_cookie(session.LOGIN_COOKIE, self.base)),
                       discord_auth.destination(next_, self.base))

    def login(self) -> flask.Response:
        method = self.request.method
        web.allow(method, "GET", "HEAD", "POST")
        if method != "POST":
            code = self.request.args.get("code")
            if code and discord_auth.enabled():
                raise Forbidden("sign-in links are off: this console signs people in with Discord")
            return self.signed_in(session.redeem(code, self.now), "local") if code else self.sign_in_form()
        if discord_auth.enabled():
            raise Forbidden("the API token no longer signs in here: this console signs people in with Discord")
        form = _form(self.request)
        session.check_login_csrf(self.request.cookies.get(session.LOGIN_COOKIE), form.get("csrf"))
        try:
            session.check_token(form.get("token", ""), web.client_address(self.request), self.now)
        except Unauthorized:
            return self.sign_in_form(401, "That is not the API token.", form.get("next", ""))
        except session.TooManySignIns as e:
            raise web.HTTPError(429, f"Too many wrong tokens from your address; try again in {e.retry_after} s.",
                                {"Retry-After": str(e.retry_after)}) from None
        return self.signed_in(self.cfg.person_id(form.get("actor")), "token", form.get("next"))

    def with_discord(self) -> flask.Response:
        """GET login/discord: off to Discord; GET auth/discord: back from it, signed in (or a page saying why not)."""
        web.allow(self.request.method, "GET", "HEAD")
        if not discord_auth.enabled():
            raise NotFound("Sign in with Discord is not set up here; sign in with the API token")
        try:
            if self.parts == ["login", "discord"]:
                location, cookie = discord_auth.begin(self.base, self.request.args.get("next"))
                return _answer("", 303, (cookie,), location)
            person, next_ = discord_auth.finish(self.request.args, self.request.cookies.get(discord_auth.COOKIE),
                                                self.base, self.now, self.cfg)
        except discord_auth.SignInFailed as e:
            body = pages.render("signin_failed.html.j2", base=self.base, status=e.status, message=e.message)
            return _answer(body, e.status, (discord_auth.clear(self.base),))
        # a page, not a redirect: the session cookie is SameSite=Strict, and a browser sends it on no step of a
        # redirect chain that discord.com started; the page's own refresh is a navigation of this site
        body = pages.render("signed_in.html.j2", base=self.base, person=self.cfg.person(person).name,
                            next=next_)
        return _answer(body, 200, (discord_auth.session_cookie(person, self.base), discord_auth.clear(self.base),
                                   session.clear_cookie(session.LOGIN_COOKIE, self.base)))

    def route(self) -> flask.Response:
        parts, method = self.parts, self.request.method
        if parts == ["console.css"]:
            return _answer(CSS, content_type="text/css; charset=utf-8")
        if parts == ["login"]:
            return self.login()
        if parts in (["login", "discord"], ["auth", "discord"]):
            return self.with_discord()
        try:
            who = session.read(self.request.cookies.get(session.COOKIE))
            if discord_auth.enabled() and who.via != "discord":   # a session from before Discord was set up
                raise Unauthorized("this console now signs people in with Discord; sign in again")
        except Unauthorized:
            if method in ("GET", "HEAD"):
                query = self.request.query_string.decode("latin-1")
                here = quote(self.request.script_root + self.request.path) + (f"?{query}" if query else "")
                wanted = discord_auth.destination(here, self.base)
                return _answer("", 303, location=f"{self.base}login" + (f"?next={quote(wanted, safe='/')}"
                                                                          if wanted != self.base else ""))
            raise
        if method == "POST":
            return self.submit(who, _form(self.request))
        web.allow(method, "GET", "HEAD", "POST")
        return self.view(who)

    def view(self, who: session.Session) -> flask.Response:
        parts, args, now, cfg = self.parts, self.request.args, self.now, self.cfg
        if not parts:
            return self.page("incidents.html.j2", who, **pages.incidents(args, now, cfg), query=self._query())
        if len(parts) == 2 and parts[0] == "incidents":
            return self.page("incident.html.j2", who, **pages.incident(parts[1], now, cfg))
        if parts == ["oncall"]:
            return self.page("oncall.html.j2", who, **pages.oncall(now, cfg))
        if parts == ["handoff"]:
            return self.page("handoff.html.j2", who, **pages.handoff(now, cfg))
        if parts == ["metrics"]:
            return self.page("metrics.html.j2", who, **pages.metrics(args, now, cfg))
        if parts == ["silences"]:
            return self.page("silences.html.j2", who, **pages.silence_list(now, cfg))
        if len(parts) == 2 and parts[0] == "postmortems":
            return self.page("postmortem.html.j2", who, **pages.postmortem(parts[1], cfg))
        raise NotFound(f"no console page at {self.request.path[:100]}")

    def _query(self) -> str:
        """The list's filters as a query string, for the next page's link."""
        kept = [(k, v) for k, v in self.request.args.items() if k != "cursor" and v]
        return "&".join(f"{quote(k)}={quote(v)}" for k, v in kept)

    def submit(self, who: session.Session, form: dict[str, str]) -> flask.Response:
        session.check_csrf(who, form.get("csrf"))
        parts, now = self.parts, self.now
        body = {k: v for k, v in form.items() if k != "csrf"}
        if who.via == "discord":   # the person signed in is who acts; a form cannot say otherwise
            body = {**{k: v for k, v in body.items() if k != "by"}, "actor": who.actor}
        if parts == ["logout"]:
            session.revoke(who, now)
            return _answer("", 303, (session.clear_cookie(session.COOKIE, self.base),), f"{self.base}login")
        if len(parts) == 3 and parts[0] == "incidents" and parts[2] in pages.ACTIONS:
            iid = actions.get(parts[1]).id
            web.deliver(actions.act(iid, parts[2], body, now, self.cfg), self.cfg, now, DELIVERY_WAIT)
            return _answer("", 303, location=f"{self.base}incidents/{iid}?done={parts[2]}")
        if parts == ["oncall", "overrides"]:
            oncall.add_override({k: v for k, v in body.items() if v}, now, self.cfg)
            return _answer("", 303, location=f"{self.base}oncall?done=override")
        if len(parts) == 4 and parts[:2] == ["oncall", "overrides"] and parts[3] == "delete":
            oncall.remove_override(parts[2])
            return _answer("", 303, location=f"{self.base}oncall?done=removed")
        raise NotFound(f"no console form at {self.request.path[:100]}")


def serve(request) -> flask.Response:
    """Answer one console request; a refusal is a small HTML page with the API's status and message."""
    answer = web.guarded(lambda: Console(request, web.now()).route(), request, FIRESTORE_DEADLINE)
    if isinstance(answer, flask.Response):
        return answer
    body, status, headers = answer
    message = json.loads(body).get("error", "error") if body else "error"
    base = request.script_root.rstrip("/") + "/"
    page = pages.render("error.html.j2", base=base, status=status, message=str(message)[:300])
    response = _answer(page, status)
    for name in ("Allow", "Retry-After"):
        if name in headers:
            response.headers[name] = headers[name]
    return response
