"""Cloud Function `interactions`: Discord's Interactions Endpoint URL (buttons, slash commands, autocomplete).

POST /interactions/   headers X-Signature-Ed25519, X-Signature-Timestamp (Ed25519, DISCORD_PUBLIC_KEY)
A bad or missing signature is 401 before anything is read; PING is answered PONG. An expected refusal (not
in the team file, unknown incident, already resolved) is an ephemeral message, so the person sees why.
"""
import functions_framework

from shared.web import http
from shared.web import interactions as transport

http.start()


@functions_framework.http
def interactions(request):
    return transport.serve(request)
