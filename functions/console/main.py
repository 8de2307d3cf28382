"""Cloud Function `console`: the team's web console (public; each request is authenticated by its session cookie).

GET  /console/                     incidents, filtered (status, severity, service, environment, from, to), paged
GET  /console/incidents/<id>       one incident: fields, timeline, notifications; POST .../ack|resolve|severity|note
GET  /console/oncall               this week and the next four; POST /console/oncall/overrides (and .../<id>/delete)
GET  /console/handoff, /console/metrics?from=&to=, /console/silences, /console/postmortems/<id>
GET|POST /console/login            sign in with the API token (a session cookie); POST /console/logout
GET  /console/login/discord        Sign in with Discord (DISCORD_CLIENT_ID and DISCORD_CLIENT_SECRET set: the only
GET  /console/auth/discord         sign-in); Discord sends the browser back to the second (the redirect URI)
"""
import functions_framework

from shared.web import http
from shared.web.console import routes

http.start()


@functions_framework.http
def console(request):
    return routes.serve(request)
