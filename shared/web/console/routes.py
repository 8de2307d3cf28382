"""The console's HTTP side: which path is which page, sign-in and forms, answers as HTML with a strict CSP.

Every request is authenticated here (the function itself is public): a page without a valid session cookie
redirects to the sign-in form, a form without one is 401, a form without this session's CSRF token is 403, and
a refused form changes nothing. Forms call the API's use cases (shared/web/console/forms.py); a refusal is the
API's status and message, shown on the page the form was on, filled in as it was sent, with the navigation.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, quote

import flask

from shared import log
from shared.config import ConfigError, config
from shared.errors import BadInput, Forbidden, NotFound, Refusal, Unauthorized
from shared.rules.text import storable
from shared.web import http as web
from shared.web.console import discord_auth, forms, pages, session

HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                      "frame-ancestors 'none'; base-uri 'none'",
           "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY"}
CSS = (Path(__file__).resolve().parents[2] / "templates" / "console" / "console.css").read_text()
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
        self.form: dict[str, str] | None = None   # a form's fields, once its CSRF token was found right

    def page(self, template: str, who: session.Session, http_status: int = 200, **context) -> flask.Response:
        """A page of the signed-in console; `refusal` (a refused form's status and message) and `typed` (that
        form's fields, by the form's name) show a refusal on the page the form was on."""
        done = forms.DONE.get(self.request.args.get("done", "")) if http_status == 200 else None
        body = pages.render(template, **{"refusal": None, "typed": {}, **context}, base=self.base,
                            csrf=session.csrf(who), me=who.actor, done=done, people=self.cfg.people,
                            team=self.cfg.team.name, self_declared=who.via != "discord")
        return _answer(body, http_status)

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
        try:
            if method == "POST":
                return self.submit(who, _form(self.request))
            web.allow(method, "GET", "HEAD", "POST")
            return self.view(who)
        except Refusal as e:
            if web.status_of(e) == 503:
                raise
            return self.refused(who, e)

    def view(self, who: session.Session, parts: list[str] | None = None, status: int = 200,
             **extra) -> flask.Response:
        """The page at `parts` (the request's own path by default); `extra` adds to what it shows (a refusal)."""
        template, context = self._page(self.parts if parts is None else parts)
        return self.page(template, who, status, **{**context, **extra})

    def _page(self, parts: list[str]) -> tuple[str, dict]:
        args, now, cfg = self.request.args, self.now, self.cfg
        if not parts:
            return "incidents.html.j2", {**pages.incidents(args, now, cfg), "query": self._query()}
        if len(parts) == 2 and parts[0] == "incidents":
            shown = pages.incident(parts[1], now, cfg)
            return "incident.html.j2", {**shown, **forms.incident_page(shown["incident"], cfg)}
        if len(parts) == 3 and parts[0] == "incidents" and parts[2] == "status-updates":
            return "status_update.html.j2", forms.status_update_page(parts[1], cfg)
        if parts == ["oncall"]:
            return "oncall.html.j2", pages.oncall(now, cfg)
        if parts == ["handoff"]:
            return "handoff.html.j2", pages.handoff(now, cfg)
        if parts == ["metrics"]:
            return "metrics.html.j2", pages.metrics(args, now, cfg)
        if parts == ["silences"]:
            return "silences.html.j2", {**pages.silence_list(now, cfg), **forms.silence_form(args, cfg)}
        if len(parts) == 2 and parts[0] == "postmortems":
            return "postmortem.html.j2", {**pages.postmortem(parts[1], cfg), **forms.postmortem_page(parts[1], cfg)}
        raise NotFound(f"no console page at {self.request.path[:100]}")

    def refused(self, who: session.Session, refusal: Refusal) -> flask.Response:
        """A refusal inside the console's layout: a refused form's on the page it was on, filled in as it was sent
        (else, or for a page that cannot be shown, a page that says only the refusal)."""
        status, message = web.status_of(refusal), refusal.message[:300]
        log.log("WARNING" if status == 401 else "INFO", "refused", path=self.request.path[:200], status=status,
                reason=message)
        shown = {"status": status, "message": message}
        found = forms.origin(self.parts) if self.form is not None else None
        if found:
            try:
                return self.view(who, found[0], status, refusal=shown, typed={found[1]: self.form})
            except Refusal:
                pass
        return self.page("error.html.j2", who, status, status=status, message=message)

    def _query(self) -> str:
        """The list's filters as a query string, for the next page's link."""
        kept = [(k, v) for k, v in self.request.args.items() if k != "cursor" and v]
        return "&".join(f"{quote(k)}={quote(v)}" for k, v in kept)

    def submit(self, who: session.Session, form: dict[str, str]) -> flask.Response:
        session.check_csrf(who, form.get("csrf"))
        parts, now = self.parts, self.now
        body = self.form = {k: v for k, v in form.items() if k != "csrf"}
        if who.via == "discord":   # the person signed in is who acts; a form cannot say otherwise
            body = {**{k: v for k, v in body.items() if k != "by"}, "actor": who.actor}
        if parts == ["logout"]:
            session.revoke(who, now)
            return _answer("", 303, (session.clear_cookie(session.COOKIE, self.base),), f"{self.base}login")
        answer = forms.submit(parts, body, now, self.cfg)
        if isinstance(answer, forms.Page):   # nothing changed: a confirmation to give, a preview
            return self.page(answer.template, who, **answer.context)
        web.deliver(answer.due, self.cfg, now, DELIVERY_WAIT)
        return _answer("", 303, location=f"{self.base}{answer.location}")


def serve(request) -> flask.Response:
    """Answer one console request; a refusal is a small HTML page with the API's status and message."""
    answer = web.guarded(lambda: Console(request, web.now()).route(), request, FIRESTORE_DEADLINE)
    if isinstance(answer, flask.Response):
        return answer
    body, status, headers = answer
    message = json.loads(body).get("error", "error") if body else "error"
    base = request.script_root.rstrip("/") + "/"
    try:
        team = config().team.name
    except ConfigError:   # the page says so without the team's name
        team = ""
    page = pages.render("error.html.j2", base=base, status=status, message=str(message)[:300], team=team, csrf="",
                        done=None, refusal=None)
    response = _answer(page, status)
    for name in ("Allow", "Retry-After"):
        if name in headers:
            response.headers[name] = headers[name]
    return response
